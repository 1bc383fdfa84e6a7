#!/usr/bin/env bash
# Installs what amlemu needs to build, test and run the walkthrough on Debian 12: compilers,
# CMake, the libraries of the design (SQLite, Boost, nlohmann_json, fmt, CLI11, Catch2), Open MPI,
# uv (which builds job environments),
# the Fashion-MNIST data set, and numpy and TensorFlow (CPU) for the sample jobs. With --tests,
# also what the test suite needs beyond that: mpi4py, Clang with libFuzzer for the fuzz targets,
# and the virtual environment build/test-venv with pytest and the real Azure SDKs that the Python
# and service tests run (scripts/install-test-venv.sh). Quick and silent when all is present.
set -euo pipefail

with_tests=0
[ "${1:-}" = "--tests" ] && with_tests=1

packages=(g++ cmake ninja-build pkg-config sqlite3 libsqlite3-dev libboost-dev
          libboost-filesystem-dev libssl-dev nlohmann-json3-dev libfmt-dev libcli11-dev catch2
          libyaml-cpp-dev openmpi-bin libopenmpi-dev dataset-fashion-mnist python3 python3-pip python3-venv)
if [ "$with_tests" = 1 ]; then packages+=(clang libclang-rt-14-dev); fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# uv, which builds the jobs' environments (amlemu finds it on PATH, or at $AMLEMU_UV): from
# PyPI, in a virtual environment of its own, linked into /usr/local/bin.
uv_version=0.13.9
if ! command -v uv >/dev/null 2>&1; then
  echo "Installing uv $uv_version"
  "${sudo_cmd[@]}" /usr/bin/python3 -m venv /usr/local/lib/amlemu-uv
  "${sudo_cmd[@]}" /usr/local/lib/amlemu-uv/bin/pip install -q --disable-pip-version-check "uv==$uv_version"
  "${sudo_cmd[@]}" ln -sf /usr/local/lib/amlemu-uv/bin/uv /usr/local/bin/uv
fi

# Python packages for the interpreter that runs jobs ($AMLEMU_PYTHON, else python3 on PATH):
# Debian's package where the interpreter is Debian's, else pip.
python="${AMLEMU_PYTHON:-$(command -v python3)}"
need() {  # need MODULE DEBIAN_PACKAGE PIP_REQUIREMENT
  "$python" -c "import $1" 2>/dev/null && return 0
  if [ "$python" = /usr/bin/python3 ] && [ -n "$2" ]; then
    echo "Installing $2"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$2" >/dev/null
  else
    echo "Installing $3 for $python"
    "$python" -m pip install -q "$3" 2>/dev/null ||
      "$python" -m pip install -q --break-system-packages "$3"
  fi
}
need numpy python3-numpy numpy
need tensorflow "" tensorflow-cpu   # the walkthrough's model is TensorFlow
if [ "$with_tests" = 1 ]; then
  need mpi4py python3-mpi4py mpi4py
  "$(dirname "$0")/install-test-venv.sh"   # pytest and the Azure SDKs, in a venv of their own
fi
