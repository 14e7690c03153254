#!/usr/bin/env bash
# Builds the embedding example: kilnc generates the library and header, then
# any C++ compiler builds the application against them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kilnc=${KILNC:-$here/../../build/bin/kilnc}
out=${1:-$here/out}
mkdir -p "$out"
"$kilnc" "$here/../logistic_regression.kiln" --emit=lib -o "$out/liblogistic_regression.a"
"$kilnc" "$here/../logistic_regression.kiln" --emit=header -o "$out/logistic_regression.h"
${CXX:-c++} -std=c++17 -O2 -I"$out" "$here/main.cpp" "$out/liblogistic_regression.a" -lz -lm -lpthread -o "$out/embed"
echo "built $out/embed"
