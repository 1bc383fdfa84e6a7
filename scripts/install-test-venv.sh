#!/usr/bin/env bash
# Creates the virtual environment the Python tests run in (tests/python, through CTest) and
# installs pytest into it from PyPI. The venv is $AMLEMU_TEST_VENV, default build/test-venv; CMake
# looks for it there (the cache variable AMLEMU_TEST_VENV). Its interpreter is python3 from PATH
# (or $AMLEMU_TEST_PYTHON); nothing is installed into that interpreter itself. Quick and silent
# when pytest is already there. Called by scripts/install-deps.sh --tests.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${AMLEMU_TEST_VENV:-build/test-venv}"
base="${AMLEMU_TEST_PYTHON:-python3}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import pytest" 2>/dev/null; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the test virtual environment $venv"
  mkdir -p "$(dirname "$venv")"
  "$base" -m venv "$venv"
fi
echo "Installing pytest into $venv"
"$venv/bin/python" -m pip install -q "pytest>=7"
