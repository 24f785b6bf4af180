#!/usr/bin/env python3
"""Conversion test: tiny randomly initialised Llama and Qwen2 checkpoints
(Hugging Face transformers) -> export_onnx.py -> ONNX Runtime logits must match
the transformers model (max |diff| <= 1e-3) for a padded batched prefill and for
decode steps on top of the ONNX past.  Fails loudly (exit 1).

  python3 training/test_convert_hf.py [--keep DIR]
"""
import argparse
import importlib.util
import inspect
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_onnx as X  # noqa: E402
from check_onnx import OrtModel, parity_suite, torch_run  # noqa: E402

TOL = 1e-3


def make_config(kind):
    from transformers import LlamaConfig, Qwen2Config
    cls = LlamaConfig if kind == "llama" else Qwen2Config
    theta = 50000.0 if kind == "llama" else 1000000.0
    kw = dict(vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
              tie_word_embeddings=(kind == "qwen2"), bos_token_id=1, eos_token_id=2, pad_token_id=0)
    if "rope_parameters" in inspect.signature(cls.__init__).parameters:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": theta}
    else:
        kw["rope_theta"] = theta
    cfg = cls(**kw)
    assert X.hf_rope_theta(cfg) == theta, X.hf_rope_theta(cfg)
    return cfg


def make_model(kind, path):
    from transformers import AutoModelForCausalLM
    torch.manual_seed(0 if kind == "llama" else 1)
    cfg = make_config(kind)
    try:
        hf = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    except TypeError:
        hf = AutoModelForCausalLM.from_config(cfg)
    with torch.no_grad():
        for n, p in hf.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.08 * torch.randn_like(p))
    hf.eval()
    hf.save_pretrained(path)
    return hf


def hf_logits(hf, ids, am, pos):
    with torch.no_grad():
        return hf(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(am),
                  position_ids=torch.as_tensor(pos), use_cache=False).logits.float().numpy()


def check_kind(kind, work):
    fails = []
    src, out = os.path.join(work, f"hf-{kind}"), os.path.join(work, f"onnx-{kind}")
    hf = make_model(kind, src)
    mine, hf2 = X.convert_hf(src, out)
    cfg = json.load(open(os.path.join(out, "config.json")))
    print(f"[{kind}] config: layers={cfg['num_hidden_layers']} heads={cfg['num_attention_heads']}/"
          f"{cfg['num_key_value_heads']} rope_theta={cfg['rope_theta']} tied={cfg['tie_word_embeddings']} "
          f"model_type={cfg['model_type']}")
    om = OrtModel(out)
    rng = np.random.default_rng(3)
    S = 9
    ids = rng.integers(3, 512, size=(2, S))
    am = np.ones((2, S), np.int64)
    am[1, :4] = 0
    ids[1, :4] = 0
    pos = np.stack([np.arange(S), np.concatenate([np.zeros(4, np.int64), np.arange(S - 4)])])

    def cmp(name, a, b):
        d = float(np.abs(a - b).max())
        print(f"  [{kind}] {name}: max |diff| = {d:.2e} (|logit| max {float(np.abs(b).max()):.2f})")
        if not d <= TOL:
            fails.append(f"{kind}: {name} {d:.3e}")

    lo, po = om.run(ids, am, pos, om.empty_past(2))
    lh = hf_logits(hf2, ids, am, pos)
    cmp("prefill row 0 vs transformers", lo[0], lh[0])
    cmp("prefill padded row (valid part) vs transformers", lo[1, 4:], lh[1, 4:])
    lm, _ = torch_run(mine, ids, am, pos, om.empty_past(2))
    cmp("prefill vs converted PyTorch module", lo[0], lm[0])
    # two decode steps on top of the ONNX past vs transformers on the full sequences
    past, cur_ids, cur_am, cur_pos = po, ids, am, pos
    for step in range(2):
        nid = rng.integers(3, 512, size=(2, 1))
        npos = cur_pos[:, -1:] + 1
        cur_ids = np.concatenate([cur_ids, nid], 1)
        cur_am = np.concatenate([cur_am, np.ones((2, 1), np.int64)], 1)
        cur_pos = np.concatenate([cur_pos, npos], 1)
        ls, past = om.run(nid, cur_am, npos, past)
        full = hf_logits(hf2, cur_ids, cur_am, cur_pos)
        cmp(f"decode step {step + 1} with past vs transformers (batch 2, padded row)", ls[:, 0], full[:, -1])
    fails += parity_suite(lambda *x: torch_run(mine, *x), om, 512, TOL, pad_id=0)
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", help="keep the converted folders here")
    a = ap.parse_args()
    missing = [m for m in ("transformers", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"SKIPPED: {', '.join(missing)} not installed: conversion parity NOT checked")
        sys.exit(3)
    work = a.keep or tempfile.mkdtemp()
    os.makedirs(work, exist_ok=True)
    fails = []
    for kind in ("llama", "qwen2"):
        fails += check_kind(kind, work)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    if fails:
        print("CONVERSION PARITY FAILED:\n  " + "\n  ".join(fails))
        print(f"0 passed, {len(fails)} failed")
        sys.exit(1)
    print("CONVERSION PARITY OK")
    print("2 passed, 0 failed")


if __name__ == "__main__":
    main()
