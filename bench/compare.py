#!/usr/bin/python3
"""Kiln against PyTorch, like for like, on every example.

For each example, Kiln compiles the model, saves its initial weights, and
trains; PyTorch (bench/torch_models.py) trains the same architecture from
those weights on the same data in the same batch order, so both do the same
arithmetic. Training samples/s is total samples over total training-loop
seconds of the example's whole run (every epoch: fashion_mlp runs
--fashion-epochs, default 3, the others their own count) for both sides.
Each configuration runs once to warm up, then --repeats times; the median
is reported. Inference: both sides predict --infer-rows test rows per call
(1: latency; 256: throughput) with the trained weights, the median call of
--infer-seconds of calls after a warm-up (Kiln: `<model> bench`; PyTorch:
eval mode under inference_mode). GEMM probe: the machine's fp32 FMA peak,
measured (bench/fma_peak.c), and Kiln's generated matmul (a one-layer model,
bench/gemm_probe.c) and torch.mm at 64x784x256, 256^3 and 1024^3 in GFLOP/s
and as a fraction of that peak. Both run at each of --threads:
Kiln with `train --threads N`; PyTorch in a fresh process per thread count
with OpenBLAS, OpenMP and torch all limited to it (OPENBLAS_NUM_THREADS must be set before torch
loads OpenBLAS: torch.set_num_threads alone does not limit it), and OpenMP
waiting passively when there are several.

  /usr/bin/python3 bench/compare.py [--repeats 3] [--threads 1,2] [--json out.json]
                                    [--skip-gemm] [EXAMPLE...]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kilnref  # noqa: E402  (no torch: safe before the thread environment is set)

EXAMPLES = ["fashion_mlp", "fashion_bn", "softmax_classifier", "lenet", "resnet_small", "rnn_rows", "lstm_rows",
            "gru_rows", "digits_mlp", "digits_embed", "iris_softmax", "logistic_regression",
            "linear_regression", "house_prices", "wide_deep", "word_language"]


def thread_env(threads):
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if threads > 1:
        # PyTorch's OpenMP workers spin after each parallel region while
        # OpenBLAS's own threads want the same cores: on 2 cores that made
        # PyTorch 4x slower with 2 threads than with 1. Passive waiting is
        # PyTorch's best 2-thread configuration here.
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


# --- Kiln ---------------------------------------------------------------------
def kiln_rate(metrics):
    """Total samples over total seconds, from the per-epoch lines of --metrics;
    the epoch count; the last line."""
    lines = [json.loads(l) for l in open(metrics) if '"samples_per_sec"' in l]
    return len(lines) / sum(1.0 / l["samples_per_sec"] for l in lines), len(lines), lines[-1]


def kiln_bench(exe, work, checkpoint, rows, threads, seconds):
    """`<model> bench`: the median predict call of `rows` test rows."""
    r = subprocess.run([exe, "bench", "--rows", str(rows), "--threads", str(threads), "--seconds",
                        str(seconds), "--checkpoint", checkpoint], check=True, cwd=work,
                       capture_output=True, text=True)
    m = re.search(r"bench rows (\d+) calls (\d+) median_us ([\d.]+) rows_per_sec ([\d.]+)", r.stdout)
    return dict(rows=int(m[1]), calls=int(m[2]), median_us=float(m[3]), rows_per_sec=float(m[4]))


def run_kiln(kilnc, name, work, epochs, repeats, threads, infer_rows, infer_seconds):
    """Trains at each thread count, with the model's own epoch count unless
    `epochs` is given, then times inference with the trained weights."""
    exe = os.path.join(work, name)
    start = time.perf_counter()
    subprocess.run([kilnc, os.path.join(kilnref.ROOT, "examples", name + ".kiln"), "-o", exe],
                   check=True)
    compile_s = time.perf_counter() - start
    init = os.path.join(work, name + ".init.safetensors")
    subprocess.run([exe, "train", "--epochs", "0", "--checkpoint", init], check=True,
                   stdout=subprocess.DEVNULL)
    flags = ["--epochs", str(epochs)] if epochs else []
    trained = os.path.join(work, name + ".safetensors")
    runs = {}
    for t in threads:
        rates, last = [], None
        for i in range(repeats + 1):
            metrics = os.path.join(work, f"{name}.{t}.{i}.jsonl")
            subprocess.run([exe, "train", *flags, "--threads", str(t), "--metrics", metrics,
                            "--checkpoint", trained], check=True,
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rate, n, last = kiln_rate(metrics)
            if i > 0:  # the first run warms up
                rates.append(rate)
        runs[t] = dict(rate=statistics.median(rates), rates=rates, epochs=n,
                       metric=last.get("test_accuracy", last.get("test_mse")))
    for t in threads:
        runs[t]["infer"] = {r: kiln_bench(exe, work, trained, r, t, infer_seconds) for r in infer_rows}
    return dict(runs=runs, compile_s=compile_s), init, trained


# --- PyTorch (in a worker process per thread count) -------------------------
def run_worker(threads, *args):
    """This script in a fresh process with the thread environment set; the
    last line it prints, as JSON."""
    r = subprocess.run([sys.executable, os.path.abspath(__file__), *map(str, args)],
                       check=True, capture_output=True, text=True, env=thread_env(threads))
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_torch(name, threads, epochs, init, repeats, trained, infer_rows, infer_seconds):
    r = run_worker(threads, "--torch-worker", name, threads, epochs, init, repeats, trained,
                   ",".join(map(str, infer_rows)), infer_seconds)
    r["infer"] = {int(rows): v for rows, v in r["infer"].items()}  # JSON keys are strings
    return r


def torch_worker(name, threads, epochs, init, repeats, trained, infer_rows, infer_seconds):
    import torch
    import torch_models
    torch.set_num_threads(threads)
    data = torch_models.EXAMPLES[name]["data"]()
    rates = []
    for i in range(repeats + 1):
        r = torch_models.train(name, init, epochs, data)
        if i > 0:
            rates.append(r["rate"])
    infer = {int(rows): torch_models.infer(name, trained, int(rows), float(infer_seconds), data)
             for rows in infer_rows.split(",")}
    print(json.dumps(dict(rate=statistics.median(rates), rates=rates, metric=r["metric"],
                          threads=threads, torch=torch.__version__, infer=infer)))


# --- GEMM probe ----------------------------------------------------------------
GEMM_SHAPES = [(64, 784, 256), (256, 256, 256), (1024, 1024, 1024)]
GEMM_MODEL = """model gemm {{
  input x: f32[batch, {k}]
  label y: f32[batch, {n}]
  out = dense(x, {n}, bias = false)
  loss = mse(out, y)
  optimizer = sgd(lr = 0.01)
  train {{ batch = {m}, epochs = 1, seed = 1 }}
}}
"""


def gemm_probe(kilnc, work, threads):
    """The FMA peak at each thread count, then each shape's GFLOP/s for Kiln
    and torch.mm."""
    cc = os.environ.get("CC", "cc")
    peak_exe = os.path.join(work, "fma_peak")
    subprocess.run([cc, "-O2", "-march=native", "-pthread", os.path.join(HERE, "fma_peak.c"),
                    "-o", peak_exe], check=True)
    out = subprocess.run([peak_exe, str(max(threads))], check=True, capture_output=True,
                         text=True).stdout
    peak = {int(t): float(g) for t, g in re.findall(r"threads (\d+) gflops ([\d.]+)", out)}
    shapes = {}
    for m, k, n in GEMM_SHAPES:
        src = os.path.join(work, f"gemm_{m}_{k}_{n}.kiln")
        with open(src, "w") as f:
            f.write(GEMM_MODEL.format(m=m, k=k, n=n))
        lib, exe = src[:-5] + ".a", src[:-5]
        subprocess.run([kilnc, src, "--emit=lib", "-o", lib], check=True)
        subprocess.run([cc, "-O2", "-I" + os.path.join(kilnref.ROOT, "runtime", "include"),
                        "-DMODEL=kiln_model_gemm", os.path.join(HERE, "gemm_probe.c"), lib,
                        "-lz", "-lm", "-lpthread", "-o", exe], check=True)
        row = {}
        for t in threads:
            probe = subprocess.run([exe, str(t)], check=True, capture_output=True, text=True).stdout
            kiln = float(re.search(r"gflops ([\d.]+)", probe)[1])
            torch_gf = run_worker(t, "--torch-gemm", m, k, n)["gflops"]
            row[t] = dict(kiln=kiln, torch=torch_gf, peak=peak.get(t))
        shapes[f"{m}x{k}x{n}"] = row
    return dict(peak=peak, shapes=shapes)


def blas_in_use():
    try:
        return os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    except OSError:
        return "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("examples", nargs="*", help=f"some of {', '.join(EXAMPLES)} (default: all)")
    p.add_argument("--kilnc", default=os.path.join(kilnref.ROOT, "build", "bin", "kilnc"))
    p.add_argument("--repeats", type=int, default=3, help="timed runs per configuration")
    p.add_argument("--threads", default="1,2", help="thread counts to measure")
    p.add_argument("--fashion-epochs", type=int, default=3,
                   help="fashion_mlp's epochs (sustained speed, not only the first epoch)")
    p.add_argument("--infer-rows", default="1,256", help="rows per predict call to time")
    p.add_argument("--infer-seconds", type=float, default=1.0)
    p.add_argument("--skip-gemm", action="store_true", help="leave out the GEMM probe")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    infer_rows = [int(r) for r in args.infer_rows.split(",")]
    for name in args.examples:
        if name not in EXAMPLES:
            p.error(f"unknown example '{name}' (one of {', '.join(EXAMPLES)})")
    blas = blas_in_use()
    print(f"BLAS: {blas}; {os.cpu_count()} CPUs; median of {args.repeats} runs after a warm-up")
    if "openblas" not in blas:
        print("warning: PyTorch is not on OpenBLAS; install libopenblas0-pthread", file=sys.stderr)
    cols = "".join(f" {'kiln ' + str(t) + 't':>10}" for t in threads)
    cols += "".join(f" {'torch ' + str(t) + 't':>10}" for t in threads)
    print(f"{'model':20}{cols} {'1t vs 1t':>9} {'best/best':>9} {'compile':>8}  "
          "test metric kiln / torch")
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name in args.examples or EXAMPLES:
            kiln, init, trained = run_kiln(args.kilnc, name, work,
                                           args.fashion_epochs if name == "fashion_mlp" else None,
                                           args.repeats, threads, infer_rows, args.infer_seconds)
            epochs = kiln["runs"][threads[0]]["epochs"]
            torch_runs = {t: run_torch(name, t, epochs, init, args.repeats, trained, infer_rows,
                                       args.infer_seconds) for t in threads}
            best = max(r["rate"] for r in torch_runs.values())
            kiln_best = max(r["rate"] for r in kiln["runs"].values())
            one = torch_runs.get(1, {}).get("rate")
            kiln_one = kiln["runs"].get(1, {}).get("rate")
            results[name] = dict(epochs=epochs, kiln=kiln, torch=torch_runs,
                                 ratio_1t=kiln_one / one if one else None,
                                 ratio_best=kiln_best / best)
            rates = "".join(f" {kiln['runs'][t]['rate']:10.0f}" for t in threads)
            rates += "".join(f" {torch_runs[t]['rate']:10.0f}" for t in threads)
            ratio1 = f"{kiln_one / one:8.2f}x" if one else f"{'-':>9}"
            print(f"{name:20}{rates} {ratio1} {kiln_best / best:8.2f}x "
                  f"{kiln['compile_s']:7.2f}s  "
                  f"{kiln['runs'][threads[0]]['metric']:.4f} / {torch_runs[threads[0]]['metric']:.4f}",
                  flush=True)
        print_inference(results, infer_rows)
        gemm = None if args.skip_gemm else gemm_probe(args.kilnc, work, threads)
        if gemm:
            print_gemm(gemm, threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(blas=blas, repeats=args.repeats, results=results, gemm=gemm), f, indent=1)


def best_infer(runs, rows):
    """Each side's best thread count for `rows`: lowest median call."""
    return min((r["infer"][rows] for r in runs), key=lambda i: i["median_us"])


def print_inference(results, infer_rows):
    if not results:
        return
    print("\ninference (median predict call, each side's best thread count; trained weights)")
    head = "".join(f" {'kiln ' + str(r):>12} {'torch ' + str(r):>12} {'ratio':>7}" for r in infer_rows)
    print(f"{'model':20}{head}")
    for name, res in results.items():
        cells = ""
        for r in infer_rows:
            k = best_infer(res["kiln"]["runs"].values(), r)
            t = best_infer(res["torch"].values(), r)
            unit = (lambda i: f"{i['median_us']:10.1f}us") if r == 1 else \
                (lambda i: f"{i['rows_per_sec'] / 1e3:10.1f}k/s")
            cells += f" {unit(k):>12} {unit(t):>12} {t['median_us'] / k['median_us']:6.1f}x"
        print(f"{name:20}{cells}", flush=True)
    print("(rows 1: latency; more rows: rows/s; ratio: PyTorch's time over Kiln's)")


def print_gemm(gemm, threads):
    print("\nGEMM probe: GFLOP/s (fraction of the measured FMA peak)")
    print("FMA peak: " + ", ".join(f"{t} thread(s) {g:.1f}" for t, g in gemm["peak"].items()))
    head = "".join(f" {'kiln ' + str(t) + 't':>14} {'torch ' + str(t) + 't':>14}" for t in threads)
    print(f"{'m x k x n':20}{head}")
    for shape, row in gemm["shapes"].items():
        cells = ""
        for t in threads:
            peak = row[t]["peak"] or float("nan")
            cells += "".join(f" {row[t][side]:7.1f} ({row[t][side] / peak:4.0%})"
                             for side in ("kiln", "torch"))
        print(f"{shape:20}{cells}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        torch_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]),
                     sys.argv[7], sys.argv[8], sys.argv[9])
    elif len(sys.argv) > 1 and sys.argv[1] == "--torch-gemm":
        import torch
        import torch_models
        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
        print(json.dumps(dict(gflops=torch_models.matmul(*map(int, sys.argv[2:5])))))
    else:
        main()
