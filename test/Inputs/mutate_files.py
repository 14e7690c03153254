"""Feeds seeded byte mutations of a checkpoint and a CSV file to a model executable.

mutate_files.py EXE CHECKPOINT CSV COUNT: every run must succeed or fail with
an error (exit 1) within 20 s; a crash or hang fails the test. The CSV must be
the file the model's data block names; it is restored afterwards.
"""
import random
import subprocess
import sys

exe, ckpt, csv, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(11)
good_ckpt, good_csv = open(ckpt, "rb").read(), open(csv, "rb").read()
alphabet = b"0123456789.,-e \n\t\rx\x00"


def mutate(data, fresh):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        k = rng.randrange(len(data))
        op = rng.random()
        if op < 0.5:
            data[k] = fresh()
        elif op < 0.8:
            del data[k:k + rng.randint(1, 40)]
        else:
            data[k:k] = bytes(fresh() for _ in range(rng.randint(1, 20)))
    return bytes(data)


bad = 0
runs = [("ckpt", lambda: rng.randrange(256)), ("csv", lambda: rng.choice(alphabet))]
try:
    for i in range(count):
        kind, fresh = runs[i % 2]
        if kind == "ckpt":
            open(ckpt + ".mut", "wb").write(mutate(good_ckpt, fresh))
            cmd = [exe, "eval", "--checkpoint", ckpt + ".mut"]
        else:
            open(csv, "wb").write(mutate(good_csv, fresh))
            cmd = [exe, "train", "--epochs", "1", "--checkpoint", ckpt + ".out"]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=20)
            if r.returncode not in (0, 1):
                bad += 1
                print(f"{kind} mutation {i}: exit {r.returncode}")
        except subprocess.TimeoutExpired:
            bad += 1
            print(f"{kind} mutation {i}: hang")
finally:
    open(csv, "wb").write(good_csv)
print(f"{count} mutated files, {bad} crashes or hangs")
sys.exit(1 if bad else 0)
