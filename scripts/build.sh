#!/usr/bin/env bash
# Configures and builds Kiln into ${BUILD_DIR:-build}; KILN_CMAKE_ARGS adds
# configuration options (e.g. -DKILN_SANITIZE=ON) to a new build directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-19/build/utils/lit/lit.py ${KILN_CMAKE_ARGS:-}
fi
ninja -C "$build"
