"""Step-by-step PyTorch parity of a compiled training loop.

step_parity.py EXE NAME WORKDIR [--epochs N] [--steps-per-epoch N]
               [--loss-tol X] [--weight-tol X] [--optimizer JSON] [--schedule JSON]

Kiln saves its initial weights (`train --epochs 0`), then trains one epoch at
a time (each resuming the last, which is bitwise the same as an
uninterrupted run), logging the loss of every step and saving the weights
after every epoch. PyTorch (bench/torch_models.py) starts from the same
weights and replays the same batches, with the example's optimizer or
--optimizer (Kiln's name and settings, as compiled into EXE). Prints the
largest relative difference of the step losses, and for every epoch the
largest weight difference relative to the weights' scale; exits 1 if either
exceeds its tolerance.
"""
import argparse
import json
import os
import subprocess
import sys

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before torch loads OpenBLAS
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import kilnref  # noqa: E402
import torch_models  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("exe")
p.add_argument("name")
p.add_argument("work")
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--steps-per-epoch", type=int)
p.add_argument("--loss-tol", type=float, default=1e-5)
p.add_argument("--weight-tol", type=float, default=1e-5)
p.add_argument("--optimizer", type=json.loads)
p.add_argument("--schedule", type=json.loads, help="the learning-rate schedule compiled into EXE")
args = p.parse_args()
torch.set_num_threads(1)
limit = ["--steps-per-epoch", str(args.steps_per_epoch)] if args.steps_per_epoch else []


def run(*flags):
    subprocess.run([args.exe, "train", *flags], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


metrics = os.path.join(args.work, "steps.jsonl")
if os.path.exists(metrics):
    os.remove(metrics)  # --metrics appends
ckpt = lambda e: os.path.join(args.work, f"epoch{e}.st")
run("--epochs", "0", "--checkpoint", ckpt(0))
for e in range(1, args.epochs + 1):
    run("--epochs", "1", "--resume", ckpt(e - 1), "--checkpoint", ckpt(e), "--metrics", metrics,
        "--log-every", "1", *limit)
kiln_losses = [json.loads(l)["loss"] for l in open(metrics) if '"step"' in l]

weight_diffs = []


def compare_weights(epoch, theirs):
    ours = kilnref.load_safetensors(ckpt(epoch))[0]
    weight_diffs.append(max(float(np.abs(ours[k] - w).max() / max(1e-6, np.abs(w).max()))
                            for k, w in theirs.items()))


torch_losses = torch_models.train(args.name, ckpt(0), args.epochs, on_epoch=compare_weights,
                                  opt=args.optimizer,
                                  steps_per_epoch=args.steps_per_epoch,
                                  schedule=args.schedule)["step_loss"]
assert len(kiln_losses) == len(torch_losses), (len(kiln_losses), len(torch_losses))
loss_diff = max(abs(k - t) / abs(t) for k, t in zip(kiln_losses, torch_losses))
verdict = lambda d, tol: f"within {tol:g}" if d <= tol else f"ABOVE {tol:g}"
print(f"steps {len(torch_losses)}: max relative loss difference {loss_diff:.2e} "
      f"{verdict(loss_diff, args.loss_tol)}")
for e, d in enumerate(weight_diffs, 1):
    print(f"epoch {e}: max relative weight difference {d:.2e} {verdict(d, args.weight_tol)}")
sys.exit(0 if loss_diff <= args.loss_tol and max(weight_diffs) <= args.weight_tol else 1)
