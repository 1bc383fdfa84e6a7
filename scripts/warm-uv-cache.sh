#!/usr/bin/env bash
# Fills uv's cache for the test suite, which builds its jobs' environments offline: each line of
# tests/environments/warm.txt ("<python minor> <requirement>...") is installed once into a
# throwaway virtual environment of an interpreter of that version (pyenv's, or python3.N on
# PATH), so that its wheels are in the cache. A version with no interpreter is left out (the tests
# that need it skip). The cache is $AMLEMU_UV_CACHE, default build/uv-cache. Quick when warm.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${AMLEMU_UV_CACHE:-build/uv-cache}"
uv="${AMLEMU_UV:-$(command -v uv || true)}"
if [ -z "$uv" ]; then
  echo "warm-uv-cache: uv not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
find_python() {  # find_python 3.12
  local p
  for p in $(ls -d "$pyenv_root"/versions/"$1".* 2>/dev/null | sort -V -r); do
    [ -x "$p/bin/python$1" ] && { echo "$p/bin/python$1"; return; }
  done
  IFS=: read -ra dirs <<<"$PATH"
  for p in "${dirs[@]}"; do
    case "$p" in */shims) continue ;; esac
    [ -x "$p/python$1" ] && { echo "$p/python$1"; return; }
  done
}
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
n=0
while read -r version requirements; do
  case "$version" in ''|'#'*) continue ;; esac
  n=$((n + 1))  # one scratch environment per line (a version may have several lines)
  python="$(find_python "$version")"
  if [ -z "$python" ]; then
    echo "warm-uv-cache: no Python $version here; its test environments are left out"
    continue
  fi
  # Already cached: an offline resolution succeeds without the network.
  UV_CACHE_DIR="$cache" "$uv" venv -q --python "$python" "$scratch/$n"
  # shellcheck disable=SC2086
  if UV_CACHE_DIR="$cache" UV_OFFLINE=1 "$uv" pip install -q --python "$scratch/$n/bin/python" $requirements 2>/dev/null; then
    continue
  fi
  echo "Caching Python $version packages for the tests: $requirements"
  # shellcheck disable=SC2086
  UV_CACHE_DIR="$cache" "$uv" pip install -q --python "$scratch/$n/bin/python" $requirements
done < tests/environments/warm.txt
