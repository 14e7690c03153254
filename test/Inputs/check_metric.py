"""Checks the last line of a --metrics JSON-lines file: check_metric.py FILE KEY OP VALUE."""
import json
import operator
import sys

path, key, op, bound = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
lines = [l for l in open(path) if l.strip()]
if not lines:
    sys.exit(f"{path}: no metrics written")
last = json.loads(lines[-1])
ok = {">=": operator.ge, "<=": operator.le}[op](last[key], bound)
print(f"{key} = {last[key]:.6f} (want {op} {bound}): {'ok' if ok else 'FAILED'}")
sys.exit(0 if ok else 1)
