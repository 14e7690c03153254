"""Lists the tensors of a safetensors file (numpy only, through bench/kilnref.py),
checks they are finite, then prints the number of subnormal F32 values."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import kilnref  # noqa: E402

tensors, _ = kilnref.load_safetensors(sys.argv[1], dtypes=("F32", "F64"))
subnormal = 0
for name, arr in tensors.items():
    assert np.isfinite(arr).all(), name
    print(name, "F32" if arr.dtype == np.float32 else "F64", list(arr.shape))
    if arr.dtype == np.float32:
        subnormal += int(((arr != 0) & (np.abs(arr) < np.finfo(np.float32).tiny)).sum())
print("subnormal values:", subnormal)
