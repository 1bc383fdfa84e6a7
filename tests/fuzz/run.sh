#!/usr/bin/env bash
# Builds the libFuzzer targets with Clang (ASan + UBSan) into ./build-fuzz and fuzzes each for a
# fixed time, starting from its corpus. A crash stops with the failing input saved under
# build-fuzz/findings/<target>/; keep it as a regression test by copying it into
# tests/fuzz/corpus/<target>/ once fixed.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
targets=(spec_json job_yaml topology)

if ! command -v clang++ >/dev/null; then
  echo "tests/fuzz/run.sh needs clang++ with libFuzzer (scripts/install-deps.sh --tests installs them)" >&2
  exit 1
fi

if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAMLEMU_BUILD_TESTS=OFF -DAMLEMU_FUZZ=ON >/dev/null
fi
cmake --build build-fuzz --parallel "$(nproc)" --target "${targets[@]/#/fuzz_}"

status=0
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"       # grows as the fuzzer learns; the seeds stay as they are
  findings="build-fuzz/findings/$t"
  mkdir -p "$work" "$findings"
  echo "fuzzing $t for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "build-fuzz/bin/fuzz_$t" "$work" "tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$findings/" -print_final_stats=1 >"build-fuzz/fuzz_$t.log" 2>&1; then
    echo "fuzz_$t found a failing input:"
    tail -40 "build-fuzz/fuzz_$t.log"
    ls -l "$findings"
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "build-fuzz/fuzz_$t.log" | tail -2
  fi
done
exit "$status"
