#!/usr/bin/env bash
# venv_python.sh VENV SCRIPT [ARGUMENTS]: runs a Python test script with the interpreter of the
# test virtual environment VENV (scripts/install-test-venv.sh), for CTest. Without the venv it
# prints "AMLEMU-TEST-SKIPPED: ..." (the test's SKIP_REGULAR_EXPRESSION reports it skipped), or
# fails when CI=true (CI makes the venv). The script checks its own imports the same way.
set -uo pipefail
venv="$1"
shift
if [ ! -x "$venv/bin/python" ]; then
  if [ "${CI:-}" = true ]; then
    echo "error: no virtual environment at $venv (CI=true: scripts/install-deps.sh --tests makes it)"
    exit 1
  fi
  echo "AMLEMU-TEST-SKIPPED: no virtual environment at $venv; scripts/install-test-venv.sh makes it"
  exit 0
fi
PYTHONDONTWRITEBYTECODE=1 exec "$venv/bin/python" "$@"
