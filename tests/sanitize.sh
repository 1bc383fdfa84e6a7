#!/usr/bin/env bash
# The whole test suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer in
# ./build-asan. Reports from every instrumented process (the detached supervisors and the CLI
# the tests start included) go to build-asan/sanitizer-logs/; any report fails the script, as
# does any failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
if [ ! -f build-asan/CMakeCache.txt ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAMLEMU_SANITIZE=ON \
    -DAMLEMU_WERROR=ON >/dev/null
fi
cmake --build build-asan --parallel "$(nproc)"
logs="$PWD/build-asan/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
# Tests that train real models (TensorFlow, MLflow autolog) report a skip here: their time is
# Python's, and the C++ they run is what lighter tests run under the sanitizers too. They run in
# tests/run.sh, the suite CI runs first.
export AMLEMU_SANITIZER_SUITE=1
status=0
(cd build-asan && ctest --output-on-failure --parallel "$(nproc)" --timeout 900) || status=1
if compgen -G "$logs/*" >/dev/null; then
  echo "sanitizer reports:"
  cat "$logs"/*
  status=1
fi
exit "$status"
