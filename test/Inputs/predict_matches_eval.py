"""predict --input on raw rows gives what eval computes for the same rows.

predict_matches_eval.py LABELLED RAW EVAL: LABELLED is `predict` over the test
data ("i: value label y" lines), RAW is `predict --input` over the same rows'
raw features ("i: value"), EVAL is `eval` ("test_mse X (N samples)"). Every
prediction must print the same (6 significant digits), and the MSE of RAW
against the labels must be eval's within 1e-4 relative (eval's is computed
at full precision).
"""
import sys

def rows(path):
    out = []
    for line in open(path):
        parts = line.split()
        out.append((float(parts[1]), float(parts[3]) if len(parts) > 2 else None))
    return out

labelled, raw = rows(sys.argv[1]), rows(sys.argv[2])
metric, value, n = open(sys.argv[3]).read().split()[:3]
n = int(n.lstrip("("))
same = len(labelled) == len(raw) == n and all(a[0] == b[0] for a, b in zip(labelled, raw))
mse = sum((p - y) ** 2 for (p, _), (_, y) in zip(raw, labelled)) / len(raw)
close = abs(mse - float(value)) <= 1e-4 * float(value)
print(f"{len(raw)} rows: predictions {'identical' if same else 'DIFFER'}; "
      f"mse of raw-row predictions {mse:.4f}, eval {metric} {float(value):.4f}: "
      f"{'match' if close else 'DIFFER'}")
sys.exit(0 if same and close else 1)
