#!/usr/bin/env bash
# On a GPU machine, inside a bundle made by scripts/gpu-bundle.sh: the
# checks issue 9's acceptance asks for, in one short run, each part time-
# boxed so that a hang cannot eat the device's time. Results (text and
# JSON) go to $OUT (default results/).
#   1. every example's CUDA build against its CPU build: 20 steps' losses
#      (resnet_small 4: its training amplifies summation order), the test
#      metric after them, batch-1 predictions;
#   2. an epoch of the small examples on both builds and on PyTorch-CUDA:
#      test metrics, training samples/s and batch-1 latency (the GPU
#      column: gpu_check.py's table);
#   3. where the device time goes: KILN_CUDA_PROFILE's per-kernel table of
#      a few dozen training steps and an evaluation of PROFILE_EXAMPLES;
#   4. what CUDA graphs give: 200 steps of GRAPH_EXAMPLES with the step as
#      one graph (the default) and launched kernel by kernel
#      (KILN_CUDA_GRAPHS=0), the driver's samples/s each; then one-row
#      prediction latency (`bench --rows 1`) of the weights trained, both
#      ways.
#   cd gpu-bundle && OUT=/some/dir ./gpu-device-run.sh
# (STEPS_EXAMPLES, EPOCH_EXAMPLES: comma-separated subsets; TORCH_DEVICE:
# cpu to try it without a GPU, with KILN_CUDA_DRIVER and an emulating
# bundle.)
set -u
out=${OUT:-results}
mkdir -p "$out"
py=${PYTHON:-python3}
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
"$py" -c 'import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0))' \
  > "$out/torch.txt" 2>&1
timeout "${STEPS_TIMEOUT:-240}" "$py" gpu_check.py --steps 20 --steps-for resnet_small=4 \
  ${STEPS_EXAMPLES:+--only "$STEPS_EXAMPLES"} --json "$out/steps.json" > "$out/steps.txt" 2>&1
echo "steps: exit $?" >> "$out/status.txt"
timeout "${EPOCH_TIMEOUT:-240}" "$py" gpu_check.py --steps 4 --epochs 1 --torch "${TORCH_DEVICE:-cuda}" --latency \
  --only "${EPOCH_EXAMPLES:-fashion_mlp,lenet,digits_mlp,house_prices,softmax_classifier}" \
  --json "$out/epoch.json" > "$out/epoch.txt" 2>&1
echo "epoch: exit $?" >> "$out/status.txt"
mkdir -p runs
for name in $(echo "${PROFILE_EXAMPLES:-fashion_mlp,resnet_small,lstm_rows}" | tr , ' '); do
  KILN_CUDA_PROFILE="$out/profile-$name.txt" timeout "${PROFILE_TIMEOUT:-30}" "bin/$name.gpu" train \
    --epochs 1 --steps-per-epoch 40 --checkpoint "runs/$name.profile.safetensors" > /dev/null 2>&1
  echo "profile $name: exit $?" >> "$out/status.txt"
done
for name in $(echo "${GRAPH_EXAMPLES:-fashion_mlp,lstm_rows,resnet_small}" | tr , ' '); do
  for graphs in 1 0; do
    KILN_CUDA_GRAPHS=$graphs timeout "${PROFILE_TIMEOUT:-30}" "bin/$name.gpu" train --epochs 1 \
      --steps-per-epoch 200 --checkpoint "runs/$name.graphs$graphs.safetensors" \
      > "$out/graphs-$name-$graphs.txt" 2>&1
    echo "graphs=$graphs $name: exit $?" >> "$out/status.txt"
  done
  for graphs in 1 0; do
    KILN_CUDA_GRAPHS=$graphs timeout "${PROFILE_TIMEOUT:-30}" "bin/$name.gpu" bench --rows 1 --seconds 2 \
      --checkpoint "runs/$name.graphs1.safetensors" > "$out/latency-$name-$graphs.txt" 2>&1
    echo "latency graphs=$graphs $name: exit $?" >> "$out/status.txt"
  done
done
cat "$out/status.txt"
tail -n 12 "$out/steps.txt" "$out/epoch.txt"
head -n 12 "$out"/profile-*.txt
tail -n 1 "$out"/graphs-*.txt "$out"/latency-*.txt
