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

With --float64, PyTorch also trains in float64 from the same weights, and
each epoch's weights are judged by accuracy instead: Kiln's largest
difference from the float64 weights may be at most twice PyTorch float32's
own (plus --weight-tol). Where float32 rounding is amplified (batch norm's
gradient, near ties in max pooling), the two float32 runs can part by more
than either is from the exact result.
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
p.add_argument("--float64", action="store_true", help="judge the weights against a float64 run")
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

weight_diffs, torch32 = [], []


def difference(ours, theirs):
    return max(float(np.abs(np.asarray(ours[k], np.float64) - w).max() / max(1e-6, np.abs(w).max()))
               for k, w in theirs.items())


def compare_weights(epoch, theirs):
    torch32.append({k: np.array(w, np.float64) for k, w in theirs.items()})
    weight_diffs.append(difference(kilnref.load_safetensors(ckpt(epoch))[0], theirs))


def train(on_epoch):
    return torch_models.train(args.name, ckpt(0), args.epochs, on_epoch=on_epoch,
                              opt=args.optimizer, steps_per_epoch=args.steps_per_epoch,
                              schedule=args.schedule)


torch_losses = train(compare_weights)["step_loss"]
if args.float64:
    spec = torch_models.EXAMPLES[args.name]
    data32 = spec["data"]
    spec["data"] = lambda: tuple(a.astype(np.float64) if a.dtype == np.float32 else a
                                 for a in data32())
    torch.set_default_dtype(torch.float64)
    exact = []
    train(lambda epoch, theirs: exact.append({k: np.array(w) for k, w in theirs.items()}))
    for e, w64 in enumerate(exact):
        ours = difference(kilnref.load_safetensors(ckpt(e + 1))[0], w64)
        theirs = difference(torch32[e], w64)
        ok = ours <= 2 * theirs + args.weight_tol
        print(f"epoch {e + 1}: difference from float64: Kiln {ours:.2e}, PyTorch float32 "
              f"{theirs:.2e}: {'within' if ok else 'ABOVE'} twice PyTorch's + {args.weight_tol:g}")
        weight_diffs[e] = 0.0 if ok else float("inf")
assert len(kiln_losses) == len(torch_losses), (len(kiln_losses), len(torch_losses))
loss_diff = max(abs(k - t) / abs(t) for k, t in zip(kiln_losses, torch_losses))
verdict = lambda d, tol: f"within {tol:g}" if d <= tol else f"ABOVE {tol:g}"
print(f"steps {len(torch_losses)}: max relative loss difference {loss_diff:.2e} "
      f"{verdict(loss_diff, args.loss_tol)}")
if not args.float64:
    for e, d in enumerate(weight_diffs, 1):
        print(f"epoch {e}: max relative weight difference {d:.2e} {verdict(d, args.weight_tol)}")
sys.exit(0 if loss_diff <= args.loss_tol and max(weight_diffs) <= args.weight_tol else 1)
