"""PyTorch parity of whole training runs (bench/torch_models.py).

parity.py KILNC WORKDIR NAME EPOCHS LOSS_TOL WEIGHT_TOL METRIC_TOL: Kiln trains
the example for EPOCHS; PyTorch trains the same model from Kiln's initial
weights on the same data in the same batch order. Prints the largest relative
difference of the per-epoch mean losses, the largest final weight difference
relative to the weights' scale, and the relative difference of the test
metrics, each against its tolerance; exits 1 if any exceeds it.
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

torch.set_num_threads(1)
kilnc, work, name, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tols = [float(t) for t in sys.argv[5:8]]
exe = os.path.join(work, name)
subprocess.run([kilnc, os.path.join(kilnref.ROOT, "examples", name + ".kiln"), "-o", exe],
               check=True)
init, final = os.path.join(work, name + ".init.st"), os.path.join(work, name + ".st")
metrics = os.path.join(work, name + ".jsonl")
if os.path.exists(metrics):
    os.remove(metrics)  # --metrics appends
subprocess.run([exe, "train", "--epochs", "0", "--checkpoint", init], check=True,
               stdout=subprocess.DEVNULL)
subprocess.run([exe, "train", "--epochs", str(epochs), "--checkpoint", final, "--metrics", metrics],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
lines = [json.loads(l) for l in open(metrics)]
kiln_loss = [l["train_loss"] for l in lines]
kiln_metric = lines[-1].get("test_accuracy", lines[-1].get("test_mse"))
ours = kilnref.load_safetensors(final)[0]
r = torch_models.train(name, init, epochs)
assert len(kiln_loss) == len(r["epoch_loss"]) == epochs, (len(kiln_loss), len(r["epoch_loss"]))
diffs = [max(abs(k - t) / abs(t) for k, t in zip(kiln_loss, r["epoch_loss"])),
         max(float(np.abs(ours[k] - w).max() / max(1e-6, np.abs(w).max()))
             for k, w in r["weights"].items()),
         abs(kiln_metric - r["metric"]) / abs(r["metric"])]
verdict = lambda d, tol: f"{d:.1e} within {tol:g}" if d <= tol else f"{d:.1e} ABOVE {tol:g}"
what = ["per-epoch loss", "final weights", "test metric"]
print(f"{name}, {len(kiln_loss)} epochs: " +
      "; ".join(f"{w} {verdict(d, t)}" for w, d, t in zip(what, diffs, tols)) +
      f" (kiln {kiln_metric:.6f}, torch {r['metric']:.6f})")
sys.exit(0 if all(d <= t for d, t in zip(diffs, tols)) else 1)
