#!/usr/bin/env bash
# Installs, builds and runs every test, printing how long each stage took.
# Exits non-zero when any stage or any test fails. Arguments, if any, name the
# lit test paths to run instead of the whole suite.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
# Runs one stage, prints its time and returns its exit status.
stage() {
  local name=$1 t0=$SECONDS rc=0
  shift
  "$@" || rc=$?
  echo "== stage '$name' took $((SECONDS - t0)) s, exit status $rc"
  return "$rc"
}
stage install "$root/scripts/install-deps.sh" || exit 1
stage build "$root/scripts/build.sh" || exit 1
if [ $# -eq 0 ]; then
  set -- "$build/test"
fi
stage tests "$root/scripts/lit.sh" "$@"
