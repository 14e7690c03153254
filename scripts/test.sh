#!/usr/bin/env bash
# Installs, builds and runs every test, printing how long each stage took.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
stage() {
  local name=$1; shift
  local t0=$SECONDS
  "$@"
  echo "== stage '$name' took $((SECONDS - t0)) s"
}
stage install "$root/scripts/install-deps.sh"
stage build "$root/scripts/build.sh"
log=$(mktemp)
set +e
stage tests python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv --time-tests "$build/test" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
count() { awk -v k="$1" '$0 ~ "^ *"k" *:" {n += $(NF-1)} END {print n+0}' FS='[: (]+' "$log"; }
passed=$(count Passed)
failed=$(( $(count Failed) + $(count Unresolved) + $(count "Timed Out") ))
skipped=$(count Unsupported)
rm -f "$log"
echo "lit: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
