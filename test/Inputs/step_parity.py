"""Step-by-step PyTorch parity of a compiled training loop (digits MLP, Adam).

step_parity.py EXE WORKDIR EPOCHS: Kiln saves its initial weights
(`train --epochs 0`) and its weights after EPOCHS epochs; PyTorch starts from
the same weights and replays the same batches (Kiln's split and shuffles,
reimplemented in bench/compare.py). Prints the largest weight difference
relative to the weights' scale, and the final training loss of both.
"""
import os
import struct
import subprocess
import sys
import json

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import compare  # noqa: E402

exe, work, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
seed, batch = 3, 16


def load(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name != "__metadata__":
            a, b = t["data_offsets"]
            out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], np.float32).reshape(t["shape"])
    return out


init_path, final_path = os.path.join(work, "init.st"), os.path.join(work, "final.st")
subprocess.run([exe, "train", "--epochs", "0", "--checkpoint", init_path], check=True,
               stdout=subprocess.DEVNULL)
subprocess.run([exe, "train", "--epochs", str(epochs), "--checkpoint", final_path,
                "--metrics", os.path.join(work, "m.jsonl")], check=True, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
init, final = load(init_path), load(final_path)

data = np.loadtxt(os.path.join(compare.SK, "digits.csv.gz"), delimiter=",")
x, y = (data[:, :-1] * 0.0625).astype(np.float32), data[:, -1].astype(np.int64)
xtr, ytr, _, _ = compare.kiln_split(x, y, 0.2, seed)
xtr, ytr = torch.from_numpy(xtr), torch.from_numpy(ytr)

torch.set_num_threads(1)
model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
with torch.no_grad():
    for layer, name in [(model[0], "hidden"), (model[2], "logits")]:
        layer.weight.copy_(torch.from_numpy(init[name + ".weight"].T.copy()))
        layer.bias.copy_(torch.from_numpy(init[name + ".bias"].copy()))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
losses = []
for epoch in range(1, epochs + 1):
    order = compare.kiln_shuffle(len(ytr), (seed * 1000003 + epoch) & compare.M64)
    for s in range(len(ytr) // batch):
        b = torch.tensor(order[s * batch:(s + 1) * batch])
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
        losses.append(loss.item())

worst = 0.0
for layer, name in [(model[0], "hidden"), (model[2], "logits")]:
    for kind, theirs in [("weight", layer.weight.detach().numpy().T), ("bias", layer.bias.detach().numpy())]:
        ours = final[f"{name}.{kind}"]
        worst = max(worst, float(np.abs(ours - theirs).max() / max(1e-6, np.abs(theirs).max())))
kiln_loss = json.loads(open(os.path.join(work, "m.jsonl")).read().splitlines()[-1])["train_loss"]
steps = len(ytr) // batch
torch_loss = float(np.mean(losses[-steps:]))
print(f"steps {len(losses)}: max relative weight difference {worst:.2e}")
print(f"last epoch mean loss: kiln {kiln_loss:.6f} torch {torch_loss:.6f}")
