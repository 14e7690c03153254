"""PyTorch parity for the CSV examples: same split, initial weights and batch order.

parity.py KILNC WORKDIR: the test metrics of Kiln and PyTorch must agree to 0.1%.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import compare  # noqa: E402

kilnc, work = sys.argv[1], sys.argv[2]
ok = True
for model, epochs in [("logistic_regression", 30), ("linear_regression", 100)]:
    _, kiln_metric = compare.run_kiln(kilnc, model, work, epochs)
    _, torch_metric = compare.torch_csv(model, epochs)
    close = abs(kiln_metric - torch_metric) <= 1e-3 * abs(torch_metric)
    ok &= close
    print(f"{model}: kiln {kiln_metric:.6f} torch {torch_metric:.6f} {'match' if close else 'DIFFER'}")
sys.exit(0 if ok else 1)
