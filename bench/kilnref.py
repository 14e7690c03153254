"""Kiln's runtime, reimplemented in numpy where other code must agree with it
bit for bit: the RNG and shuffles, the train/test split, the loaders and the
input preprocessing, and the checkpoint reader.

Used by the benchmark (so PyTorch trains on exactly Kiln's data, in Kiln's
batch order, from Kiln's initial weights) and by the parity tests.
"""
import gzip
import json
import os
import struct

import numpy as np

M64 = (1 << 64) - 1


class Rng:
    """xoshiro256** seeded by splitmix64, as runtime/src/rng.c."""

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


def epoch_order(n, seed, epoch):
    """The batch order of one training epoch (runtime/driver/main.c)."""
    return kiln_shuffle(n, (seed * 1000003 + epoch) & M64)


def kiln_split(x, y, fraction, seed):
    n = len(y)
    nt = int(np.floor(n * fraction + 0.5))
    idx = kiln_shuffle(n, seed ^ 0x5EED5EED)
    tr, te = idx[: n - nt], idx[n - nt:]
    return x[tr], y[tr], x[te], y[te]


def preprocess(xtr, xte, scale=1.0, standardize=False, ids=()):
    """runtime/src/preprocess.c: x * scale rounded to f32, then standardised
    with the training rows' statistics (population std; constant features
    only centred). Columns listed in `ids` (an i32 input's) pass through."""
    keep = np.zeros(xtr.shape[1], bool)
    keep[list(ids)] = True
    xtr, xte = xtr.astype(np.float32), xte.astype(np.float32)
    ytr = (xtr.astype(np.float64) * scale).astype(np.float32)
    yte = (xte.astype(np.float64) * scale).astype(np.float32)
    if standardize:
        mean = ytr.astype(np.float64).mean(0)
        sd = ytr.astype(np.float64).std(0)
        sd[sd < 1e-12] = 1
        f = lambda x: ((x.astype(np.float64) - mean) / sd).astype(np.float32)
        ytr, yte = f(ytr), f(yte)
    ytr[:, keep], yte[:, keep] = xtr[:, keep], xte[:, keep]
    return ytr, yte


def load_idx(images, labels):
    with gzip.open(images) as f:
        raw = f.read()
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
    with gzip.open(labels) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return x, y


def read_table(path, skip=0):
    """Numbers separated by commas or whitespace, gzip or plain, as Kiln reads them."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        lines = [l.replace(",", " ") for l in f.read().splitlines()[skip:] if l.strip()]
    return np.loadtxt(lines, ndmin=2)


def load_csv(path, skip=0, label_column=-1, labels=None, columns=None):
    """Features as float32 (the file's `columns` in that order, else all but
    the label's), labels as read (float64)."""
    data = read_table(path, skip)
    if labels is not None:
        y = read_table(labels, skip)[:, 0]
    else:
        y = data[:, label_column]
    if columns is not None:
        x = data[:, columns]
    elif labels is not None:
        x = data
    else:
        x = np.delete(data, label_column % data.shape[1], axis=1)
    return x.astype(np.float32), y


def _lower(c):
    """runtime/src/text.c: ASCII and Latin-1 capitals only."""
    o = ord(c)
    return chr(o + 32) if 65 <= o <= 90 or (0xC0 <= o <= 0xDE and o != 0xD7) else c


def load_text(files, vocabulary, width, seed, sample=0, lowercase=False, truncate=False):
    """runtime/src/text.c: each non-empty line of file k (blanks trimmed) is a
    sample of class k, its characters' ids (vocabulary[i] -> i + 1) right-
    aligned in `width` with 0 before; `sample` lines per file drawn by Kiln's
    shuffle, kept in file order."""
    ids = {c: i + 1 for i, c in enumerate(vocabulary)}
    xs, ys = [], []
    for k, path in enumerate(files):
        with open(path, encoding="utf-8") as f:
            lines = [l.strip(" \t\r") for l in f.read().split("\n")]
        lines = [l for l in lines if l]
        n = len(lines)
        order = range(n)
        if 0 < sample < n:
            order = sorted(kiln_shuffle(n, (seed * 1000003 + 7919 * (k + 1)) & M64)[:sample])
        for i in order:
            word = lines[i]
            if len(word) > width:
                assert truncate, word
                word = word[-width:]
            row = [0] * (width - len(word)) + [ids[_lower(c) if lowercase else c] for c in word]
            xs.append(row)
            ys.append(k)
    return np.array(xs, np.float32), np.array(ys, np.float64)


def load_safetensors(path, dtypes=("F32",)):
    """Tensors of the given dtypes by name (F32: parameters and optimizer
    state; F64: standardisation statistics), and the metadata."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name != "__metadata__" and t["dtype"] in dtypes:
            a, b = t["data_offsets"]
            dtype = {"F32": np.float32, "F64": np.float64}[t["dtype"]]
            out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype).reshape(t["shape"])
    return out, header.get("__metadata__", {})


# Debian's data directories; KILN_DATA_DIR puts every file in one directory
# instead (the GPU bundle of scripts/gpu-bundle.sh, on a machine without them).
SK = os.environ.get("KILN_DATA_DIR") or "/usr/lib/python3/dist-packages/sklearn/datasets/data"
FM = os.environ.get("KILN_DATA_DIR") or "/usr/share/datasets/fashion-mnist"
DICT = os.environ.get("KILN_DATA_DIR") or "/usr/share/dict"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
