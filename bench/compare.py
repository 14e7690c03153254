#!/usr/bin/python3
"""Trains the three examples with Kiln and with PyTorch side by side.

Prints training samples/s for both and their ratio, and the test metrics. For
the CSV models PyTorch gets exactly Kiln's split, standardisation, initial
weights (zeros) and batch order (the runtime's RNG is reimplemented below), so
their test metrics must agree; linear regression's test MSE is required to be
within 10% of PyTorch's. Run from anywhere:  /usr/bin/python3 bench/compare.py
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SK = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
FM = "/usr/share/datasets/fashion-mnist"
M64 = (1 << 64) - 1


# --- Kiln's runtime RNG (runtime/src/rng.c), bit for bit -------------------
class Rng:
    def __init__(self, seed):
        self.s = []
        x = seed & M64
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result


def kiln_shuffle(n, seed):
    idx = list(range(n))
    r = Rng(seed)
    for i in range(n - 1, 0, -1):
        j = r.next() % (i + 1)
        idx[i], idx[j] = idx[j], idx[i]
    return idx


def kiln_split(x, y, fraction, seed):
    n = len(y)
    nt = int(np.floor(n * fraction + 0.5))
    idx = kiln_shuffle(n, seed ^ 0x5EED5EED)
    tr, te = idx[: n - nt], idx[n - nt:]
    return x[tr], y[tr], x[te], y[te]


def standardize(xtr, xte):
    mean = xtr.astype(np.float64).mean(0)
    sd = xtr.astype(np.float64).std(0)
    sd[sd < 1e-12] = 1
    return ((xtr - mean) / sd).astype(np.float32), ((xte - mean) / sd).astype(np.float32)


# --- Kiln side ----------------------------------------------------------------
def run_kiln(kilnc, model, workdir, epochs):
    exe = os.path.join(workdir, model)
    subprocess.run([kilnc, os.path.join(ROOT, "examples", model + ".kiln"), "-o", exe], check=True)
    metrics = os.path.join(workdir, model + ".jsonl")
    subprocess.run([exe, "train", "--epochs", str(epochs), "--metrics", metrics,
                    "--checkpoint", os.path.join(workdir, model + ".safetensors")],
                   check=True, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = [json.loads(l) for l in open(metrics)]
    rate = np.mean([l["samples_per_sec"] for l in lines])
    metric = lines[-1].get("test_accuracy", lines[-1].get("test_mse"))
    return rate, metric


# --- PyTorch side -------------------------------------------------------------
def torch_train(model, opt, loss_fn, xtr, ytr, batch, epochs, order):
    """Returns training samples/s (training loop only, like Kiln's figure)."""
    steps = len(ytr) // batch
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        idx = order(epoch)
        start = time.perf_counter()
        for s in range(steps):
            b = idx[s * batch:(s + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(xtr[b]), ytr[b])
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - start
    return steps * batch * epochs / seconds


def idx_images(name):
    with gzip.open(os.path.join(FM, name)) as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0


def idx_labels(name):
    with gzip.open(os.path.join(FM, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)


def torch_fashion(epochs):
    xtr = torch.from_numpy(idx_images("train-images-idx3-ubyte.gz"))
    ytr = torch.from_numpy(idx_labels("train-labels-idx1-ubyte.gz"))
    xte = torch.from_numpy(idx_images("t10k-images-idx3-ubyte.gz"))
    yte = torch.from_numpy(idx_labels("t10k-labels-idx1-ubyte.gz"))
    torch.manual_seed(42)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(42)
    rate = torch_train(model, opt, torch.nn.functional.cross_entropy, xtr, ytr, 64, epochs,
                       lambda e: torch.randperm(len(ytr), generator=gen))
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    return rate, acc


def torch_csv(kind, epochs):
    seed, batch = 7, 16
    if kind == "logistic_regression":
        data = np.loadtxt(os.path.join(SK, "breast_cancer.csv"), delimiter=",", skiprows=1)
        x, y = data[:, :-1].astype(np.float32), data[:, -1:].astype(np.float32)
        lr, loss_fn = 0.1, torch.nn.functional.binary_cross_entropy_with_logits
    else:
        x = np.loadtxt(os.path.join(SK, "diabetes_data_raw.csv.gz")).astype(np.float32)
        y = np.loadtxt(os.path.join(SK, "diabetes_target.csv.gz")).astype(np.float32)[:, None]
        lr, loss_fn = 0.05, torch.nn.functional.mse_loss
    xtr, ytr, xte, yte = kiln_split(x, y, 0.2, seed)
    xtr, xte = standardize(xtr, xte)
    xtr, ytr, xte, yte = map(torch.from_numpy, (xtr, ytr, xte, yte))
    model = torch.nn.Linear(x.shape[1], 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rate = torch_train(model, opt, loss_fn, xtr, ytr, batch, epochs,
                       lambda e: torch.tensor(kiln_shuffle(len(ytr), (seed * 1000003 + e) & M64)))
    with torch.no_grad():
        out = model(xte)
        if kind == "logistic_regression":
            metric = ((out > 0).float() == yte).float().mean().item()
        else:
            metric = torch.mean((out - yte) ** 2).item()
    return rate, metric


def blas_in_use():
    try:
        return os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    except OSError:
        return "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kilnc", default=os.path.join(ROOT, "build", "bin", "kilnc"))
    p.add_argument("--threads", type=int, default=1,
                   help="PyTorch threads (Kiln's generated code is single-threaded today)")
    p.add_argument("--fashion-epochs", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    blas = blas_in_use()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS: {blas}")
    if "openblas" not in blas:
        print("warning: PyTorch is not on OpenBLAS; install libopenblas0-pthread", file=sys.stderr)
    runs = [("fashion_mlp", args.fashion_epochs, lambda: torch_fashion(args.fashion_epochs)),
            ("logistic_regression", 30, lambda: torch_csv("logistic_regression", 30)),
            ("linear_regression", 100, lambda: torch_csv("linear_regression", 100))]
    ok = True
    print(f"{'model':22} {'kiln samples/s':>15} {'torch samples/s':>16} {'ratio':>7}  test metric (kiln / torch)")
    with tempfile.TemporaryDirectory() as work:
        for model, epochs, torch_run in runs:
            krate, kmetric = run_kiln(args.kilnc, model, work, epochs)
            trate, tmetric = torch_run()
            print(f"{model:22} {krate:15.0f} {trate:16.0f} {krate / trate:7.2f}x  "
                  f"{kmetric:.4f} / {tmetric:.4f}")
            if model == "linear_regression" and abs(kmetric - tmetric) > 0.10 * tmetric:
                print("FAIL: linear regression test MSE is not within 10% of PyTorch's")
                ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
