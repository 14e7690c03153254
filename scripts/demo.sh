#!/usr/bin/env bash
# The main job: install, build, compile the Fashion-MNIST MLP and train it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
mkdir -p "$build/demo" && cd "$build/demo"
"$build/bin/kilnc" "$root/examples/fashion_mlp.kiln" -o fashion_mlp
./fashion_mlp train --epochs "${EPOCHS:-1}" --metrics metrics.jsonl
./fashion_mlp eval --checkpoint fashion_mlp.safetensors
