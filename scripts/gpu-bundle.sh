#!/usr/bin/env bash
# Builds what a GPU machine needs to check Kiln's CUDA builds against its CPU
# builds there (that machine has the NVIDIA driver but no MLIR): every
# example compiled for the CPU and for CUDA from a copy whose data paths
# point into the bundle, the data files it reads, and bench/gpu_check.py.
#
#   scripts/gpu-bundle.sh [OUT]     (default: gpu-bundle/, ignored by git)
#   then, on the GPU machine:  cd OUT && ./gpu-device-run.sh  (or python3 gpu_check.py ...)
#
# The builds are for any CPU with AVX2 (KILN_CPU, default x86-64-v3: kilnc
# --cpu), not only for this one: the GPU machine's CPU is another.
# KILN_EXAMPLES=DIR bundles the models in DIR instead of examples/.
# KILN_RECORD_CPU=1 also trains every CPU build its whole training here and
# records the final test metrics (cpu-final.json), for the GPU machine to
# check its builds' against without spending its time on the CPU's.
# KILN_RANDOM_MODELS=N also bundles N random models (OUT/random), which
# gpu-device-run.sh checks too.
# KILN_GPU_EMULATE=1 also compiles the CUDA builds' kernels for this CPU
# (kilnc --gpu-emulate), so that gpu_check.py runs them on any machine with
# KILN_CUDA_DRIVER pointing at the stand-in driver (build/lib/libkiln-fake-cuda.so).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/gpu-bundle}
kilnc=${KILNC:-${BUILD_DIR:-$root/build}/bin/kilnc}
cpu=${KILN_CPU:-x86-64-v3}
rm -rf "$out"
mkdir -p "$out/src" "$out/bin" "$out/data"
for f in "${KILN_EXAMPLES:-$root/examples}"/*.kiln; do
  b=$(basename "$f" .kiln)
  # Every data file -> data/ (relative: the checks run in OUT).
  cp "$f" "$out/src/$b.kiln"
  for path in $(grep -o '"/[^"]*"' "$f" | tr -d '"' | sort -u); do
    cp -n "$path" "$out/data/"
    sed -i "s|\"$path\"|\"data/$(basename "$path")\"|g" "$out/src/$b.kiln"
  done
  "$kilnc" "$out/src/$b.kiln" --cpu="$cpu" -o "$out/bin/$b.cpu"
  "$kilnc" "$out/src/$b.kiln" --cpu="$cpu" --target=cuda ${KILN_GPU_EMULATE:+--gpu-emulate} -o "$out/bin/$b.gpu"
done
cp "$root/bench/gpu_check.py" "$root/scripts/gpu-device-run.sh" "$out/"
mkdir -p "$out/bench"
cp "$root/bench/torch_models.py" "$root/bench/kilnref.py" "$out/bench/"
# KILN_RANDOM_MODELS=N: N models of test/Inputs/random_models.py (seeds
# 1-N) with their made-up data, bundled alike in OUT/random.
if [ -n "${KILN_RANDOM_MODELS:-}" ]; then
  "${TORCH_PYTHON:-/usr/bin/python3}" "$root/test/Inputs/random_models.py" "$kilnc" "$out/random-src" \
    --seeds "1-$KILN_RANDOM_MODELS" --write
  KILN_EXAMPLES="$out/random-src" KILN_RANDOM_MODELS= KILN_RECORD_CPU= "$0" "$out/random" > /dev/null
  rm -rf "$out/random-src"
fi
if [ -n "${KILN_RECORD_CPU:-}" ]; then
  (cd "$out" && "${PYTHON:-python3}" gpu_check.py --record cpu-final.json && rm -rf runs)
fi
du -sh "$out"
