"""Runs every example's CUDA build, compiled with kilnc --gpu-emulate-races,
under the stand-in driver: one training step (with the test metric after
it) and two batch-1 predictions, so that every kernel of train_step,
predict and predict_one runs with each load and store checked for data
races (accesses of different threads that no barrier orders) and reads of
shared memory the block never wrote. IDX test sets are cut to their first
64 rows (the checker makes each access a hash lookup).

  race_check.py KILNC FAKE_CUDA EXAMPLES_DIR WORKDIR [PART/PARTS]

PART/PARTS (e.g. 0/2) checks every PARTS-th example from the PART-th of the
sorted list, so that the suite's workers share the examples.

Prints "NAME ok" or "NAME FAIL: <the driver's message>" per example and
"N examples, M with races or failures"; exits 1 if any failed.
"""
import glob
import gzip
import os
import re
import subprocess
import sys


def idx_head(src, dst, rows):
    with gzip.open(src) as f:
        data = f.read()
    dims = data[3]
    header = bytearray(data[:4 + 4 * dims])
    header[4:8] = rows.to_bytes(4, "big")
    item = 1
    for d in range(1, dims):
        item *= int.from_bytes(data[4 + 4 * d:8 + 4 * d], "big")
    with gzip.open(dst, "wb") as f:
        f.write(bytes(header) + data[4 + 4 * dims:4 + 4 * dims + rows * item])


def main():
    kilnc, fake, examples, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, KILN_CUDA_DRIVER=fake)
    bad = 0
    names = sorted(glob.glob(os.path.join(examples, "*.kiln")))
    if len(sys.argv) > 5:
        part, parts = (int(x) for x in sys.argv[5].split("/"))
        names = names[part::parts]
    for path in names:
        name = os.path.basename(path)[:-5]
        exe = os.path.join(work, name)
        r = subprocess.run([kilnc, path, "--target=cuda", "--gpu-emulate-races", "-o", exe],
                           capture_output=True, text=True)
        if r.returncode:
            print(name, "FAIL: kilnc:", r.stderr.strip().splitlines()[-1:])
            bad += 1
            continue
        extra = []
        test = re.search(r'test\s*=\s*idx\(\s*images\s*=\s*"([^"]+)"\s*,\s*labels\s*=\s*"([^"]+)"',
                         open(path).read())
        if test:
            images, labels = (os.path.join(work, name + s) for s in ("-img.gz", "-lab.gz"))
            idx_head(test.group(1), images, 64)
            idx_head(test.group(2), labels, 64)
            extra = ["--data-test", images, "--data-test-labels", labels]
        ckpt = exe + ".safetensors"
        runs = [[exe, "train", "--epochs", "1", "--steps-per-epoch", "1", "--checkpoint", ckpt] + extra,
                [exe, "predict", "--checkpoint", ckpt, "--limit", "2"] + extra]
        failure = None
        for cmd in runs:
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
            lines = [l for l in r.stderr.splitlines() if l.startswith("fake_cuda:")]
            if r.returncode or lines:
                failure = (lines or r.stderr.strip().splitlines()[-1:] or ["exit %d" % r.returncode])[0]
                break
        print(name, "ok" if not failure else "FAIL: " + failure, flush=True)
        bad += failure is not None
    print("%d examples, %d with races or failures" % (len(names), bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
