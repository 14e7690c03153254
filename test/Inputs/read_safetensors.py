"""Lists the tensors of a safetensors file with numpy only (no safetensors package)."""
import json
import struct
import sys

import numpy as np

raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
for name, t in header.items():
    if name == "__metadata__":
        continue
    a, b = t["data_offsets"]
    arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(t["shape"])
    assert np.isfinite(arr).all(), name
    print(name, t["dtype"], list(arr.shape))
