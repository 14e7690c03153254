#!/usr/bin/python3
"""Where a model's GPU step would spend its time, without a GPU: builds the
example's CUDA build with kilnc --gpu-emulate-races (every load and store
reported to the stand-in driver), trains STEPS steps under the stand-in
driver with KILN_FAKE_CUDA_WORK, and prints per kernel of train_step: the
launches, threads per launch, global bytes per launch and the "depth" per
launch, the most loads and stores one thread made. Every thread of a launch
runs at once on a device, so depth is the part of the kernel no number of
cores shortens: a kernel with few threads and a deep path (one thread
walking a long loop) is the one to fix. Sorted by depth x launches.

  gpu-work.py KILNC FAKE_CUDA MODEL.kiln [STEPS] [--all]

--all lists predict's and predict_one's kernels too (the run evaluates the
first 64 test rows and predicts 2 rows one at a time).
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "Inputs"))
from race_check import idx_head  # noqa: E402


def main():
    args = [a for a in sys.argv[1:] if a != "--all"]
    every = "--all" in sys.argv
    kilnc, fake, model = args[:3]
    steps = args[3] if len(args) > 3 else "2"
    work = tempfile.mkdtemp(prefix="kiln-gpu-work-")
    exe = os.path.join(work, "model")
    subprocess.run([kilnc, model, "--target=cuda", "--gpu-emulate-races", "-o", exe], check=True)
    extra = []
    test = re.search(r'test\s*=\s*idx\(\s*images\s*=\s*"([^"]+)"\s*,\s*labels\s*=\s*"([^"]+)"',
                     open(model).read())
    if test:
        images, labels = (os.path.join(work, s) for s in ("img.gz", "lab.gz"))
        idx_head(test.group(1), images, 64)
        idx_head(test.group(2), labels, 64)
        extra = ["--data-test", images, "--data-test-labels", labels]
    table = os.path.join(work, "work.txt")
    env = dict(os.environ, KILN_CUDA_DRIVER=fake, KILN_FAKE_CUDA_WORK=table)
    ckpt = os.path.join(work, "model.safetensors")
    subprocess.run([exe, "train", "--epochs", "1", "--steps-per-epoch", steps, "--checkpoint", ckpt]
                   + extra, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if every:
        subprocess.run([exe, "predict", "--checkpoint", ckpt, "--limit", "2"] + extra, check=True,
                       env=env, stdout=subprocess.DEVNULL)
    if not os.path.exists(table):
        sys.exit("gpu-work.py: the stand-in driver wrote no table (was the model's module "
                 "unloaded? is KILN_CUDA_DRIVER the stand-in?)")
    sums = {}  # a kernel's rows from the train and predict runs, added
    for line in open(table):
        f = line.split()
        name, v = f[0], dict(zip(f[1::2], (int(x) for x in f[2::2])))
        if not every and "_train_step_" not in name + "_":
            continue
        total = sums.setdefault(name, dict.fromkeys(v, 0))
        for k in v:
            total[k] += v[k]
    rows = []
    for name, v in sums.items():
        n = v["launches"]
        rows.append((v["depth"], name, n, v["threads"] // n, v["global_bytes"] // n, v["depth"] // n,
                     v["shared_depth"] // n))
    rows.sort(reverse=True)
    print("%-44s %8s %9s %12s %7s %7s" % ("kernel", "launches", "threads", "global B", "depth",
                                           "shared"))
    for _, name, n, threads, gbytes, depth, shared in rows:
        print("%-44s %8d %9d %12d %7d %7d" % (name, n, threads, gbytes, depth, shared))
    total = sum(r[0] for r in rows)
    launches = sum(r[2] for r in rows)
    print("depth in all: %d over %d launches (%.0f per launch)" % (total, launches,
                                                                   total / max(launches, 1)))


if __name__ == "__main__":
    main()
