#!/usr/bin/env python3
"""Random-weight models in the model contract (docs/model-contract.md), for timing and parity on a GPU host.

  python3 tools/gpu/mkmodels.py OUT [--shapes tiny,m350] [--dtypes float32,float16] [--caches dynamic,static]

Each model goes to OUT/<shape>-<fp32|fp16>/: model.onnx (+ model.onnx.data), config.json, parity.bin
(PyTorch's fp32 logits for a fixed prefill) and pasta-tiny's tokenizer.json. With --caches including
static, float16 models are also written as the static-cache variant to OUT/<shape>-fp16-static/ (ONNX
Runtime's CUDA GroupQueryAttention runs float16 only, so there is no fp32 static model). Weights are PyTorch's
default initialisation after torch.manual_seed(0), the same for both dtypes of a shape, so the two
parity.bin files of a shape are identical. Shapes:
  tiny  pasta-tiny's (training/model.py ModelConfig defaults; 5.1M parameters)
  m350  vocab 32000, hidden 1536, 12 layers, 12 heads, 4 KV heads x 128, intermediate 4096, untied (~400M)
m350 uses pasta-tiny's tokenizer (vocab 3079): the serving side maps only ids below vocab_size, so ids
3079 and up decode to nothing.
"""
import argparse
import json
import os
import shutil
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TRAINING = os.path.join(ROOT, "training")
TOKENIZER = os.path.join(ROOT, "models", "pasta-tiny", "tokenizer.json")

SHAPES = {
    "tiny": {},
    "m350": dict(vocab_size=32000, hidden_size=1536, num_hidden_layers=12, num_attention_heads=12,
                 num_key_value_heads=4, head_dim=128, intermediate_size=4096, tie_word_embeddings=False),
}
SUFFIX = {"float32": "fp32", "float16": "fp16"}
CACHE_SUFFIX = {"dynamic": "", "static": "-static"}


def fail(msg):
    print(f"mkmodels: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def token_ids(tok_path, names):
    """Ids of the named added tokens of a tokenizer.json, read as plain JSON."""
    with open(tok_path, encoding="utf-8") as f:
        added = {t["content"]: t["id"] for t in json.load(f).get("added_tokens", [])}
    missing = [n for n in names if n not in added]
    if missing:
        fail(f"{tok_path} lacks the added tokens {missing}")
    return [added[n] for n in names]


def parse_list(text, allowed, what):
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        fail(f"unknown {what} {bad or text!r}; choose from {sorted(allowed)}")
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="folder to write the model folders into")
    ap.add_argument("--shapes", default="tiny,m350")
    ap.add_argument("--dtypes", default="float32,float16")
    ap.add_argument("--caches", default="dynamic",
                    help="dynamic (the contract's graph) and/or static (float16 only, folder suffix -static)")
    a = ap.parse_args()
    shapes = parse_list(a.shapes, SHAPES, "shape")
    dtypes = parse_list(a.dtypes, SUFFIX, "dtype")
    caches = parse_list(a.caches, CACHE_SUFFIX, "cache")
    variants = [(dt, cache) for dt in dtypes for cache in caches if cache == "dynamic" or dt == "float16"]
    if not variants:
        fail(f"nothing to write: the static cache is written for float16 only (dtypes {dtypes})")
    for p in (TRAINING, TOKENIZER):
        if not os.path.exists(p):
            fail(f"{p} not found (the script expects to sit in tools/gpu/ of a pasta-serve checkout)")
    try:
        import torch
        import onnx  # noqa: F401  (export_onnx needs it; fail here, before any work)
    except ImportError as e:
        fail(f"needs torch and onnx: {e}")
    sys.path.insert(0, TRAINING)
    import export_onnx as X
    import pasta_views as V
    from model import ModelConfig, PastaLM

    eos, pad = token_ids(TOKENIZER, [V.SPECIAL_STRINGS["eos"], V.SPECIAL_STRINGS["pad"]])
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, CUDA "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}; "
          f"writing {shapes} x {[dt + CACHE_SUFFIX[cache] for dt, cache in variants]} to {a.out}", flush=True)
    os.makedirs(a.out, exist_ok=True)
    failed = []
    for name in shapes:
        c = ModelConfig(**SHAPES[name])
        torch.manual_seed(0)
        m = PastaLM(c).eval()
        n = m.num_parameters()
        for dtype, cache in variants:
            tag = f"{name}-{SUFFIX[dtype]}{CACHE_SUFFIX[cache]}"
            d = os.path.join(a.out, tag)
            t = time.time()
            print(f"{name} {dtype} {cache}: exporting to {d}", flush=True)
            try:
                method = X.export_onnx(m, d, dtype=dtype, parity=True, cache=cache)
                cfg = X.contract_config(c, eos, pad, None, V.CHAT_TEMPLATE, torch_dtype=dtype,
                                        extra={"exported_with": method}, cache=cache)
                X.write_config(d, cfg)
                shutil.copyfile(TOKENIZER, os.path.join(d, "tokenizer.json"))
            except Exception as e:
                import traceback
                traceback.print_exc()
                print(f"{tag}: FAILED {type(e).__name__}: {e}", flush=True)
                failed.append(tag)
                continue
            size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)) / 1e6
            print(f"{tag}: {n / 1e6:.1f}M params, L={c.num_hidden_layers} "
                  f"kvh={c.num_key_value_heads} hd={c.head_dim} vocab={c.vocab_size}, {dtype} {cache} cache, "
                  f"exported in {time.time() - t:.0f}s ({size:.0f} MB)", flush=True)
        del m
    if failed:
        fail(f"failed: {', '.join(failed)}")
    print("mkmodels: done", flush=True)


if __name__ == "__main__":
    main()
