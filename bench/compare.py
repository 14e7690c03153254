#!/usr/bin/python3
"""Kiln against PyTorch, like for like, on every example.

For each example, Kiln compiles the model, saves its initial weights, and
trains; PyTorch (bench/torch_models.py) trains the same architecture from
those weights on the same data in the same batch order, so both do the same
arithmetic. Training samples/s is total samples over total training-loop
seconds for both sides. Each configuration runs once to warm up, then
--repeats times; the median is reported. Both run at each of --threads:
Kiln with `train --threads N`; PyTorch in a fresh process per thread count
with OpenBLAS, OpenMP and torch all limited to it (OPENBLAS_NUM_THREADS must be set before torch
loads OpenBLAS: torch.set_num_threads alone does not limit it), and OpenMP
waiting passively when there are several.

  /usr/bin/python3 bench/compare.py [--repeats 3] [--threads 1,2] [--json out.json] [EXAMPLE...]
"""
import argparse
import json
import os
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


def run_kiln(kilnc, name, work, epochs, repeats, threads):
    """Trains at each thread count, with the model's own epoch count unless
    `epochs` is given."""
    exe = os.path.join(work, name)
    start = time.perf_counter()
    subprocess.run([kilnc, os.path.join(kilnref.ROOT, "examples", name + ".kiln"), "-o", exe],
                   check=True)
    compile_s = time.perf_counter() - start
    init = os.path.join(work, name + ".init.safetensors")
    subprocess.run([exe, "train", "--epochs", "0", "--checkpoint", init], check=True,
                   stdout=subprocess.DEVNULL)
    flags = ["--epochs", str(epochs)] if epochs else []
    runs = {}
    for t in threads:
        rates, last = [], None
        for i in range(repeats + 1):
            metrics = os.path.join(work, f"{name}.{t}.{i}.jsonl")
            subprocess.run([exe, "train", *flags, "--threads", str(t), "--metrics", metrics,
                            "--checkpoint", os.path.join(work, name + ".safetensors")], check=True,
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rate, n, last = kiln_rate(metrics)
            if i > 0:  # the first run warms up
                rates.append(rate)
        runs[t] = dict(rate=statistics.median(rates), rates=rates, epochs=n,
                       metric=last.get("test_accuracy", last.get("test_mse")))
    return dict(runs=runs, compile_s=compile_s), init


# --- PyTorch (in a worker process per thread count) -------------------------
def run_torch(name, threads, epochs, init, repeats):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker", name,
                        str(threads), str(epochs), init, str(repeats)],
                       check=True, capture_output=True, text=True, env=thread_env(threads))
    return json.loads(r.stdout.strip().splitlines()[-1])


def torch_worker(name, threads, epochs, init, repeats):
    import torch
    import torch_models
    torch.set_num_threads(threads)
    data = torch_models.EXAMPLES[name]["data"]()
    rates = []
    for i in range(repeats + 1):
        r = torch_models.train(name, init, epochs, data)
        if i > 0:
            rates.append(r["rate"])
    print(json.dumps(dict(rate=statistics.median(rates), rates=rates, metric=r["metric"],
                          threads=threads, torch=torch.__version__)))


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
    p.add_argument("--fashion-epochs", type=int, default=1)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
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
            kiln, init = run_kiln(args.kilnc, name, work,
                                  args.fashion_epochs if name == "fashion_mlp" else None,
                                  args.repeats, threads)
            epochs = kiln["runs"][threads[0]]["epochs"]
            torch_runs = {t: run_torch(name, t, epochs, init, args.repeats) for t in threads}
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
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(blas=blas, repeats=args.repeats, results=results), f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        torch_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    else:
        main()
