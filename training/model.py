"""Llama-style decoder (RoPE, RMSNorm, SwiGLU, grouped-query attention).

Parameter names follow Hugging Face Llama / Qwen2 (`model.embed_tokens`,
`model.layers.{i}.self_attn.q_proj`, ..., `lm_head`) so that a Hugging Face
checkpoint's state dict loads directly (see export_onnx.py).

Three entry points share the weights:
  forward_masked(ids, pos, mask)        training: flat sequence + 4-D visibility mask
  forward_past(ids, attn_mask, pos, past) the ONNX contract (exported)
  step_buffer(...)                       evaluation: one token per row into a flat KV buffer
"""
import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e9  # finite "minus infinity": fully masked rows stay finite (no NaN)


@dataclass
class ModelConfig:
    vocab_size: int = 3079
    hidden_size: int = 256
    num_hidden_layers: int = 6
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    intermediate_size: int = 688
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = True
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.variance_epsilon = eps

    def forward(self, x):
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * h.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Rotary(nn.Module):
    def __init__(self, head_dim, theta):
        super().__init__()
        inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, pos):
        # pos [B, S] int64 -> cos, sin [B, 1, S, D]
        freqs = pos.float()[..., None] * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[:, None], emb.sin()[:, None]


def apply_rope(x, cos, sin):
    return x * cos.to(x.dtype) + rotate_half(x) * sin.to(x.dtype)


def _repeat_kv(x, n_rep):
    if n_rep == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


def attend(q, k, v, allowed, use_sdpa):
    """q [B,H,S,D]; k, v [B,KV,T,D]; allowed bool broadcastable to [B,H,S,T]."""
    n_rep = q.shape[1] // k.shape[1]
    k = _repeat_kv(k, n_rep)
    v = _repeat_kv(v, n_rep)
    if use_sdpa and hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    if q.dtype == torch.float16:
        # fp16 (the float16 ONNX export): products in fp16, the -1e9 mask and the softmax in fp32, so a
        # row with every key masked stays finite; the cache is never upcast as a whole
        scores = torch.matmul(q, k.transpose(-1, -2)).float() / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(~allowed, NEG)
        probs = torch.softmax(scores, dim=-1)
        return torch.matmul(probs.to(v.dtype), v)
    scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, NEG)
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs, v.float()).to(q.dtype)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.h, self.kv, self.d = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, self.h * self.d, bias=c.qkv_bias)
        self.k_proj = nn.Linear(c.hidden_size, self.kv * self.d, bias=c.qkv_bias)
        self.v_proj = nn.Linear(c.hidden_size, self.kv * self.d, bias=c.qkv_bias)
        self.o_proj = nn.Linear(self.h * self.d, c.hidden_size, bias=c.o_bias)

    def qkv(self, x, cos, sin):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv, self.d).transpose(1, 2)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def out(self, o):
        b, h, s, d = o.shape
        return self.o_proj(o.transpose(1, 2).reshape(b, s, h * d))


class MLP(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=c.mlp_bias)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=c.mlp_bias)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=c.mlp_bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class Backbone(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class PastaLM(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        self.model = Backbone(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.rotary = Rotary(c.head_dim, c.rope_theta)
        self.use_sdpa = True

    def init_weights(self, std=0.02):
        n = self.config.num_hidden_layers
        for name, p in self.named_parameters():
            if p.dim() == 2:
                s = std / math.sqrt(2 * n) if name.endswith(("o_proj.weight", "down_proj.weight")) else std
                nn.init.normal_(p, 0.0, s)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # -- training ------------------------------------------------------------
    def forward_masked(self, ids, pos, allowed):
        """ids, pos [B,T]; allowed bool [B,1,T,T] (True = may attend)."""
        x = self.model.embed_tokens(ids)
        cos, sin = self.rotary(pos)
        for layer in self.model.layers:
            a = layer.self_attn
            q, k, v = a.qkv(layer.input_layernorm(x), cos, sin)
            x = x + a.out(attend(q, k, v, allowed, self.use_sdpa))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.lm_head(self.model.norm(x))

    # -- ONNX contract -------------------------------------------------------
    def forward_past(self, input_ids, attention_mask, position_ids, past):
        """past: list of (key, value) [B,KV,P,D] (keys post-RoPE). Query i of the
        new tokens sees key j of past+new iff attention_mask[b,j]==1 and j <= P+i."""
        ones_t = torch.ones_like(attention_mask[0])
        j = torch.cumsum(ones_t, 0) - 1                    # [T]
        ones_s = torch.ones_like(input_ids[0])
        i = torch.cumsum(ones_s, 0) - 1                    # [S]
        offset = j[-1] - i[-1]                             # = past length
        causal = j[None, :] <= (i + offset)[:, None]       # [S,T]
        allowed = causal[None, None] & (attention_mask[:, None, None, :] == 1)
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.rotary(position_ids)
        presents = []
        for layer, (pk, pv) in zip(self.model.layers, past):
            a = layer.self_attn
            q, k, v = a.qkv(layer.input_layernorm(x), cos, sin)
            k = torch.cat([pk, k], dim=2)
            v = torch.cat([pv, v], dim=2)
            presents.append((k, v))
            x = x + a.out(attend(q, k, v, allowed, False))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.lm_head(self.model.norm(x)), presents

    # -- evaluation ----------------------------------------------------------
    def new_buffer(self, batch, length, device, dtype=torch.float32):
        c = self.config
        shape = (batch, c.num_key_value_heads, length, c.head_dim)
        return [(torch.zeros(shape, device=device, dtype=dtype), torch.zeros(shape, device=device, dtype=dtype))
                for _ in range(c.num_hidden_layers)]

    def step_buffer(self, ids, pos, buf, write_idx, allowed):
        """ids, pos [B]; buf from new_buffer; write_idx [B]; allowed bool [B,L]
        (must include write_idx). Writes the new keys/values, returns logits [B,V]."""
        b = ids.shape[0]
        rows = torch.arange(b, device=ids.device)
        x = self.model.embed_tokens(ids[:, None])
        cos, sin = self.rotary(pos[:, None])
        am = allowed[:, None, None, :]
        for layer, (kb, vb) in zip(self.model.layers, buf):
            a = layer.self_attn
            q, k, v = a.qkv(layer.input_layernorm(x), cos, sin)
            kb[rows, :, write_idx] = k[:, :, 0].to(kb.dtype)
            vb[rows, :, write_idx] = v[:, :, 0].to(vb.dtype)
            x = x + a.out(attend(q, kb.to(q.dtype), vb.to(q.dtype), am, self.use_sdpa))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.lm_head(self.model.norm(x))[:, 0]


def visibility_mask(seg, span, mlim, jf):
    """Per-token view numbers -> bool mask [B,1,T,T] (see pasta_views.py).
    seg: example id within a packed row (-1 for padding)."""
    t = seg.shape[1]
    idx = torch.arange(t, device=seg.device)
    sj = span[:, None, :]
    same = seg[:, :, None] == seg[:, None, :]
    main_ok = (sj == 0) & (idx[None, None, :] <= mlim[:, :, None])
    fork_ok = (sj >= 1) & (sj <= jf[:, :, None])
    own = (sj == span[:, :, None]) & (span[:, :, None] > 0) & (idx[None, None, :] <= idx[None, :, None])
    m = (same & (main_ok | fork_ok | own)) | torch.eye(t, dtype=torch.bool, device=seg.device)[None]
    return m[:, None]


def save_checkpoint(path, model, extra=None):
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    torch.save({"config": model.config.to_dict(), "state_dict": sd, "extra": extra or {}}, path)


def load_checkpoint(path, device="cpu"):
    ck = torch.load(path, map_location=device)
    cfg = ModelConfig(**ck["config"])
    m = PastaLM(cfg)
    m.load_state_dict(ck["state_dict"])
    return m.to(device), ck.get("extra", {})
