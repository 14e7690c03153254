"""Checks every example's CUDA build against its CPU build, on a GPU.

Run in a bundle made by scripts/gpu-bundle.sh (bin/NAME.cpu, bin/NAME.gpu,
data/). For each example both builds train the same steps from the same
seed, logging every step's loss; the GPU's losses must match the CPU's
within --rtol (default 1e-4, relative), and with --epochs E the final test
metric within 0.5 points (accuracy) or 1% (MSE). Both builds then
`predict` --predict-rows test rows one at a time (the batch-1 kernels)
with the CPU's weights: the same classes, every printed number within
1e-4 relative plus one unit of its last digit. With --torch DEVICE
("cuda"), PyTorch trains the same example on that device from the same
initial weights, data and batch order (bench/torch_models.py, copied into
the bundle) for the samples/s column: Kiln-GPU against PyTorch-CUDA, and
with --latency both sides' batch-1 predict latency; a table at the end
puts them side by side (rates only from an --epochs run). Prints a line
per example and a JSON summary (--json FILE), exits 1 if any example
differs or fails. scripts/gpu-device-run.sh runs the whole device check.

The final metrics of whole trainings (each example's epochs from its .kiln
file) take the CPU build minutes, so they are recorded where the bundle is
made (--record FILE: scripts/gpu-bundle.sh with KILN_RECORD_CPU=1), and on
the GPU only the GPU builds train (--final FILE): each final test metric
must be within 0.5 points (accuracy) or 1% (MSE) of the CPU build's.

  python3 gpu_check.py [--steps 20] [--epochs 0] [--torch cuda] [--only NAME,...] [--json FILE]
  python3 gpu_check.py --record FILE | --final FILE [--only NAME,...] [--json FILE]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time


def train(exe, workdir, args):
    metrics = os.path.join(workdir, os.path.basename(exe) + ".jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    cmd = [exe, "train", "--metrics", metrics, "--log-every", "1",
           "--checkpoint", metrics + ".safetensors"] + args
    start = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    elapsed = time.monotonic() - start
    if r.returncode:
        return None, r.stderr.strip().splitlines()[-1:] or ["exit %d" % r.returncode], elapsed
    lines = [json.loads(x) for x in open(metrics)]
    return lines, None, elapsed


def metric_key(line):
    """The test metric an epoch line reports."""
    return "test_accuracy" if "test_accuracy" in line else "test_mse"


def metric_close(ec, eg):
    """Whether two epoch lines' test metrics agree: accuracy within 0.5
    points, a mean squared error within 1%."""
    key = metric_key(ec)
    diff = abs(ec[key] - eg[key])
    return (diff <= 0.005 if key == "test_accuracy" else diff <= 0.01 * abs(ec[key])), key


def predictions_close(cpu, gpu):
    """Where two `predict` outputs differ (None if they agree): the same
    words, integers (row numbers, classes) equal, other numbers within 1e-4
    relative plus a unit of their last printed digit."""
    lc, lg = cpu.splitlines(), gpu.splitlines()
    if len(lc) != len(lg) or not lc:
        return "%d lines against %d" % (len(lc), len(lg))
    num = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
    for a, b in zip(lc, lg):
        na, nb = num.findall(a), num.findall(b)
        if num.split(a) != num.split(b) or len(na) != len(nb):
            return "%r against %r" % (a, b)
        for x, y in zip(na, nb):
            mantissa, _, exponent = x.partition("e")
            if "." not in mantissa and not exponent:
                close = x == y  # an index, a class
            else:
                unit = 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))
                close = abs(float(x) - float(y)) <= 1e-4 * abs(float(x)) + unit
            if not close:
                return "%r against %r" % (a, b)
    return None


def table(results, timed):
    """The GPU column: Kiln-GPU against PyTorch on the same device, training
    samples/s (ratio = Kiln / PyTorch; the acceptance target is at least
    1/1.5 at batch 64) and batch-1 predict latency (ratio = PyTorch / Kiln;
    above 1 is Kiln ahead). Rates come from the --epochs run: over a few
    quick steps both sides' start-up (PyTorch's cuBLAS handle) dominates."""
    rows = [r for r in results if "torch_samples_per_sec" in r or "torch_latency_us" in r]
    if not rows:
        return
    print("%-20s %12s %12s %7s %12s %12s %7s" % ("example", "kiln samp/s", "torch samp/s", "ratio",
                                                 "kiln lat us", "torch lat us", "ratio"))
    for r in rows:
        kiln, torch_rate = r.get("gpu_samples_per_sec"), r.get("torch_samples_per_sec")
        lat, torch_lat = r.get("gpu_latency_us"), r.get("torch_latency_us")
        fmt = lambda v: "%12.1f" % v if v else "%12s" % "-"
        print("%-20s %s %s %7s %s %s %7s" % (
            r["example"], fmt(kiln if timed else None), fmt(torch_rate if timed else None),
            "%.2f" % (kiln / torch_rate) if timed and kiln and torch_rate else "-",
            fmt(lat), fmt(torch_lat), "%.2f" % (torch_lat / lat) if lat and torch_lat else "-"))


def whole_trainings(names, build, recorded, out_json):
    """Each example's whole training on `build` ("cpu" or "gpu"): with
    `recorded` (the CPU's, from --record), checks the final test metric
    against it; prints a line per example; returns what it found."""
    results, bad = {}, 0
    for name in names:
        lines, err, seconds = train("bin/%s.%s" % (name, build), "runs", [])
        res = {"seconds": round(seconds, 1)}
        if err:
            res.update(error=err[0], ok=False)
        else:
            last = lines[-1]
            key = metric_key(last)
            res.update({key: last[key], "epoch": last.get("epoch"),
                        "samples_per_sec": last.get("samples_per_sec"), "ok": True})
            if recorded is not None:
                cpu = recorded.get(name)
                if not cpu or key not in cpu:
                    res.update(error="no CPU record", ok=False)
                else:
                    close, _ = metric_close(cpu, last)
                    res.update(cpu=cpu[key], ok=close)
        bad += not res["ok"]
        results[name] = res
        print(("ok   " if res["ok"] else "FAIL ") + json.dumps(dict(example=name, **res)), flush=True)
    if out_json:
        json.dump(results, open(out_json, "w"), indent=1)
    print("%d examples, %d differ or fail" % (len(results), bad))
    return bad


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--epochs", type=int, default=0, help="also train E full epochs and compare the test metric")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--steps-for", action="append", default=[], metavar="NAME=K",
                   help="compare only K steps of NAME (a model whose own training amplifies "
                        "rounding differences: say why where this is used)")
    p.add_argument("--predict-rows", type=int, default=20)
    p.add_argument("--only", default="")
    p.add_argument("--json", default="")
    p.add_argument("--torch", default="", help="also time PyTorch on this device (cpu, cuda)")
    p.add_argument("--record", metavar="FILE",
                   help="train every CPU build its whole training; write the final test metrics to FILE")
    p.add_argument("--final", metavar="FILE",
                   help="train every GPU build its whole training; compare the final test metrics "
                        "with FILE's (from --record)")
    p.add_argument("--latency", action="store_true",
                   help="also time batch-1 prediction (median microseconds per call) of both "
                        "builds and, with --torch, of PyTorch")
    a = p.parse_args()
    if a.torch:
        os.environ.setdefault("KILN_DATA_DIR", os.path.abspath("data"))
        sys.path.insert(0, os.path.abspath("bench"))
        import torch_models
    os.makedirs("runs", exist_ok=True)
    names = sorted(os.path.basename(f)[:-4] for f in glob.glob("bin/*.cpu"))
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    if a.record:
        sys.exit(1 if whole_trainings(names, "cpu", None, a.record) else 0)
    if a.final:
        sys.exit(1 if whole_trainings(names, "gpu", json.load(open(a.final)), a.json) else 0)
    results, bad = [], 0
    for name in names:
        res = {"example": name}
        steps = dict(x.split("=") for x in a.steps_for).get(name, a.steps)
        quick = ["--epochs", "1", "--steps-per-epoch", str(steps)]
        cpu, err_c, _ = train("bin/%s.cpu" % name, "runs", quick)
        gpu, err_g, _ = train("bin/%s.gpu" % name, "runs", quick)
        if err_c or err_g:
            res["error"] = (err_c or err_g)[0]
        else:
            lc = [x["loss"] for x in cpu if "step" in x and "loss" in x]
            lg = [x["loss"] for x in gpu if "step" in x and "loss" in x]
            worst = max((abs(c - g) / max(abs(c), 1e-12) for c, g in zip(lc, lg)), default=float("inf"))
            # The test metric after those steps: evaluation's kernels too.
            close, key = metric_close(cpu[-1], gpu[-1])
            res.update(steps=len(lc), max_rel_loss_diff=worst, **{key + "_cpu": cpu[-1][key], key + "_gpu": gpu[-1][key]},
                       ok=len(lc) == len(lg) > 0 and worst <= a.rtol and close)
            # Batch-1 prediction (its own kernels) with the CPU's weights.
            out = {}
            for build in ("cpu", "gpu"):
                r = subprocess.run(["bin/%s.%s" % (name, build), "predict", "--limit", str(a.predict_rows),
                                    "--checkpoint", "runs/%s.cpu.jsonl.safetensors" % name],
                                   capture_output=True, text=True, timeout=600)
                out[build] = r.stdout if r.returncode == 0 else "exit %d: %s" % (r.returncode, r.stderr.strip())
            differ = predictions_close(out["cpu"], out["gpu"])
            if differ:
                res.update(predict_differs=differ, ok=False)
        if a.epochs and "error" not in res:
            full = ["--epochs", str(a.epochs)]
            cpu, err_c, tc = train("bin/%s.cpu" % name, "runs", full)
            gpu, err_g, tg = train("bin/%s.gpu" % name, "runs", full)
            if err_c or err_g:
                res["error"] = (err_c or err_g)[0]
            else:
                ec, eg = cpu[-1], gpu[-1]
                close, key = metric_close(ec, eg)
                res.update(metric=key, cpu=ec[key], gpu=eg[key], cpu_samples_per_sec=ec.get("samples_per_sec"),
                           gpu_samples_per_sec=eg.get("samples_per_sec"), ok=res["ok"] and close)
        # PyTorch and the latency runs start from the CPU build's initial
        # weights (the same as the GPU build's).
        init = os.path.join("runs", name + ".init.safetensors")
        if (a.torch or a.latency) and "error" not in res:
            subprocess.run(["bin/%s.cpu" % name, "train", "--epochs", "0", "--checkpoint", init],
                           check=True, stdout=subprocess.DEVNULL)
        if a.torch and "error" not in res:
            t = torch_models.train(name, init, epochs=a.epochs or 1,
                                   steps_per_epoch=None if a.epochs else steps, device=a.torch)
            res["torch_samples_per_sec"] = t["rate"]
            if not a.epochs:
                steps = res.get("steps", 0)
                res["torch_max_rel_loss_diff"] = max(
                    (abs(c - g) / max(abs(c), 1e-12) for c, g in zip(lc, t["step_loss"][:steps])),
                    default=float("inf"))
        if a.latency and "error" not in res:
            for build in ("cpu", "gpu"):
                r = subprocess.run(["bin/%s.%s" % (name, build), "bench", "--rows", "1",
                                    "--checkpoint", init], capture_output=True, text=True)
                fields = r.stdout.split()
                if r.returncode or "median_us" not in fields:
                    res["error"] = (r.stderr.strip().splitlines() or ["bench failed"])[-1]
                    break
                res[build + "_latency_us"] = float(fields[fields.index("median_us") + 1])
            if a.torch and "error" not in res:
                res["torch_latency_us"] = torch_models.infer(name, init, 1, device=a.torch)["median_us"]
        if not res.get("ok") or "error" in res:
            bad += 1
        results.append(res)
        print(("ok   " if res.get("ok") else "FAIL ") + json.dumps(res), flush=True)
    table(results, timed=bool(a.epochs))
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)
    print("%d examples, %d differ or fail" % (len(results), bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
