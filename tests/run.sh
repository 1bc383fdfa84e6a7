#!/usr/bin/env bash
# Installs what is missing, builds amlemu and its tests, and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
scripts/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 600
