#!/usr/bin/env bash
# run_pytest.sh VENV [PYTEST ARGUMENTS]: runs pytest from the virtual environment VENV from
# tests/python (test files of other folders, such as tests/service, by absolute path), for CTest.
# Without the venv or pytest in it, prints "AMLEMU-TEST-SKIPPED: ..." (the test's
# SKIP_REGULAR_EXPRESSION reports it skipped), or fails when CI=true (CI installs pytest).
# pytest's "no tests collected" (exit code 5) is a failure.
set -uo pipefail
venv="$1"
shift
python="$venv/bin/python"

missing=""
if [ ! -x "$python" ]; then
  missing="no virtual environment at $venv"
elif ! "$python" -c "import pytest" 2>/dev/null; then
  missing="no pytest in $venv"
fi
if [ -n "$missing" ]; then
  if [ "${CI:-}" = true ]; then
    echo "error: $missing (CI=true: scripts/install-deps.sh --tests must have installed it)"
    exit 1
  fi
  echo "AMLEMU-TEST-SKIPPED: $missing; scripts/install-test-venv.sh makes it"
  exit 0
fi

cd "$(dirname "$0")" || exit 1
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
"$python" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests from: $*"
  exit 1
fi
exit "$rc"
