#!/usr/bin/env python3
"""Saves safetensors models again with torch.save, for `npm run bench -- --torch`.

    python3 torch-save.py IN.safetensors OUT.pt [IN OUT ...]

Each output is the state dict torch.load would give for the input (same names,
order, dtypes, shapes and values), written by torch.save's default zip format.
The safetensors file is read by hand (an 8-byte header length, a JSON header,
the raw little-endian bytes), so no safetensors package is needed.
"""
import json
import struct
import sys
from collections import OrderedDict

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = OrderedDict()
    for name, t in sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]):
        a, b = t["data_offsets"]
        dtype = DTYPES[t["dtype"]]
        raw = bytearray(body[a:b])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = flat.reshape(t["shape"]).clone()
    return out


def main(args):
    if len(args) % 2 != 0 or not args:
        sys.exit("usage: torch-save.py IN.safetensors OUT.pt [IN OUT ...]")
    for src, dst in zip(args[::2], args[1::2]):
        torch.save(load(src), dst)


if __name__ == "__main__":
    main(sys.argv[1:])
