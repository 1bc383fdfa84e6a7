#!/usr/bin/env bash
# Installs what amlemu needs to build, test and run the walkthrough on Debian 12: compilers,
# CMake, the libraries of the design (SQLite, Boost, nlohmann_json, fmt, CLI11, Catch2), the
# Fashion-MNIST data set and numpy for the sample job. Quick and silent when all is present.
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config sqlite3 libsqlite3-dev libboost-dev
          libboost-filesystem-dev nlohmann-json3-dev libfmt-dev libcli11-dev catch2
          dataset-fashion-mnist python3)

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

# numpy for the interpreter that runs jobs ($AMLEMU_PYTHON, else python3 on PATH).
python="${AMLEMU_PYTHON:-$(command -v python3)}"
if ! "$python" -c "import numpy" 2>/dev/null; then
  if [ "$python" = /usr/bin/python3 ]; then
    echo "Installing python3-numpy"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-numpy >/dev/null
  else
    echo "Installing numpy for $python"
    "$python" -m pip install -q numpy 2>/dev/null ||
      "$python" -m pip install -q --break-system-packages numpy
  fi
fi
