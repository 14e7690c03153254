#!/usr/bin/env bash
# On a GPU machine, inside a bundle made by scripts/gpu-bundle.sh: the
# checks issue 9's acceptance asks for, in one short run. Every part is
# time-boxed and the whole run keeps within BUDGET seconds (default 420), so
# that a hang cannot eat the device's time: a part gets what is left, and
# none starts with under 15 s left.
#   1. every example's CUDA build against its CPU build: 20 steps' losses
#      (resnet_small 4: its training amplifies summation order), the test
#      metric after them, batch-1 predictions;
#   2. every example's whole training (its .kiln file's epochs) on the GPU
#      build: the final test metric against the CPU build's, recorded
#      where the bundle was made (cpu-final.json; skipped without it);
#   3. an epoch of the small examples on both builds and on PyTorch-CUDA:
#      test metrics, training samples/s and batch-1 latency (the GPU
#      column: gpu_check.py's table);
#   3b. with the bundle's random models (KILN_RANDOM_MODELS), each one's
#      CUDA build against its CPU build: 4 steps, test metric, predictions;
#   4. where the device time goes: KILN_CUDA_PROFILE's per-kernel table of
#      a few dozen training steps and an evaluation of PROFILE_EXAMPLES;
#   5. what CUDA graphs give: 200 steps of GRAPH_EXAMPLES with the step as
#      one graph (the default) and launched kernel by kernel
#      (KILN_CUDA_GRAPHS=0), the driver's samples/s each; then one-row
#      prediction latency (`bench --rows 1`) of the weights trained, both
#      ways.
#   cd gpu-bundle && OUT=/some/dir ./gpu-device-run.sh
# The device tool brings back at most 8 files of $OUT, so $OUT gets seven:
# env.txt, status.txt, steps.txt, final.txt, epoch.txt, random.txt as each part ends
# (a JSON line per example), and the rest (JSON summaries, parts 4 and 5's
# files) in more.tar.gz at the end, also left in results/.
# (STEPS_EXAMPLES, EPOCH_EXAMPLES: comma-separated subsets; TORCH_DEVICE:
# cpu to try it without a GPU, with KILN_CUDA_DRIVER and an emulating
# bundle.)
set -u
out=${OUT:-results}
more=results
mkdir -p "$out" "$more" runs
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
start=$SECONDS
budget=${BUDGET:-420}

# part NAME SECONDS COMMAND...: runs COMMAND under the smaller of SECONDS
# and what is left of the budget; notes its exit status (124: timed out).
# The script exits 1 if any part failed or was skipped.
failed=0
part() {
  local name=$1 limit=$2 left=$((budget - (SECONDS - start)))
  shift 2
  ((left < limit)) && limit=$left
  if ((limit < 15)); then
    echo "$name: skipped, budget spent" >> "$out/status.txt"
    failed=1
    return
  fi
  timeout "$limit" "$@"
  local rc=$?
  ((rc)) && failed=1
  echo "$name: exit $rc after $((SECONDS - start)) s" >> "$out/status.txt"
}

{ nvidia-smi; "$py" -c 'import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0))'
} > "$out/env.txt" 2>&1
part steps "${STEPS_TIMEOUT:-150}" "$py" gpu_check.py --steps 20 --steps-for resnet_small=4 \
  ${STEPS_EXAMPLES:+--only "$STEPS_EXAMPLES"} --json "$more/steps.json" > "$out/steps.txt" 2>&1
if [ -f cpu-final.json ]; then
  part final "${FINAL_TIMEOUT:-150}" "$py" gpu_check.py --final cpu-final.json \
    ${FINAL_EXAMPLES:+--only "$FINAL_EXAMPLES"} --json "$more/final.json" > "$out/final.txt" 2>&1
else
  echo "final: skipped, the bundle has no cpu-final.json (KILN_RECORD_CPU=1)" >> "$out/status.txt"
  failed=1
fi
part epoch "${EPOCH_TIMEOUT:-120}" "$py" gpu_check.py --steps 4 --epochs 1 --torch "${TORCH_DEVICE:-cuda}" --latency \
  --only "${EPOCH_EXAMPLES:-fashion_mlp,lenet,digits_mlp,house_prices,softmax_classifier}" \
  --json "$more/epoch.json" > "$out/epoch.txt" 2>&1
if [ -d random ]; then
  part random "${RANDOM_TIMEOUT:-45}" bash -c "cd random && $py gpu_check.py --steps 4 --json ../$more/random.json" \
    > "$out/random.txt" 2>&1
fi
for name in $(echo "${PROFILE_EXAMPLES:-fashion_mlp,resnet_small,lstm_rows}" | tr , ' '); do
  KILN_CUDA_PROFILE="$more/profile-$name.txt" part "profile $name" "${PROFILE_TIMEOUT:-20}" \
    "bin/$name.gpu" train --epochs 1 --steps-per-epoch 40 --checkpoint "runs/$name.profile.safetensors" \
    > /dev/null 2>&1
done
for name in $(echo "${GRAPH_EXAMPLES:-fashion_mlp,lstm_rows,resnet_small}" | tr , ' '); do
  for graphs in 1 0; do
    KILN_CUDA_GRAPHS=$graphs part "graphs=$graphs $name" "${PROFILE_TIMEOUT:-20}" "bin/$name.gpu" train \
      --epochs 1 --steps-per-epoch 200 --checkpoint "runs/$name.graphs$graphs.safetensors" \
      > "$more/graphs-$name-$graphs.txt" 2>&1
  done
  for graphs in 1 0; do
    KILN_CUDA_GRAPHS=$graphs part "latency graphs=$graphs $name" "${PROFILE_TIMEOUT:-20}" "bin/$name.gpu" \
      bench --rows 1 --seconds 2 --checkpoint "runs/$name.graphs1.safetensors" \
      > "$more/latency-$name-$graphs.txt" 2>&1
  done
done
tar czf "$out/more.tar.gz" "$more"
cat "$out/status.txt"
tail -n 12 "$out/steps.txt" "$out"/final.txt "$out/epoch.txt" "$out"/random.txt
head -n 12 "$more"/profile-*.txt
grep -H "^epoch 1:" "$more"/graphs-*.txt
grep -H median_us "$more"/latency-*.txt
exit $failed
