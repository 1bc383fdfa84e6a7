#!/usr/bin/env bash
# Configures (once) and builds amlemu in ./build. Extra arguments are build targets.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMLEMU_WERROR=ON >/dev/null
fi
cmake --build build --parallel "$(nproc)" ${1:+--target "$@"}
