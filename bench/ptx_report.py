"""Registers, spills and stack of every GPU kernel, from ptxas -v.

  ptx_report.py [--arch sm_90] [--kilnc PATH] [--ptxas PATH] MODEL.kiln|FILE.ptx ...

Compiles each model with `kilnc --target=cuda --emit=ptx` (or reads PTX),
assembles it with `ptxas -v`, and prints one line per kernel: registers,
spill stores and loads (bytes), stack frame (bytes); then per model the
kernel count, the most registers and the total spill bytes. Exits 1 if
ptxas fails. No GPU needed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def kernels(ptxas, arch, ptx):
    r = subprocess.run([ptxas, "-v", "-arch=" + arch, ptx, "-o", os.devnull],
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"ptxas failed on {ptx}:\n{r.stderr}")
    out, name = {}, None
    for line in r.stderr.splitlines():
        if m := re.search(r"Compiling entry function '([^']+)'", line):
            name = m.group(1)
            out[name] = {"registers": 0, "spill_stores": 0, "spill_loads": 0, "stack": 0}
        elif name and (m := re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)):
            out[name].update(stack=int(m.group(1)), spill_stores=int(m.group(2)), spill_loads=int(m.group(3)))
        elif name and (m := re.search(r"Used (\d+) registers", line)):
            out[name]["registers"] = int(m.group(1))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("inputs", nargs="+")
    p.add_argument("--arch", default="sm_90")
    p.add_argument("--kilnc", default="kilnc")
    p.add_argument("--ptxas", default=os.environ.get("PTXAS", "/usr/local/cuda/bin/ptxas"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for src in a.inputs:
            ptx = src
            if not src.endswith(".ptx"):
                ptx = os.path.join(tmp, os.path.basename(src) + ".ptx")
                subprocess.run([a.kilnc, src, "--target=cuda", "--emit=ptx", "--gpu-chip=" + a.arch,
                                "-o", ptx], check=True)
            table = kernels(a.ptxas, a.arch, ptx)
            for name, k in sorted(table.items()):
                print(f"{name}: {k['registers']} registers, {k['spill_stores']} B spill stores, "
                      f"{k['spill_loads']} B spill loads, {k['stack']} B stack")
            spills = sum(k["spill_stores"] + k["spill_loads"] for k in table.values())
            most = max((k["registers"] for k in table.values()), default=0)
            print(f"{os.path.basename(src)}: {len(table)} kernels, at most {most} registers, "
                  f"{spills} B of spills")


if __name__ == "__main__":
    main()
