"""Step-by-step PyTorch parity of a compiled training loop.

step_parity.py EXE NAME WORKDIR EPOCHS LOSS_TOL WEIGHT_TOL [OPTIMIZER]: Kiln saves its
initial weights (`train --epochs 0`), then trains one epoch at a time (each
resuming the last, which is bitwise the same as an uninterrupted run), logging
the loss of every step and saving the weights after every epoch. PyTorch
(bench/torch_models.py) starts from the same weights and replays the same
batches, with the example's optimizer or OPTIMIZER (JSON: Kiln's name and
settings, as compiled into EXE). Prints the largest relative difference of the step losses, and for
every epoch the largest weight difference relative to the weights' scale;
exits 1 if either exceeds its tolerance.
"""
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

exe, name, work, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
loss_tol, weight_tol = float(sys.argv[5]), float(sys.argv[6])
opt = json.loads(sys.argv[7]) if len(sys.argv) > 7 else None
torch.set_num_threads(1)


def run(*args):
    subprocess.run([exe, "train", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


metrics = os.path.join(work, "steps.jsonl")
if os.path.exists(metrics):
    os.remove(metrics)  # --metrics appends
ckpt = lambda e: os.path.join(work, f"epoch{e}.st")
run("--epochs", "0", "--checkpoint", ckpt(0))
for e in range(1, epochs + 1):
    run("--epochs", "1", "--resume", ckpt(e - 1), "--checkpoint", ckpt(e), "--metrics", metrics,
        "--log-every", "1")
kiln_losses = [json.loads(l)["loss"] for l in open(metrics) if '"step"' in l]

weight_diffs = []


def compare_weights(epoch, theirs):
    ours = kilnref.load_safetensors(ckpt(epoch))[0]
    weight_diffs.append(max(float(np.abs(ours[k] - w).max() / max(1e-6, np.abs(w).max()))
                            for k, w in theirs.items()))


torch_losses = torch_models.train(name, ckpt(0), epochs, on_epoch=compare_weights,
                                  opt=opt)["step_loss"]
assert len(kiln_losses) == len(torch_losses), (len(kiln_losses), len(torch_losses))
loss_diff = max(abs(k - t) / abs(t) for k, t in zip(kiln_losses, torch_losses))
verdict = lambda d, tol: f"within {tol:g}" if d <= tol else f"ABOVE {tol:g}"
print(f"steps {len(torch_losses)}: max relative loss difference {loss_diff:.2e} "
      f"{verdict(loss_diff, loss_tol)}")
for e, d in enumerate(weight_diffs, 1):
    print(f"epoch {e}: max relative weight difference {d:.2e} {verdict(d, weight_tol)}")
sys.exit(0 if loss_diff <= loss_tol and max(weight_diffs) <= weight_tol else 1)
