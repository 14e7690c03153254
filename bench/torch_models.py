"""The examples in PyTorch, trained exactly as Kiln trains them.

Each entry mirrors examples/<name>.kiln: the same architecture, loss,
optimizer, batch and epochs, on Kiln's data (kilnref: same loaders, split and
preprocessing), in Kiln's batch order, from Kiln's initial weights (read from
a checkpoint Kiln saved before its first step). So the two sides do the same
arithmetic, and both their speed and their numbers can be compared.

Import this module only after the thread environment is set (see
bench/compare.py): OpenBLAS reads OPENBLAS_NUM_THREADS when torch loads it.
"""
import os
import time

import numpy as np
import torch

import kilnref

F = torch.nn.functional

# Like for like on a GPU: Kiln computes in FP32 throughout, so PyTorch may
# not round matrix products or convolutions to TF32 (cuDNN's default).
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def _fashion(standardize=False):
    d = kilnref.FM
    xtr, ytr = kilnref.load_idx(f"{d}/train-images-idx3-ubyte.gz", f"{d}/train-labels-idx1-ubyte.gz")
    xte, yte = kilnref.load_idx(f"{d}/t10k-images-idx3-ubyte.gz", f"{d}/t10k-labels-idx1-ubyte.gz")
    xtr, xte = kilnref.preprocess(xtr, xte, scale=0.00392156862745098, standardize=standardize)
    return xtr, ytr, xte, yte


def _fashion_images(standardize=False):
    """Fashion-MNIST as NCHW images, for convolutional models."""
    xtr, ytr, xte, yte = _fashion(standardize)
    return xtr.reshape(-1, 1, 28, 28), ytr, xte.reshape(-1, 1, 28, 28), yte


def _lenet():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


class _ResNetSmall(torch.nn.Module):
    """examples/resnet_small.kiln: modules registered in Kiln's naming order."""

    def __init__(self):
        super().__init__()
        nn = torch.nn

        def conv_bn(name, cin, cout):
            setattr(self, name, nn.Conv2d(cin, cout, 3, padding=1, bias=False))
            setattr(self, name + "_bn", nn.BatchNorm2d(cout))

        for name, cin, cout in (("stem", 1, 8), ("a1", 8, 8), ("b1", 8, 8), ("wide", 8, 16),
                                ("a2", 16, 16), ("b2", 16, 16)):
            conv_bn(name, cin, cout)
        self.logits = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        cbr = lambda name, v: F.relu(getattr(self, name + "_bn")(getattr(self, name)(v)))
        stem = cbr("stem", x)
        r1 = F.max_pool2d(F.relu(stem + self.b1_bn(self.b1(cbr("a1", stem)))), 2)
        wide = cbr("wide", r1)
        r2 = F.max_pool2d(F.relu(wide + self.b2_bn(self.b2(cbr("a2", wide)))), 2)
        return self.logits(torch.flatten(r2, 1))


def _fashion_rows():
    """Fashion-MNIST as sequences of 28 rows of 28 pixels, for recurrent models."""
    xtr, ytr, xte, yte = _fashion()
    return xtr.reshape(-1, 28, 28), ytr, xte.reshape(-1, 28, 28), yte


class _LastStep(torch.nn.Module):
    """A recurrent layer's hidden state after the last step."""

    def forward(self, out):
        return out[0][:, -1]


def _rows(cell):
    """rnn/lstm/gru(x, 64) over 28 rows of 28 pixels, then dense(h, 10)."""
    nn = torch.nn
    rnn = dict(rnn=nn.RNN, lstm=nn.LSTM, gru=nn.GRU)[cell](28, 64, batch_first=True)
    return nn.Sequential(rnn, _LastStep(), nn.Linear(64, 10))


class KilnDropout(torch.nn.Module):
    """Kiln's dropout(x, p): the same masks, from the same counter-based
    stream (kiln.random_uniform: murmur3's finalizer of index, counter and
    the layer's salt), so runs with dropout compare step by step."""

    def __init__(self, name, p):
        super().__init__()
        self.p, self.salt = p, self.fnv1a(name + ".counter")
        self.register_buffer("counter", torch.zeros(()))

    @staticmethod
    def fnv1a(text):
        h = 2166136261
        for ch in text.encode():
            h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
        return h

    def uniform(self, n):
        u32 = np.uint32
        with np.errstate(over="ignore"):
            x = (np.arange(n, dtype=u32) * u32(0x9E3779B9)
                 + u32(int(self.counter.item())) * u32(0x85EBCA6B) + u32(self.salt))
            x ^= x >> u32(16)
            x *= u32(0x85EBCA6B)
            x ^= x >> u32(13)
            x *= u32(0xC2B2AE35)
            x ^= x >> u32(16)
        return (x >> u32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        u = torch.from_numpy(self.uniform(x.numel()).reshape(x.shape))
        keep = ((u - np.float32(self.p)) > 0).float()
        self.counter += 1
        return x * (keep * np.float32(1.0 / (1.0 - self.p)))


class _Ids(torch.nn.Module):
    """Kiln's loaders hand ids over as whole-number floats; torch wants int64."""

    def forward(self, x):
        return x.long()


def _csv(path, seed, labels=None, skip=0, scale=1.0, standardize=False, classes=False,
         label_column=-1, columns=None, ids=()):
    x, y = kilnref.load_csv(os.path.join(kilnref.SK, path), skip=skip, label_column=label_column,
                            labels=labels and os.path.join(kilnref.SK, labels), columns=columns)
    y = y.astype(np.int64) if classes else y.astype(np.float32)[:, None]
    xtr, ytr, xte, yte = kilnref.kiln_split(x, y, 0.2, seed)
    xtr, xte = kilnref.preprocess(xtr, xte, scale=scale, standardize=standardize, ids=ids)
    return xtr, ytr, xte, yte


class _WideDeep(torch.nn.Module):
    """examples/wide_deep.kiln: Kiln's feature row is the 11 numbers, then
    the river id, then the highway id. Submodules are registered in Kiln's
    parameter order (wide, wide.1, wide.2, codes, codes.1, h1, h2, deep)."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.wide, self.wide1, self.wide2 = nn.Linear(11, 1), nn.Embedding(2, 1), nn.Embedding(25, 1)
        self.codes, self.codes1 = nn.Embedding(2, 2), nn.Embedding(25, 4)
        self.h1, self.h2, self.deep = nn.Linear(17, 64), nn.Linear(64, 32), nn.Linear(32, 1)

    def forward(self, x):
        num, river, highway = x[:, :11], x[:, 11].long(), x[:, 12].long()
        wide = self.wide(num) + (self.wide1(river) + self.wide2(highway))
        codes = torch.cat([self.codes(river), self.codes1(highway)], 1)
        h = F.relu(self.h2(F.relu(self.h1(torch.cat([num, codes], 1)))))
        return wide + self.deep(h)


def _words():
    """examples/word_language.kiln's data: 6000 lowercased words of each list."""
    files = [f"{kilnref.DICT}/{f}" for f in ("american-english", "ngerman", "french", "spanish",
                                              "italian")]
    x, y = kilnref.load_text(files, "'-.abcdefghijklmnopqrstuvwxyzßàáâäåçèéêëìíîïñòóôöùúûü", 16,
                             seed=2, sample=6000, lowercase=True, truncate=True)
    return kilnref.kiln_split(x, y.astype(np.int64), 0.2, 2)


def _mlp(*sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


# name: data(), model(), Kiln's names of the Linear and Conv2d layers in order, loss,
# optimizer (Kiln's name and settings), batch, epochs, seed, task.
EXAMPLES = {
    "fashion_mlp": dict(
        data=_fashion, model=lambda: _mlp(784, 256, 128, 10), layers=["h1", "h2", "logits"],
        loss=F.cross_entropy, opt=dict(kind="adam", lr=1e-3), batch=64, epochs=1, seed=42, task="classify"),
    "softmax_classifier": dict(
        data=_fashion, model=lambda: _mlp(784, 10), layers=["logits"], loss=F.cross_entropy,
        opt=dict(kind="sgd", lr=0.1), batch=64, epochs=1, seed=5, task="classify"),
    "iris_softmax": dict(
        data=lambda: _csv("iris.csv", 4, skip=1, standardize=True, classes=True),
        model=lambda: _mlp(4, 3), layers=["logits"], loss=F.cross_entropy,
        opt=dict(kind="sgd", lr=0.05, momentum=0.9), batch=8, epochs=50, seed=4, task="classify"),
    "lenet": dict(
        data=lambda: _fashion_images(standardize=True), model=_lenet, layers=["c1", "c2", "f1", "f2", "logits"],
        loss=F.cross_entropy, opt=dict(kind="sgd", lr=0.01, momentum=0.9), batch=64, epochs=1,
        seed=11, task="classify"),
    "resnet_small": dict(
        data=_fashion_images, model=_ResNetSmall,
        layers=[f"{n}{s}" for n in ("stem", "a1", "b1", "wide", "a2", "b2") for s in ("", ".1")]
        + ["logits"],
        loss=F.cross_entropy, opt=dict(kind="sgd", lr=0.01, momentum=0.9), batch=64, epochs=2,
        seed=3, task="classify"),
    "fashion_bn": dict(
        data=_fashion, model=lambda: torch.nn.Sequential(
            torch.nn.Linear(784, 256), torch.nn.BatchNorm1d(256), torch.nn.ReLU(),
            KilnDropout("h.2", 0.2), torch.nn.Linear(256, 10)),
        layers=["h", "h.1", "h.2", "logits"], loss=F.cross_entropy,
        opt=dict(kind="sgd", lr=0.05, momentum=0.9), batch=64, epochs=1, seed=8, task="classify"),
    **{f"{cell}_rows": dict(
        data=_fashion_rows, model=lambda cell=cell: _rows(cell), layers=["h", "logits"],
        loss=F.cross_entropy, opt=dict(kind="adam", lr=0.002, clip_norm=0.5),
        batch=16 if cell == "rnn" else 32, epochs=1, seed=4, task="classify")
       for cell in ("rnn", "lstm", "gru")},
    "digits_mlp": dict(
        data=lambda: _csv("digits.csv.gz", 3, scale=0.0625, classes=True),
        model=lambda: _mlp(64, 32, 10), layers=["hidden", "logits"], loss=F.cross_entropy,
        opt=dict(kind="adam", lr=0.01), batch=16, epochs=5, seed=3, task="classify"),
    "digits_embed": dict(
        data=lambda: _csv("digits.csv.gz", 3, classes=True),
        model=lambda: torch.nn.Sequential(_Ids(), torch.nn.Embedding(17, 4), torch.nn.Flatten(),
                                          *_mlp(256, 32, 10)),
        layers=["e", "hidden", "logits"], loss=F.cross_entropy,
        opt=dict(kind="adam", lr=0.01), batch=16, epochs=5, seed=3, task="classify"),
    "logistic_regression": dict(
        data=lambda: _csv("breast_cancer.csv", 7, skip=1, standardize=True),
        model=lambda: _mlp(30, 1), layers=["logit"], loss=F.binary_cross_entropy_with_logits,
        opt=dict(kind="sgd", lr=0.1), batch=16, epochs=30, seed=7, task="binary"),
    "linear_regression": dict(
        data=lambda: _csv("diabetes_data_raw.csv.gz", 7, labels="diabetes_target.csv.gz",
                          standardize=True),
        model=lambda: _mlp(10, 1), layers=["prediction"], loss=F.mse_loss, opt=dict(kind="sgd", lr=0.05),
        batch=16, epochs=100, seed=7, task="regress"),
    "word_language": dict(
        data=_words, model=lambda: torch.nn.Sequential(
            _Ids(), torch.nn.Embedding(54, 16), torch.nn.GRU(16, 64, batch_first=True), _LastStep(),
            torch.nn.Linear(64, 5)),
        layers=["chars", "h", "logits"], loss=F.cross_entropy,
        opt=dict(kind="adam", lr=0.005, clip_norm=1.0), batch=32, epochs=4, seed=2, task="classify"),
    "wide_deep": dict(
        data=lambda: _csv("boston_house_prices.csv", 1, skip=2, standardize=True, label_column=13,
                          columns=[0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 3, 8], ids=(11, 12)),
        model=_WideDeep, layers=["wide", "wide.1", "wide.2", "codes", "codes.1", "h1", "h2", "deep"],
        loss=F.mse_loss, opt=dict(kind="adam", lr=0.003), batch=16, epochs=100, seed=1,
        task="regress"),
    "house_prices": dict(
        data=lambda: _csv("boston_house_prices.csv", 1, skip=2, standardize=True),
        model=lambda: _mlp(13, 64, 32, 1), layers=["h1", "h2", "prediction"], loss=F.mse_loss,
        opt=dict(kind="adam", lr=0.003), batch=16, epochs=100, seed=1, task="regress"),
}


def make_optimizer(params, opt):
    """torch.optim for Kiln's optimizer settings (compiler/Transforms/Optimizers.cpp)."""
    o = dict(opt)
    kind, lr = o.pop("kind"), o.pop("lr")
    o.pop("clip_norm", None)
    if kind in ("adam", "adamw"):
        o["betas"] = (o.pop("beta1", 0.9), o.pop("beta2", 0.999))
    cls = dict(sgd=torch.optim.SGD, adam=torch.optim.Adam, adamw=torch.optim.AdamW,
               rmsprop=torch.optim.RMSprop, adagrad=torch.optim.Adagrad)[kind]
    return cls(params, lr=lr, **o)


RECURRENT = (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU)


NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)


def layers(model):
    return [m for m in model.modules() if isinstance(
        m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Embedding, KilnDropout) + RECURRENT + NORMS)]


def tensors(layer, name):
    """(Kiln's name, the torch parameter, whether Kiln stores it transposed)
    for one layer. Kiln stores dense weights as [in, out], torch.nn.Linear as
    [out, in]; conv filters (FCHW) and recurrent weights ([G*H, F], gates in
    PyTorch's order) are stored alike."""
    if isinstance(layer, RECURRENT):
        return [(f"{name}.{t}", getattr(layer, f"{t}_l0"), False)
                for t in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    if isinstance(layer, torch.nn.Embedding):  # [vocabulary, width] in both
        return [(name + ".weight", layer.weight, False)]
    if isinstance(layer, KilnDropout):  # its stream's counter
        return [(f"{name}.counter", layer.counter, False)]
    if isinstance(layer, NORMS):  # the running statistics are buffers, compared too
        return [(f"{name}.{t}", getattr(layer, t), False)
                for t in ("weight", "bias", "running_mean", "running_var")]
    return [(name + ".weight", layer.weight, isinstance(layer, torch.nn.Linear))] + (
        [(name + ".bias", layer.bias, False)] if layer.bias is not None else [])


def load_weights(model, spec, init):
    with torch.no_grad():
        for layer, name in zip(layers(model), spec["layers"]):
            for key, param, transposed in tensors(layer, name):
                w = init[key].T if transposed else init[key]
                param.copy_(torch.from_numpy(w.copy()))


def weights(model, spec):
    """The model's weights under Kiln's names and layouts."""
    out = {}
    for layer, name in zip(layers(model), spec["layers"]):
        for key, param, transposed in tensors(layer, name):
            w = param.detach().cpu().numpy()
            out[key] = w.T if transposed else w
    return out


def metric(spec, out, y):
    if spec["task"] == "classify":
        return (out.argmax(1) == y).float().mean().item()
    if spec["task"] == "binary":
        return ((out > 0).float() == y).float().mean().item()
    return torch.mean((out - y) ** 2).item()


def make_schedule(optimizer, schedule):
    """torch.optim.lr_scheduler for Kiln's schedule settings (stepped per epoch)."""
    if not schedule or schedule["kind"] == "constant":
        return None
    if schedule["kind"] == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, schedule.get("every", 1),
                                               schedule.get("gamma", 0.1))
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, schedule["epochs"],
                                                      schedule.get("min_lr", 0.0))


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def train(name, init_checkpoint, epochs=None, data=None, on_epoch=None, opt=None,
          steps_per_epoch=None, schedule=None, device="cpu"):
    """Trains one example like Kiln; returns samples/s over the whole run
    (training loop only: total samples over total seconds, as for Kiln), the
    loss of every step, the mean loss of every epoch, the final test metric
    and the weights. on_epoch(epoch, weights) sees the weights after each;
    `opt` replaces the example's optimizer settings; `steps_per_epoch` keeps
    only the first batches of each epoch (Kiln's --steps-per-epoch);
    `schedule` is a learning-rate schedule as in the .kiln file; `device`
    ("cuda" on a GPU) holds the model and the whole data set."""
    spec = EXAMPLES[name]
    epochs = spec["epochs"] if epochs is None else epochs
    xtr, ytr, xte, yte = (torch.from_numpy(a).to(device) for a in (data or spec["data"]()))
    model = spec["model"]()
    load_weights(model, spec, kilnref.load_safetensors(init_checkpoint)[0])
    model.to(device)
    opt = opt or spec["opt"]
    clip = opt.get("clip_norm", 0)
    optimizer = make_optimizer(model.parameters(), opt)
    scheduler = make_schedule(optimizer, schedule)
    batch, steps = spec["batch"], len(ytr) // spec["batch"]
    steps = min(steps, steps_per_epoch or steps)
    seconds, step_loss, epoch_loss = 0.0, [], []
    model.train()  # batch statistics in training, running ones for the test
    for epoch in range(1, epochs + 1):
        order = torch.tensor(kilnref.epoch_order(len(ytr), spec["seed"], epoch), device=device)
        _sync(device)
        start = time.perf_counter()
        for s in range(steps):
            b = order[s * batch:(s + 1) * batch]
            optimizer.zero_grad()
            loss = spec["loss"](model(xtr[b]), ytr[b])
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            step_loss.append(loss.item())
        _sync(device)
        seconds += time.perf_counter() - start
        epoch_loss.append(sum(step_loss[-steps:]) / steps)
        if on_epoch:
            on_epoch(epoch, weights(model, spec))
        if scheduler:
            scheduler.step()
    model.eval()
    with torch.no_grad():
        test = metric(spec, model(xte), yte)
    return dict(rate=steps * batch * epochs / seconds if seconds else 0.0, step_loss=step_loss,
                epoch_loss=epoch_loss, metric=test, weights=weights(model, spec))


def _median_call(fn, seconds):
    """Median seconds of fn() over `seconds` of calls after a tenth as long
    of warm-up (at least 5 timed calls): as Kiln's `bench` times predict."""
    end = time.perf_counter() + seconds / 10
    while time.perf_counter() < end:
        fn()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], len(times)


def infer(name, checkpoint, rows, seconds=1.0, data=None, device="cpu"):
    """Inference speed of one example: the model in eval mode without
    autograd on `rows` test rows (repeated when there are fewer), weights
    from a Kiln checkpoint. On a GPU the rows are on the device already
    and each call waits for its result (as a Kiln GPU build's predict,
    which returns host outputs)."""
    spec = EXAMPLES[name]
    xte = torch.from_numpy((data or spec["data"]())[2])
    x = xte[torch.arange(rows) % len(xte)].contiguous().to(device)
    model = spec["model"]()
    load_weights(model, spec, kilnref.load_safetensors(checkpoint)[0])
    model.to(device)
    model.eval()

    def call():
        out = model(x)
        _sync(device)
        return out

    with torch.inference_mode():
        median, calls = _median_call(call, seconds)
    return dict(rows=rows, calls=calls, median_us=median * 1e6, rows_per_sec=rows / median)


def matmul(m, k, n, seconds=1.0):
    """x[m, k] @ w[k, n] in GFLOP/s: PyTorch's side of the GEMM probe."""
    x, w = torch.rand(m, k) * 2 - 1, torch.rand(k, n) * 2 - 1
    out = torch.empty(m, n)
    median, _ = _median_call(lambda: torch.mm(x, w, out=out), seconds)
    return 2.0 * m * k * n / median / 1e9
