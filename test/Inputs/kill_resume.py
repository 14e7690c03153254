"""Kills a training run with SIGKILL at random moments, while it saves a
checkpoint every step, and checks that nothing is ever lost or corrupt:

- whatever the moment, the checkpoint on disk (if one was saved yet) loads
  and evaluates (saves are atomic: temporary file, fsync, rename);
- resuming from it for the epochs left ends bitwise equal, checkpoint file
  and all, to the same training run uninterrupted (resume continues at the
  next step of the same shuffle, with the optimizer state and the epoch's
  loss sum restored).

  kill_resume.py EXE WORKDIR --epochs E --rounds R [--seed S]
"""
import argparse
import filecmp
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time


def metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))["__metadata__"]


def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("exe")
    p.add_argument("work")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--rounds", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    ref = os.path.join(a.work, "uninterrupted.safetensors")
    r = run([a.exe, "train", "--epochs", str(a.epochs), "--checkpoint", ref])
    if r.returncode:
        sys.exit(f"uninterrupted run failed: {r.stderr}")
    # Kill times are spread over a whole run that saves every step (saves
    # are most of its time), which also ends equal to the run without saves.
    saving = os.path.join(a.work, "saving.safetensors")
    start = time.monotonic()
    r = run([a.exe, "train", "--epochs", str(a.epochs), "--save-every", "1", "--checkpoint", saving])
    duration = time.monotonic() - start
    if r.returncode or not filecmp.cmp(ref, saving, shallow=False):
        sys.exit(f"the run saving every step differs from the one without saves: {r.stderr}")
    rng = random.Random(a.seed)
    counts = {"before the first save": 0, "within an epoch": 0, "at an epoch's end": 0}
    for k in range(a.rounds):
        ck = os.path.join(a.work, f"killed{k}.safetensors")
        proc = subprocess.Popen([a.exe, "train", "--epochs", str(a.epochs), "--save-every", "1",
                                 "--checkpoint", ck], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.02, 0.98) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        final = os.path.join(a.work, f"final{k}.safetensors")
        if not os.path.exists(ck):
            counts["before the first save"] += 1
            r = run([a.exe, "train", "--epochs", str(a.epochs), "--checkpoint", final])
        else:
            r = run([a.exe, "eval", "--checkpoint", ck])
            if r.returncode:
                sys.exit(f"round {k}: the checkpoint left by the killed run does not load: {r.stderr}")
            md = metadata(ck)
            done, steps = int(md["kiln_epochs_done"]), int(md["kiln_steps_done"])
            counts["within an epoch" if steps else "at an epoch's end"] += 1
            left = a.epochs - done
            r = run([a.exe, "train", "--resume", ck, "--epochs", str(left), "--checkpoint", final])
        if r.returncode:
            sys.exit(f"round {k}: finishing the run failed: {r.stderr}")
        if not filecmp.cmp(ref, final, shallow=False):
            sys.exit(f"round {k}: the resumed run's checkpoint differs from the uninterrupted one")
    if not counts["within an epoch"]:
        sys.exit("no kill landed within an epoch: resuming mid-epoch was not exercised")
    stale = [f for f in os.listdir(a.work) if ".safetensors.tmp." in f]
    print(f"{a.rounds} kills: " + ", ".join(f"{v} {name}" for name, v in counts.items()) +
          f"; {len(stale)} in the middle of a save (its temporary file left behind)")
    print("every checkpoint loaded; every resumed run ended bitwise equal to the uninterrupted one")
    # The next save to the same checkpoint removes what killed runs left.
    for f in stale:
        r = run([a.exe, "train", "--epochs", "1", "--steps-per-epoch", "1", "--checkpoint",
                 os.path.join(a.work, f.split(".tmp.")[0])])
        if r.returncode:
            sys.exit(f"saving over {f} failed: {r.stderr}")
    left = [f for f in os.listdir(a.work) if ".safetensors.tmp." in f]
    if left:
        sys.exit(f"later saves to the same checkpoints left the killed runs' temporary files: {left}")
    print("the next save to each checkpoint removed the temporary files killed runs left")


if __name__ == "__main__":
    main()
