#!/usr/bin/env bash
# Runs lit over the given test paths, prints "lit: N passed, N failed, N skipped"
# and exits non-zero if any test failed, timed out or was unresolved, or if no
# test ran at all. test.sh (and so CI) relies on this exit status.
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: $0 TEST_PATH..." >&2; exit 2; }
# Debian's python3, whatever else is first on PATH: lit's per-test timeout
# needs its python3-psutil.
python=/usr/bin/python3
lit=/usr/lib/llvm-19/build/utils/lit/lit.py
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$python" "$lit" -sv --time-tests "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
count() { awk -v k="$1" '$0 ~ "^ *"k" *:" {n += $(NF-1)} END {print n+0}' FS='[: (]+' "$log"; }
passed=$(count Passed)
failed=$(( $(count Failed) + $(count Unresolved) + $(count "Timed Out") ))
skipped=$(count Unsupported)
echo "lit: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
  [ "$passed" -gt 0 ] || echo "lit: no test passed"
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
