"""Compiles seeded random mutations of the examples; fails on any crash or hang.

mutate.py KILNC SEED COUNT: every mutated model must compile (exit 0) or be
rejected with diagnostics (exit 1) within 20 s; anything else is a bug: a
crash, a hang, or an internal error (kilnc exits 3 when a stage after the
frontend fails on a model the frontend accepted).
"""
import os
import random
import subprocess
import sys
import tempfile

kilnc, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
root = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
seeds = [open(os.path.join(root, f)).read() for f in sorted(os.listdir(root)) if f.endswith(".kiln")]
pieces = ["(", ")", "{", "}", "[", "]", ",", ":", "=", "batch", "dense", "relu", "loss", "x", "y",
          "0", "-1", "1e9", "99999999999999999999", '"', "f32", "i32", "model", "input", "label",
          "softmax", "mse", "sgd", "adam", "train", "data", "idx", "csv", "\n", "//", "\x00", "1.5",
          "nan", "-0", "e", "."]
rng = random.Random(seed)
bad = 0
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "m.kiln")
    for i in range(count):
        s = rng.choice(seeds)
        for _ in range(rng.randint(1, 6)):
            op, at = rng.random(), rng.randrange(len(s) + 1)
            if op < 0.3:
                s = s[:at] + s[at + rng.randint(1, 20):]
            elif op < 0.7:
                s = s[:at] + rng.choice(pieces) + s[at:]
            else:
                src = rng.randrange(len(s) + 1)
                s = s[:at] + s[src:src + rng.randint(1, 40)] + s[at:]
        with open(path, "w") as f:
            f.write(s)
        try:
            r = subprocess.run([kilnc, path, "--emit=linalg", "-o", os.devnull],
                               capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            print(f"mutation {i}: hang\n{s}")
            bad += 1
            continue
        if r.returncode not in (0, 1) or b"PLEASE submit" in r.stderr:
            print(f"mutation {i}: exit {r.returncode}\n{r.stderr.decode(errors='replace')[-500:]}\n{s}")
            bad += 1
print(f"{count} mutations, {bad} crashes or hangs")
sys.exit(1 if bad else 0)
