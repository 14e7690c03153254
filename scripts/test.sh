#!/usr/bin/env bash
# Installs, builds and runs every test, printing how long each stage took:
# the suite (fuzz targets included, KILN_FUZZ_SECONDS each, default 60), then
# the whole suite again in a second build with AddressSanitizer and
# UndefinedBehaviorSanitizer (BUILD_DIR-asan; KILN_SANITIZERS=0 skips it).
# Exits non-zero when any stage or any test fails. Arguments, if any, name the
# lit test paths to run instead of the whole suite (then without sanitizers).
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
if [ $# -gt 0 ]; then
  stage tests "$root/scripts/lit.sh" "$@"
  exit
fi
stage tests "$root/scripts/lit.sh" "$build/test" || exit 1
[ "${KILN_SANITIZERS:-1}" != 0 ] || exit 0
stage "sanitizer build" env BUILD_DIR="$build-asan" KILN_CMAKE_ARGS=-DKILN_SANITIZE=ON \
  "$root/scripts/build.sh" || exit 1
stage "tests under sanitizers" "$root/scripts/lit.sh" "$build-asan/test"
