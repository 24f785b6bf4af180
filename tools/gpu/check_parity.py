#!/usr/bin/env python3
"""Checks model directories' graphs against their parity.bin with ONNX Runtime's Python API.

  python3 tools/gpu/check_parity.py MODEL_DIR... [--provider cpu|cuda] [--tol T]

parity.bin (docs/model-contract.md §3) holds PyTorch's fp32 logits for a fixed prefill; this feeds the
same prefill (mask all ones, empty past in the dtype config.json's torch_dtype names; for a static-cache
export, config.json's pasta.cache "static", empty slots of S columns with seqlens_k S-1 and
total_sequence_length S) and reports the largest difference relative to the largest |logit|, and how often
the argmax agrees. The default
tolerance is 1e-4 for float32 graphs and 2e-2 for float16 ones. Exits 1 when a model is off or fails.
"""
import argparse
import json
import os
import struct
import sys

MAGIC, VERSION = 0x59545250, 1
TOL = {"float32": 1e-4, "float16": 2e-2}


def read_parity(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    magic, version, b, s, v = struct.unpack_from("<5i", data, 0)
    if magic != MAGIC or version != VERSION:
        raise ValueError(f"{path}: magic {magic:#x} version {version}, expected {MAGIC:#x} version {VERSION}")
    want = 20 + 16 * b * s + 4 * b * s * v
    if len(data) != want:
        raise ValueError(f"{path}: {len(data)} bytes, expected {want} for B={b} S={s} V={v}")
    off = 20
    ids = np.frombuffer(data, "<i8", b * s, off).reshape(b, s)
    off += 8 * b * s
    pos = np.frombuffer(data, "<i8", b * s, off).reshape(b, s)
    off += 8 * b * s
    logits = np.frombuffer(data, "<f4", b * s * v, off).reshape(b, s, v)
    return ids, pos, logits


def check(model_dir, provider, tol):
    import numpy as np
    import onnxruntime as ort
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    dtype = cfg.get("torch_dtype", "float32")
    ids, pos, want = read_parity(os.path.join(model_dir, "parity.bin"))
    b, s = ids.shape
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if provider == "cuda" else ["CPUExecutionProvider"]
    sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), providers=providers)
    static = cfg.get("pasta", {}).get("cache", "dynamic") == "static"
    if static:
        kv = np.zeros((b, cfg["num_key_value_heads"], s, cfg["head_dim"]), dtype=np.dtype(dtype))
        feeds = {"input_ids": ids, "position_ids": pos, "seqlens_k": np.full(b, s - 1, np.int32),
                 "total_sequence_length": np.array(s, np.int32)}
    else:
        kv = np.zeros((b, cfg["num_key_value_heads"], 0, cfg["head_dim"]), dtype=np.dtype(dtype))
        feeds = {"input_ids": ids, "attention_mask": np.ones((b, s), np.int64), "position_ids": pos}
    for i in range(cfg["num_hidden_layers"]):
        feeds[f"past_key_values.{i}.key"] = kv
        feeds[f"past_key_values.{i}.value"] = kv
    outs = sess.run(None, feeds)
    got = outs[0]
    if got.dtype != np.float32 or got.shape != want.shape:
        raise ValueError(f"logits {got.dtype} {got.shape}, expected float32 {want.shape}")
    if outs[1].dtype != np.dtype(dtype):
        raise ValueError(f"present.0.key is {outs[1].dtype}, config.json says {dtype}")
    err = float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1e-6)
    agree = float((got.argmax(-1) == want.argmax(-1)).mean())
    tol = TOL[dtype] if tol is None else tol
    ok = bool(np.isfinite(got).all()) and err <= tol
    print(f"{'ok  ' if ok else 'OFF '} {model_dir}: {dtype}{' static' if static else ''} on "
          f"{sess.get_providers()[0]}, max |diff| / max |logit| "
          f"= {err:.2e} (tolerance {tol:.0e}), argmax agrees {agree:.0%}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dirs", nargs="+")
    ap.add_argument("--provider", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--tol", type=float, help="override the relative tolerance")
    a = ap.parse_args()
    try:
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as e:
        print(f"check_parity: needs numpy and onnxruntime: {e}", file=sys.stderr)
        sys.exit(1)
    bad = 0
    for d in a.model_dirs:
        try:
            bad += not check(d, a.provider, a.tol)
        except Exception as e:
            print(f"FAIL {d}: {type(e).__name__}: {e}", flush=True)
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
