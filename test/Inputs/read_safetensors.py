"""Lists the tensors of a safetensors file with numpy only (no safetensors package),
then the number of subnormal F32 values in it."""
import json
import struct
import sys

import numpy as np

raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
subnormal = 0
for name, t in header.items():
    if name == "__metadata__":
        continue
    a, b = t["data_offsets"]
    dtype = {"F32": np.float32, "F64": np.float64}[t["dtype"]]
    arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtype).reshape(t["shape"])
    assert np.isfinite(arr).all(), name
    print(name, t["dtype"], list(arr.shape))
    if dtype == np.float32:
        subnormal += int(((arr != 0) & (np.abs(arr) < np.finfo(np.float32).tiny)).sum())
print("subnormal values:", subnormal)
