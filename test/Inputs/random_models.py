"""Random models: Kiln against PyTorch, and Kiln's CUDA build against its CPU
build, on architectures nobody wrote by hand.

  random_models.py KILNC WORK [--seeds A-B] [--seconds S] [--steps N]
                   [--fake-cuda LIB] [--keep] [--write]

For each seed, a model is drawn from the language's layers (dense, conv2d,
pooling, batch_norm, dropout, embedding, rnn/lstm/gru, concat, add, mul,
every activation; odd sizes, strides, paddings and batches; any loss and
optimizer, clipping sometimes), with a data set of made-up rows (values
k/64, exact in f32) written as CSV (scaled or standardised sometimes).
Kiln compiles it, saves its initial weights and trains one or two epochs
of N steps (a learning-rate schedule sometimes) logging every loss;
PyTorch builds the same network from torch.nn.functional and torch.nn's
recurrent layers, loads those weights and replays the same batches
(bench/kilnref.py's order) with torch.optim: every step's loss must agree
within 1e-4 relative, or where the training amplifies rounding, Kiln must
be at most four times as far from PyTorch's float64 run as PyTorch float32
runs are (see `accurate`). eval's test metric of Kiln's trained weights
must be what PyTorch computes from them. With --fake-cuda, the model's
CUDA build (kilnc --gpu-emulate: its NVVM kernels compiled for this CPU,
run by the stand-in driver) trains the same steps and must agree with the
CPU build within 1e-4 (or be as accurate, judged as above).

A compile that fails, a crash, a loss that differs: the seed's model and
data are kept under WORK/seed-N and the run exits 1. --seconds runs fresh
random seeds until the time is up (CI's fuzz stage); a failing seed is
printed and reproduces with --seeds N-N. --write only writes the models
and their data into WORK, for scripts/gpu-bundle.sh (KILN_RANDOM_MODELS)
to take to a GPU.
"""
import argparse
import json
import math
import os
import re
import random
import shutil
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads OpenBLAS
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import kilnref  # noqa: E402
from torch_models import KilnDropout, make_optimizer, make_schedule  # noqa: E402

F = torch.nn.functional
TOLERANCE = 1e-4
# Values per channel a batch norm is drawn with: over two, its output is
# +-1 whatever the input, the input's gradient is rounding noise, and Adam
# or RMSprop scale that noise up to full steps, so no two float32 runs agree.
BN_ROWS = 4
# Losses below this are compared absolutely (TOLERANCE * LOSS_FLOOR): a
# cross-entropy near zero is log(1 + e) of a sum rounded near one, so its
# float32 error is some 1e-7 whatever its size.
LOSS_FLOOR = 1e-2
DIVERGED = re.compile(r"error: the loss became (nan|-nan|inf|-inf) at epoch")


class Model:
    """A random model: its bindings (name, op, operands, settings), each
    value's shape without the batch dimension, the .kiln text and the data."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.seed = seed
        # A third of the models are big enough for the vector and tiled
        # kernels (and their tails); the rest are small and odd.
        self.big = self.r.random() < 0.3
        self.batch = self.r.choice([1, 2, 3, 4, 5, 8, 13] + self.big * [17, 32, 64])
        self.bindings = []  # (name, op, [operands], {settings})
        self.shape = {}  # value -> shape without batch
        self.inputs = []  # (name, shape, vocabulary or None)
        self.counter = 0
        self.build()

    # --- drawing the network ------------------------------------------------
    def fresh(self):
        self.counter += 1
        return f"v{self.counter}"

    def bind(self, op, operands, shape, **settings):
        name = self.fresh()
        self.bindings.append((name, op, operands, settings))
        self.shape[name] = tuple(shape)
        return name

    def build(self):
        r = self.r
        family = r.choice(["table", "image", "sequence", "ids", "mixed"])
        heads = []
        if family in ("table", "mixed"):
            heads.append(self.table(self.input((self.size(1, 19, 200),))))
        if family == "image":
            c, h = self.size(1, 3, 8), self.size(3, 12, 20)
            w = r.choice([h, self.size(3, 12, 20)])
            heads.append(self.image(self.input((c, h, w))))
        if family == "sequence":
            heads.append(self.sequence(self.input((self.size(1, 6, 12), self.size(1, 9, 40)))))
        if family in ("ids", "mixed"):
            vocab = self.size(2, 11, 300)
            ids = self.input((self.size(1, 5, 12),), vocab)
            width = self.size(1, 7, 40)
            e = self.bind("embedding", [ids], self.shape[ids] + (width,),
                          vocabulary=vocab + r.randint(0, 3), width=width)
            heads.append(self.sequence(e) if r.random() < 0.5 else self.flat(e))
        x = heads[0]
        for other in heads[1:]:  # several inputs: joined
            x = self.bind("concat", [x, other], (self.shape[x][0] + self.shape[other][0],))
        self.head(self.table(x, depth=r.randint(0, 2)))

    def size(self, lo, hi, big_hi):
        return self.r.randint(lo, big_hi if self.big else hi)

    def input(self, shape, vocabulary=None):
        name = f"in{len(self.inputs)}"
        self.inputs.append((name, shape, vocabulary))
        self.shape[name] = tuple(shape)
        return name

    def flat(self, x):
        if len(self.shape[x]) == 1:
            return x
        n = int(np.prod(self.shape[x]))
        return self.bind("flatten", [x], (n,))

    ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "elu",
                   "gelu", "silu", "softplus"]

    def activation(self, x, more=()):
        """One of the activations (or `more`), or none."""
        r = self.r
        op = r.choice(self.ACTIVATIONS + list(more) + [None] * (2 + len(more)))
        settings = {"leaky_relu": dict(slope=r.choice([0.01, 0.2])),
                    "elu": dict(alpha=r.choice([1.0, 0.5])),
                    "dropout": dict(p=r.choice([0.2, 0.5]))}.get(op, {})
        return self.bind(op, [x], self.shape[x], **settings) if op else x

    def dense(self, x, units=None):
        r = self.r
        units = units or self.size(1, 23, 160)
        return self.bind("dense", [x], (units,), units=units,
                         init=r.choice(["xavier", "he", "torch", "normal", "he_uniform"]),
                         bias_init=r.choice(["zeros", "torch", "ones"]),
                         bias=r.random() < 0.8)

    def table(self, x, depth=None):
        """Dense layers and what may follow them, on [batch, n]."""
        r = self.r
        for _ in range(r.randint(1, 3) if depth is None else depth):
            x = self.activation(self.dense(x))
            roll = r.random()
            if roll < 0.2 and self.batch >= BN_ROWS:
                x = self.bind("batch_norm", [x], self.shape[x], momentum=r.choice([0.1, 0.3]))
            elif roll < 0.35:
                x = self.bind("dropout", [x], self.shape[x], p=r.choice([0.1, 0.5]))
            elif roll < 0.55:  # a residual or a gate: another branch of the same width
                y = self.activation(self.dense(x, self.shape[x][0]))
                x = self.bind(r.choice(["add", "mul"]), [x, y], self.shape[x])
            elif roll < 0.65:
                y = self.activation(self.dense(x))
                x = self.bind("concat", [x, y], (self.shape[x][0] + self.shape[y][0],))
        return x

    def image(self, x):
        r = self.r
        for _ in range(r.randint(1, 3)):
            c, h, w = self.shape[x]
            k = r.randint(1, min(5, h, w))
            p = r.randint(0, k - 1)
            s = r.choice([1, 1, 2, 3])
            ch = self.size(1, 6, 16)
            oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            x = self.bind("conv2d", [x], (ch, oh, ow), channels=ch, kernel=k, stride=s, padding=p,
                          bias=r.random() < 0.8,
                          bias_init=r.choice(["zeros", "torch"]))
            x = self.activation4(x)
            windows = [q for q in (2, 3) if q <= min(oh, ow)]  # leftover rows dropped
            if windows and r.random() < 0.6:
                q = r.choice(windows)
                x = self.bind(r.choice(["max_pool2d", "avg_pool2d"]), [x], (ch, oh // q, ow // q),
                              window=q)
            if r.random() < 0.25 and self.batch * np.prod(self.shape[x][1:]) >= BN_ROWS:
                x = self.bind("batch_norm", [x], self.shape[x], momentum=0.1)
            if r.random() < 0.2:  # residual: a same-shape convolution
                c2, h2, w2 = self.shape[x]
                k2 = r.choice([1, 3]) if min(h2, w2) >= 3 else 1
                y = self.bind("conv2d", [x], (c2, h2, w2), channels=c2, kernel=k2, stride=1,
                              padding=k2 // 2, bias=True, bias_init="torch")
                x = self.bind("add", [x, y], self.shape[x])
            if min(self.shape[x][1:]) < 2:
                break
        return self.flat(x)

    def activation4(self, x):
        """On images or sequences: softmaxes over the last dimension, dropout."""
        return self.activation(x, ["dropout"])

    def recurrent(self, x, sequences):
        r = self.r
        hidden = self.size(1, 9, 48)
        steps = self.shape[x][0]
        return self.bind(r.choice(["rnn", "lstm", "gru"]), [x],
                         (steps, hidden) if sequences else (hidden,), hidden=hidden,
                         sequences=sequences)

    def sequence(self, x):
        r = self.r
        layers = r.randint(1, 2)
        for i in range(layers):
            seqs = i + 1 < layers or r.random() < 0.3
            source, x = x, self.recurrent(x, seqs)
            if seqs and r.random() < 0.3:  # a second layer over the same input, joined
                y = self.recurrent(source, True)
                same = self.shape[x] == self.shape[y]
                op = r.choice(["add", "mul", "concat"] if same else ["concat"])
                shape = self.shape[x] if op != "concat" else (
                    self.shape[x][0], self.shape[x][1] + self.shape[y][1])
                x = self.bind(op, [x, y], shape)
            if seqs:
                x = self.activation4(x)
        return self.flat(x)

    def head(self, x):
        r = self.r
        self.loss = r.choice(["softmax_cross_entropy", "bce_with_logits", "mse"])
        self.classes = r.randint(2, 7) if self.loss == "softmax_cross_entropy" else r.randint(1, 3)
        self.out = self.dense(x, self.classes)
        self.target = "y"
        if self.loss != "softmax_cross_entropy" and r.random() < 0.25:  # the label transformed
            self.shape["y"] = (self.classes,)
            self.target = self.bind(r.choice(["sigmoid", "tanh"] if self.loss == "mse" else ["sigmoid"]),
                                    ["y"], (self.classes,))
        kind = r.choice(["sgd", "adam", "adamw", "rmsprop", "adagrad"])
        lr = r.choice([0.01, 0.03, 0.1]) if kind in ("sgd", "adagrad") else r.choice([0.001, 0.003, 0.01])
        opt = dict(kind=kind, lr=lr)
        if kind == "sgd" and r.random() < 0.6:
            opt["momentum"] = 0.9
            opt["nesterov"] = r.random() < 0.4
        if kind == "rmsprop":
            opt["centered"] = r.random() < 0.5
            if r.random() < 0.4:
                opt["momentum"] = 0.5
        if kind == "adagrad" and r.random() < 0.4:
            opt["lr_decay"] = 0.1
        if kind != "adamw" and r.random() < 0.3:
            opt["weight_decay"] = 0.01
        if r.random() < 0.3:
            opt["clip_norm"] = r.choice([0.05, 1.0])
        self.opt = opt
        self.prep = {k: v for k, v in (("scale", r.choice([None, None, 0.5, 0.125])),
                                       ("standardize", r.random() < 0.3))
                     if v and any(not vocab for _, _, vocab in self.inputs)}
        self.epochs = r.choice([1, 1, 2])  # each of `steps` batches of its own shuffle
        self.schedule = r.choice([None, None, dict(kind="step", every=1, gamma=0.5),
                                  dict(kind="cosine", epochs=self.epochs, min_lr=lr / 10)])

    # --- the .kiln text and the data ----------------------------------------
    def text(self, csv, labels):
        out = [f"// random_models.py seed {self.seed}", f"model m{self.seed} {{"]
        for name, shape, vocab in self.inputs:
            kind = "i32" if vocab else "f32"
            out.append(f"  input {name}: {kind}[batch, {', '.join(map(str, shape))}]")
        if self.loss == "softmax_cross_entropy":
            out.append("  label y: i32[batch]")
        else:
            out.append(f"  label y: f32[batch, {self.classes}]")
        for name, op, xs, s in self.bindings:
            out.append(f"  {name} = {self.call(op, xs, s)}")
        out.append(f"  loss = {self.loss}({self.out}, {self.target})")
        opt = ", ".join(f"{k} = {str(v).lower()}" for k, v in self.opt.items() if k != "kind")
        out.append(f"  optimizer = {self.opt['kind']}({opt})")
        schedule = ""
        if self.schedule and self.schedule["kind"] == "step":
            schedule = f", schedule = step(every = 1, gamma = {self.schedule['gamma']})"
        elif self.schedule:
            schedule = f", schedule = cosine(min_lr = {self.schedule['min_lr']:.9g})"
        out.append(f"  train {{ batch = {self.batch}, epochs = {self.epochs}, "
                   f"seed = {self.seed % 1000}{schedule} }}")
        source = (f'csv(features = "{csv}", labels = "{labels}")' if labels
                  else f'csv("{csv}", label_column = -1)')
        prep = "".join(f"\n    {k} = {str(v).lower()}" for k, v in self.prep.items())
        out.append(f"  data {{\n    train = {source}\n    test = {source}{prep}\n  }}\n}}")
        return "\n".join(out) + "\n"

    @staticmethod
    def call(op, xs, s):
        args = list(xs)
        positional = {"dense": ["units"], "conv2d": ["channels", "kernel"],
                      "max_pool2d": ["window"], "avg_pool2d": ["window"],
                      "embedding": ["vocabulary", "width"], "dropout": ["p"],
                      "rnn": ["hidden"], "lstm": ["hidden"], "gru": ["hidden"]}.get(op, [])
        args += [str(s[k]) for k in positional]
        args += [f"{k} = {str(v).lower()}" for k, v in s.items() if k not in positional]
        return f"{op}({', '.join(args)})"

    def data(self, rows):
        """Rows of inputs (values k/64, ids below the vocabulary) and labels."""
        r = np.random.default_rng(self.seed)
        xs = []
        for name, shape, vocab in self.inputs:
            if vocab:
                xs.append(r.integers(0, vocab, (rows,) + shape).astype(np.float32))
            else:
                xs.append((r.integers(-96, 97, (rows,) + shape) / 64).astype(np.float32))
        if self.loss == "softmax_cross_entropy":
            y = r.integers(0, self.classes, rows).astype(np.int64)
        elif self.loss == "bce_with_logits":
            y = r.integers(0, 2, (rows, self.classes)).astype(np.float32)
        else:
            y = (r.integers(-64, 65, (rows, self.classes)) / 32).astype(np.float32)
        return xs, y


# --- PyTorch -----------------------------------------------------------------
class Torch:
    """The model in PyTorch, from Kiln's initial weights (Kiln's names and
    layouts: dense weights [in, out], everything else as torch holds it)."""

    def __init__(self, m, init, dtype=torch.float32):
        self.m, self.dtype, self.training = m, dtype, True
        self.p = {k: torch.tensor(init[k]).to(dtype) for k in self.keys(m)}
        self.modules = {}
        for name, op, xs, s in m.bindings:
            if op in ("rnn", "lstm", "gru"):
                cls = dict(rnn=torch.nn.RNN, lstm=torch.nn.LSTM, gru=torch.nn.GRU)[op]
                mod = cls(m.shape[xs[0]][-1], s["hidden"], batch_first=True).to(dtype)
                with torch.no_grad():
                    for t in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        getattr(mod, t + "_l0").copy_(self.p.pop(f"{name}.{t}"))
                self.modules[name] = mod
            elif op == "dropout":
                d = KilnDropout(name, s["p"])
                d.counter.fill_(float(self.p.pop(f"{name}.counter")))
                self.modules[name] = d
        self.buffers = {k for k in self.p if k.endswith((".running_mean", ".running_var"))}
        self.params = [v.requires_grad_() for k, v in self.p.items() if k not in self.buffers]
        for mod in self.modules.values():
            self.params += [q for q in mod.parameters()]

    @staticmethod
    def keys(m):
        """The checkpoint's tensors of the model's layers (not the optimizer's)."""
        names = dict(dense=["weight", "bias"], conv2d=["weight", "bias"], embedding=["weight"],
                     batch_norm=["weight", "bias", "running_mean", "running_var"],
                     dropout=["counter"], **{c: ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
                                             for c in ("rnn", "lstm", "gru")})
        return [f"{name}.{t}" for name, op, _, s in m.bindings for t in names.get(op, [])
                if t != "bias" or s.get("bias", True)]

    def forward(self, xs, y=None):
        """The model's output, and the loss's target when given the label."""
        env = {name: x for (name, _, _), x in zip(self.m.inputs, xs)}
        env["y"] = y
        for name, op, ops, s in self.m.bindings:
            a = [env[o] for o in ops]
            env[name] = None if any(v is None for v in a) else self.apply(name, op, a, s)
        return env[self.m.out], env[self.m.target]

    def apply(self, name, op, a, s):
        p = self.p
        if op == "dense":
            y = a[0] @ p[name + ".weight"]
            return y + p[name + ".bias"] if s["bias"] else y
        if op == "conv2d":
            return F.conv2d(a[0], p[name + ".weight"], p.get(name + ".bias"), s["stride"], s["padding"])
        if op in ("max_pool2d", "avg_pool2d"):
            return getattr(F, op)(a[0], s["window"])
        if op == "batch_norm":
            return F.batch_norm(a[0], p[name + ".running_mean"], p[name + ".running_var"],
                                p[name + ".weight"], p[name + ".bias"], self.training, s["momentum"],
                                1e-5)
        if op == "embedding":
            return F.embedding(a[0].long(), p[name + ".weight"])
        if op in ("rnn", "lstm", "gru"):
            out = self.modules[name](a[0])[0]
            return out if s["sequences"] else out[:, -1]
        if op == "dropout":
            return self.modules[name].train(self.training)(a[0])
        if op == "flatten":
            return a[0].reshape(a[0].shape[0], -1)
        if op == "concat":
            return torch.cat(a, -1)
        if op in ("add", "mul"):
            return a[0] + a[1] if op == "add" else a[0] * a[1]
        if op in ("softmax", "log_softmax"):
            return getattr(F, op)(a[0], -1)
        if op in ("leaky_relu", "elu", "gelu", "silu", "softplus"):
            return getattr(F, op)(a[0], *s.values())
        return getattr(torch, op)(a[0])

    def loss(self, out, y):
        if self.m.loss == "softmax_cross_entropy":
            return F.cross_entropy(out, y)
        if self.m.loss == "bce_with_logits":
            return F.binary_cross_entropy_with_logits(out, y)
        return F.mse_loss(out, y)

    def metric(self, xs, y):
        """The test metric of `eval` (runtime/driver/main.c) over all rows,
        and how far it could move by rounding: the share of decisions within
        1e-4 of a tie (a logit at 0, two top logits)."""
        self.training = False
        with torch.no_grad():
            out = self.forward([torch.from_numpy(x).to(self.dtype) for x in xs])[0].double().numpy()
        if self.m.loss == "softmax_cross_entropy":
            top = np.sort(out, 1)
            near = np.mean(top[:, -1] - top[:, -2] < 1e-4 * np.maximum(1, np.abs(top[:, -1])))
            return "test_accuracy", float(np.mean(out.argmax(1) == y)), near
        if self.m.loss == "bce_with_logits":
            return "test_accuracy", float(np.mean((out > 0) == (y > 0.5))), np.mean(np.abs(out) < 1e-4)
        return "test_mse", float(np.mean((out - y) ** 2)), 0.0

    def train(self, xs, y, steps, shuffle=None):
        """Every step's loss, `steps` batches an epoch; `shuffle` (a numpy
        Generator) reorders each batch's rows: the same sums, added in
        another order."""
        opt = make_optimizer(self.params, self.m.opt)
        schedule = make_schedule(opt, self.m.schedule)
        losses = []
        for epoch, i in ((e, i) for e in range(1, self.m.epochs + 1) for i in range(steps)):
            if i == 0:
                order = kilnref.epoch_order(len(y), self.m.seed % 1000, epoch)
                if epoch > 1 and schedule:
                    schedule.step()
            b = order[i * self.m.batch:(i + 1) * self.m.batch]
            b = torch.tensor(shuffle.permutation(b) if shuffle else b)
            opt.zero_grad()
            x = [torch.from_numpy(x)[b].to(self.dtype) for x in xs]
            label = torch.from_numpy(y)[b].to(torch.int64 if y.dtype == np.int64 else self.dtype)
            loss = self.loss(*self.forward(x, label))
            loss.backward()
            if self.m.opt.get("clip_norm"):
                torch.nn.utils.clip_grad_norm_(self.params, self.m.opt["clip_norm"])
            opt.step()
            losses.append(loss.item())
        return losses


# --- one seed ------------------------------------------------------------------
def kiln_train(exe, work, steps, epochs, env=None, start="init.st", evaluate=True):
    """The loss of every step from the checkpoint `start`, the trained
    weights' checkpoint and eval's (metric name, value) for them."""
    name = os.path.basename(exe) + ("" if start == "init.st" else "-" + os.path.splitext(start)[0])
    metrics, ckpt = (os.path.join(work, name + ext) for ext in (".jsonl", ".st"))

    def run(*flags):
        r = subprocess.run([exe, *flags], capture_output=True, text=True, timeout=600, env=env)
        if r.returncode and not (flags[0] == "train" and DIVERGED.search(r.stderr)):
            raise Failure(f"{name} {flags[0]} exited {r.returncode}: {r.stderr.strip()[-400:]}")
        return r

    r = run("train", "--resume", os.path.join(work, start), "--epochs", str(epochs), "--steps-per-epoch",
            str(steps), "--metrics", metrics, "--log-every", "1", "--checkpoint", ckpt)
    losses = [json.loads(l)["loss"] for l in open(metrics) if '"step"' in l]
    if r.returncode:  # a diverging loss stops training: that step's loss is NaN here
        return losses + [math.nan], None, None
    if not evaluate:
        return losses, ckpt, None
    metric, value = run("eval", "--checkpoint", ckpt).stdout.split()[:2]
    return losses, ckpt, (metric, float(value))


def nudged(w, g):
    """float32 `w` moved by a rounding: relative 2^-24, signs drawn from `g`."""
    return (w * (1 + np.float32(2.0**-24) * g.choice([-1, 1], np.shape(w)))).astype(np.float32)


def moved_checkpoint(work, k):
    """work/moved{k}.st: init.st with every float tensor moved by a rounding
    (relative 2^-24, random signs), as `accurate`'s PyTorch runs are; the
    scalars (counters) as they are."""
    data = bytearray(open(os.path.join(work, "init.st"), "rb").read())
    n = int.from_bytes(data[:8], "little")
    g = np.random.default_rng(k)
    for name, t in json.loads(data[8:8 + n]).items():
        if name == "__metadata__" or t["dtype"] != "F32" or not t["shape"]:
            continue
        a, b = (8 + n + o for o in t["data_offsets"])
        w = np.frombuffer(bytes(data[a:b]), np.float32)
        data[a:b] = nudged(w, g).tobytes()
    name = f"moved{k}.st"
    with open(os.path.join(work, name), "wb") as f:
        f.write(bytes(data))
    return name


def metric_differs(ours, theirs):
    """Accuracies equal (as printed, 6 digits) but for decisions PyTorch
    finds within rounding of a tie; mean squared errors within 1e-4."""
    (name, a), (their_name, b, near) = ours, theirs
    return name != their_name or abs(a - b) > (TOLERANCE * abs(b) if name == "test_mse"
                                               else 1e-6 + near)


class Failure(Exception):
    pass


def compile_model(kilnc, source, out, *flags):
    r = subprocess.run([kilnc, source, "-o", out, *flags], capture_output=True, text=True, timeout=600)
    if r.returncode or "error" in r.stderr:
        raise Failure(f"kilnc {' '.join(flags)} exited {r.returncode}: {r.stderr.strip()[-600:]}")


def differs(a, b, tol):
    """Two runs' losses. Kiln stops at the first loss that is not finite
    (the rest of `a` missing); PyTorch's must not be finite there either."""
    b = b[:len(a)] if a and not math.isfinite(a[-1]) else b
    return len(a) != len(b) or any(
        math.isfinite(x) != math.isfinite(y) or abs(x - y) > tol * max(abs(y), LOSS_FLOOR)
        for x, y in zip(a, b) if math.isfinite(x) or math.isfinite(y))


def write(m, steps, work, name):
    """The model's source work/NAME.kiln and its data beside it (NAME-train.csv,
    NAME-labels.txt), rows for `steps` batches and part of one; returns the
    source's path and the rows as the model reads them (inputs, labels)."""
    rows = m.batch * steps + m.r.randint(0, m.batch - 1)
    raw, y = m.data(rows)
    features = np.concatenate([x.reshape(rows, -1) for x in raw], 1)
    # What the model reads: `scale` and `standardize` applied (kilnref:
    # runtime/src/preprocess.c's arithmetic), ids as they are.
    ends = np.cumsum([0] + [x[0].size for x in raw])
    ids = [c for (_, _, vocab), a, b in zip(m.inputs, ends, ends[1:]) if vocab for c in range(a, b)]
    model_rows = kilnref.preprocess(features, features[:1], m.prep.get("scale", 1.0),
                                    m.prep.get("standardize", False), ids)[0]
    xs = [model_rows[:, a:b].reshape(x.shape) for x, a, b in zip(raw, ends, ends[1:])]
    csv, labels = os.path.join(work, name + "-train.csv"), None
    fmt = lambda a: ",".join(f"{v:.9g}" for v in a)  # exact: k/64
    with open(csv, "w") as f:
        for i in range(rows):
            tail = [str(int(y[i]))] if y.ndim == 1 else []
            f.write(",".join([fmt(features[i])] + tail) + "\n")
    if y.ndim == 2:
        labels = os.path.join(work, name + "-labels.txt")
        with open(labels, "w") as f:
            f.writelines(fmt(row) + "\n" for row in y)
    source = os.path.join(work, name + ".kiln")
    with open(source, "w") as f:
        f.write(m.text(csv, labels))
    return source, xs, y


def check(seed, args):
    m = Model(seed)
    work = os.path.join(args.work, f"seed-{seed}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    source, xs, y = write(m, args.steps, work, "model")
    exe = os.path.join(work, "cpu")
    compile_model(args.kilnc, source, exe)
    r = subprocess.run([exe, "train", "--epochs", "0", "--checkpoint", os.path.join(work, "init.st")],
                       capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise Failure(f"saving the initial weights: {r.stderr.strip()[-400:]}")
    ours, trained, our_metric = kiln_train(exe, work, args.steps, m.epochs)
    init = kilnref.load_safetensors(os.path.join(work, "init.st"))[0]
    theirs = Torch(m, init).train(xs, y, args.steps)
    exact, spread, parted = [], [], []

    def accurate(losses):
        """Some trainings amplify rounding: Adam's or RMSprop's first steps
        turn gradients that are zero but for rounding into whole steps (a
        bias before batch norm, a product with a ReLU at zero), and so do a
        norm near the clipping bound. There float32 runs part by more than
        the tolerance and are judged by accuracy instead. How far float32
        can be from the exact (float64) losses is measured by PyTorch
        float32 runs that round differently: each batch's rows in another
        order (its sums added in another order; not with dropout, whose
        masks follow the rows), or initial weights moved by a rounding
        (relative 2^-24, random signs). Kiln may be at most four times as
        far as the farthest, plus the tolerance: its sums are float32
        throughout, PyTorch's on a CPU partly in double or pairwise, so its
        rounding noise is a few times theirs (measured: gradients 1-5 times
        as far from float64 as PyTorch's). Where those float32 runs part
        from one another by more than the tolerance, float32 cannot
        reproduce the training to the tolerance, and from that step on only
        the finiteness of the losses is compared (with PyTorch's float32
        run's: float64 overflows later): how far a run strays from
        there is heavy-tailed (of five runs, one strayed 400 times as far
        as another, and another four runs decide nothing)."""
        if not exact:
            exact[:] = Torch(m, init, torch.float64).train(xs, y, args.steps)
            spread[:] = [abs(t - e) for t, e in zip(theirs, exact)]
            low, high = list(theirs), list(theirs)
            dropout = any(op == "dropout" for _, op, _, _ in m.bindings)
            for k in range(4):
                g = np.random.default_rng(k)
                if k % 2 and not dropout:
                    run = Torch(m, init).train(xs, y, args.steps, shuffle=g)
                else:
                    # Tensors only: the checkpoint's scalars are counters
                    # (the step, a dropout's mask counter) stored as floats.
                    moved = {n: nudged(w, g) if w.dtype == np.float32 and np.ndim(w) else w
                             for n, w in init.items()}
                    run = Torch(m, moved).train(xs, y, args.steps)
                spread[:] = [max(d, abs(t - e)) for d, t, e in zip(spread, run, exact)]
                low[:] = map(min, low, run)
                high[:] = map(max, high, run)
            parted[:] = [next((i for i, (a, b, e) in enumerate(zip(low, high, exact))
                               if not b - a <= TOLERANCE * max(abs(e), LOSS_FLOOR)), len(exact))]
        return all(abs(a - e) <= 4 * d + TOLERANCE * max(abs(e), LOSS_FLOOR)
                   for a, d, e in list(zip(losses, spread, exact))[:parted[0]]
                   ) and not differs(losses, theirs, math.inf)

    def own_rounding(exe, env=None):
        """Whether Kiln's own float32 runs that round differently (from
        initial weights moved by a rounding) are judged accurate: a bug
        shows in all of them; noise that the training amplified, only in
        some. Kiln's noise is not PyTorch's: its sums are float32 where
        PyTorch's CPU batch norm sums in double, so a gradient that is
        zero but for rounding may change sign from run to run of Kiln's
        (in a third of them, on one model) and in none of PyTorch's."""
        return any(accurate(kiln_train(exe, work, args.steps, m.epochs, env, moved_checkpoint(work, k),
                                       evaluate=False)[0]) for k in range(4))

    if differs(ours, theirs, TOLERANCE) and not accurate(ours) and not own_rounding(exe):
        raise Failure(f"losses differ from PyTorch's:\n  kiln    {ours}\n  torch   {theirs}\n"
                      f"  float64 {exact}")
    # eval's test metric of the trained weights (unless training diverged,
    # as PyTorch's did), against PyTorch's from them.
    metric_of = lambda ckpt: Torch(m, kilnref.load_safetensors(ckpt)[0]).metric(xs, y)
    if our_metric and metric_differs(our_metric, their_metric := metric_of(trained)):
        raise Failure(f"eval's metric of the trained weights is {our_metric}, PyTorch's "
                      f"{their_metric[:2]}")
    if args.fake_cuda:
        gpu = os.path.join(work, "gpu")
        compile_model(args.kilnc, source, gpu, "--target=cuda", "--gpu-emulate")
        env = dict(os.environ, KILN_CUDA_DRIVER=args.fake_cuda)
        on_gpu, gpu_trained, gpu_metric = kiln_train(gpu, work, args.steps, m.epochs, env)
        if differs(on_gpu, ours, TOLERANCE) and not accurate(on_gpu) and not own_rounding(gpu, env):
            raise Failure(f"the CUDA build's losses differ from the CPU build's:\n  cpu {ours}\n"
                          f"  gpu {on_gpu}\n  torch {theirs}\n  float64 {exact}")
        if gpu_metric and metric_differs(gpu_metric, their_metric := metric_of(gpu_trained)):
            raise Failure(f"the CUDA build's eval metric is {gpu_metric}, PyTorch's from its "
                          f"weights {their_metric[:2]}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kilnc")
    p.add_argument("work")
    p.add_argument("--seeds", default="1-20", help="A-B: the seeds to draw models from")
    p.add_argument("--seconds", type=float, help="draw fresh random seeds for this long instead")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--fake-cuda", help="the stand-in CUDA driver: check the CUDA build too")
    p.add_argument("--keep", action="store_true", help="keep every seed's files")
    p.add_argument("--write", action="store_true",
                   help="only write the seeds' models and data to WORK (rmSEED.kiln, "
                        "rmSEED-train.csv...), for scripts/gpu-bundle.sh")
    args = p.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.work, exist_ok=True)
    first, last = map(int, args.seeds.split("-"))
    if args.write:
        for seed in range(first, last + 1):
            write(Model(seed), args.steps, os.path.abspath(args.work), f"rm{seed}")
        return
    if args.seconds:
        end = time.monotonic() + args.seconds
        seeds = iter(lambda: random.randrange(1, 10**9), None)
    else:
        seeds, end = iter(range(first, last + 1)), None
    done, failed = 0, []
    for seed in seeds:
        if end and time.monotonic() > end:
            break
        try:
            check(seed, args)
            print(f"seed {seed}: ok")
            if not args.keep:
                shutil.rmtree(os.path.join(args.work, f"seed-{seed}"))
        except (Failure, subprocess.TimeoutExpired) as e:
            failed.append(seed)
            report = f"seed {seed}: FAIL {e}\n  kept in {os.path.join(args.work, f'seed-{seed}')}"
            # stdout goes to FileCheck in the tests, which shows little of
            # it; stderr reaches the log, so a fresh seed's failure there
            # can be reproduced with --seeds.
            print(report)
            print(report, file=sys.stderr)
        sys.stdout.flush()
        done += 1
    print(f"{done} models, {len(failed)} failed" + (f": seeds {failed}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
