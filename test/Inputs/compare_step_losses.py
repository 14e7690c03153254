"""compare_step_losses.py A B RTOL: the per-step loss lines (--log-every) of
two --metrics files name the same epochs and steps in the same order, and
their losses agree within RTOL relative; prints the count and worst ratio."""
import json
import sys

a, b, rtol = sys.argv[1], sys.argv[2], float(sys.argv[3])


def steps(path):
    return [json.loads(l) for l in open(path) if '"step"' in l]


sa, sb = steps(a), steps(b)
keys = lambda s: [(x["epoch"], x["step"]) for x in s]
if not sa or keys(sa) != keys(sb):
    sys.exit(f"the step lines differ: {len(sa)} in {a}, {len(sb)} in {b}")
worst = max(abs(x["loss"] - y["loss"]) / max(abs(x["loss"]), 1e-30) for x, y in zip(sa, sb))
print(f"{len(sa)} steps, worst relative difference {'within' if worst <= rtol else 'ABOVE'} {rtol}")
sys.exit(0 if worst <= rtol else 1)
