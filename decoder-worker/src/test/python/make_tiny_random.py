"""Writes the random-weights test model of decoder-worker's tests: a 2-layer Llama-style decoder (RoPE, RMSNorm,
SwiGLU, grouped-query attention) exported to ONNX with the model contract's names (docs/model-contract.md),
with a byte-level tokenizer (256 byte tokens plus the PASTA-LANG tag pieces and chat specials as added tokens).

    python3 decoder-worker/src/test/python/make_tiny_random.py decoder-worker/src/test/resources/models/tiny-random

Needs PyTorch and onnx (Debian: python3-torch python3-onnx). Deterministic (seed 1234).
"""
import json
import math
import os
import sys

import torch
from torch import nn

SPECIALS = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>"]
TAGS = ['<promise topic="', '" tokens="', '"/>', '<async topic="', '">', "</async>", "<sync/>"]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def tokenizer_json():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    added = []
    for i, s in enumerate(SPECIALS + TAGS):
        tid = 256 + i
        vocab[s] = tid
        added.append({"id": tid, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": s in SPECIALS})
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": []},
    }


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Tiny(nn.Module):
    def __init__(self, vocab, hidden, layers, heads, kv_heads, head_dim, ffn, theta, eps):
        super().__init__()
        self.layers, self.heads, self.kv_heads, self.head_dim, self.theta = layers, heads, kv_heads, head_dim, theta
        self.embed = nn.Embedding(vocab, hidden)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            b = nn.Module()
            b.n1, b.n2 = RMSNorm(hidden, eps), RMSNorm(hidden, eps)
            b.q = nn.Linear(hidden, heads * head_dim, bias=False)
            b.k = nn.Linear(hidden, kv_heads * head_dim, bias=False)
            b.v = nn.Linear(hidden, kv_heads * head_dim, bias=False)
            b.o = nn.Linear(heads * head_dim, hidden, bias=False)
            b.w1 = nn.Linear(hidden, ffn, bias=False)
            b.w3 = nn.Linear(hidden, ffn, bias=False)
            b.w2 = nn.Linear(ffn, hidden, bias=False)
            self.blocks.append(b)
        self.norm = RMSNorm(hidden, eps)
        self.lm_head = nn.Linear(hidden, vocab, bias=False)

    def rope(self, x, cos, sin):
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        return x * cos + torch.cat([-x2, x1], dim=-1) * sin

    def forward(self, input_ids, attention_mask, position_ids, *past):
        bsz, seq = input_ids.shape
        past_len = past[0].shape[2]
        x = self.embed(input_ids)
        inv = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        ang = position_ids.to(torch.float32).unsqueeze(-1) * inv
        ang = torch.cat([ang, ang], dim=-1).unsqueeze(1)
        cos, sin = ang.cos(), ang.sin()
        kpos = torch.arange(past_len + seq).unsqueeze(0)
        qpos = (torch.arange(seq) + past_len).unsqueeze(1)
        allowed = (kpos <= qpos).unsqueeze(0).unsqueeze(0) & (attention_mask.unsqueeze(1).unsqueeze(1) == 1)
        bias = torch.where(allowed, torch.zeros(()), torch.full((), -1e9))
        presents = []
        rep = self.heads // self.kv_heads
        for i, b in enumerate(self.blocks):
            h = b.n1(x)
            q = b.q(h).view(bsz, seq, self.heads, self.head_dim).transpose(1, 2)
            k = b.k(h).view(bsz, seq, self.kv_heads, self.head_dim).transpose(1, 2)
            v = b.v(h).view(bsz, seq, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            kk = k.unsqueeze(2).expand(-1, -1, rep, -1, -1).reshape(bsz, self.heads, -1, self.head_dim)
            vv = v.unsqueeze(2).expand(-1, -1, rep, -1, -1).reshape(bsz, self.heads, -1, self.head_dim)
            att = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(self.head_dim) + bias, dim=-1)
            o = (att @ vv).transpose(1, 2).reshape(bsz, seq, self.heads * self.head_dim)
            x = x + b.o(o)
            h = b.n2(x)
            x = x + b.w2(nn.functional.silu(b.w1(h)) * b.w3(h))
        return (self.lm_head(self.norm(x)), *presents)


def main(out):
    torch.manual_seed(1234)
    os.makedirs(out, exist_ok=True)
    tok = tokenizer_json()
    vocab = len(tok["model"]["vocab"])
    cfg = dict(model_type="pasta-llama", num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               head_dim=16, hidden_size=64, intermediate_size=128, vocab_size=vocab, max_position_embeddings=2048,
               rope_theta=10000.0, rms_norm_eps=1e-5, bos_token_id=None, eos_token_id=257, pad_token_id=256,
               chat_template="<|user|>{prompt}<|end|><|assistant|>", pasta={"default_reserved_tokens": 48})
    model = Tiny(vocab, 64, 2, 4, 2, 16, 128, 10000.0, 1e-5).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.3)
    names_in = ["input_ids", "attention_mask", "position_ids"]
    names_out = ["logits"]
    past = []
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
           "position_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    for i in range(2):
        for kind in ("key", "value"):
            names_in.append(f"past_key_values.{i}.{kind}")
            names_out.append(f"present.{i}.{kind}")
            dyn[f"past_key_values.{i}.{kind}"] = {0: "batch", 2: "past"}
            dyn[f"present.{i}.{kind}"] = {0: "batch", 2: "total"}
            past.append(torch.zeros(2, 2, 3, 16))
    ids = torch.tensor([[5, 6], [7, 8]])
    args = (ids, torch.ones(2, 5, dtype=torch.long), torch.tensor([[3, 4], [3, 4]]), *past)
    torch.onnx.export(model, args, os.path.join(out, "model.onnx"), input_names=names_in, output_names=names_out,
                      dynamic_axes=dyn, opset_version=17, do_constant_folding=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "decoder-worker/src/test/resources/models/tiny-random")
