#!/usr/bin/env python3
"""Export a model to the pasta-serve ONNX contract (docs/model-contract.md).

Inputs  input_ids [b,s] int64, attention_mask [b,past+s] int64, position_ids [b,s] int64,
        past_key_values.{i}.key / .value [b,kv_heads,past,head_dim] float32 (float16 with --dtype float16)
Outputs logits [b,s,vocab] float32 (always), present.{i}.key / .value [b,kv_heads,past+s,head_dim]
        in the cache's dtype
Keys are cached after RoPE.  Query i sees key j iff attention_mask[b,j]==1 and j <= past+i.
--dtype float16 stores the weights and the cache in fp16 (config.json "torch_dtype": "float16");
--parity writes parity.bin, PyTorch's fp32 logits for a fixed prefill (docs/model-contract.md).

--cache static writes the static-cache variant for GPUs (docs/model-contract.md, "Static-cache variant"):
Inputs  input_ids [b,s] int64, position_ids [b,s] int64, seqlens_k [b] int32 (past_len + s - 1 per row),
        total_sequence_length [] int32 (max over rows of past_len + s),
        past_key_values.{i}.key / .value [b,kv_heads,max_cache,head_dim] in the cache's dtype
Outputs logits [b,s,vocab] float32, present.{i}.key / .value [b,kv_heads,max_cache,head_dim]: the same
        buffer as past when the caller binds it so (written in place, columns past_len .. past_len+s-1)
Attention is ONNX Runtime's com.microsoft GroupQueryAttention (RoPE applied before it, as above);
its CUDA kernel takes float16, its CPU kernel float32 and float16.

Our checkpoint:
  python3 training/export_onnx.py --checkpoint training/work/ckpt/model.pt \
      --tokenizer models/pasta-tiny/tokenizer.json --out models/pasta-tiny [--dtype float16] [--parity] \
      [--cache static]
A Hugging Face Llama / Mistral / Qwen2 checkpoint (a local folder, e.g. a PASTA fine-tune):
  python3 training/export_onnx.py --hf path/to/checkpoint --out models/my-model \
      --chat-template $'<|im_start|>user\\n{prompt}<|im_end|>\\n<|im_start|>assistant\\n'
"""
import argparse
import copy
import inspect
import json
import math
import os
import shutil
import struct
import sys
import tempfile

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pasta_views as V  # noqa: E402
from model import NEG, ModelConfig, PastaLM, load_checkpoint  # noqa: E402

OPSET = 17
DATA_FILE = "model.onnx.data"
PARITY_FILE = "parity.bin"
PARITY_MAGIC = 0x59545250  # the bytes "PRTY" read as a little-endian int32
PARITY_VERSION = 1
DTYPES = {"float32": torch.float32, "float16": torch.float16}
ONNX_FLOAT, ONNX_FLOAT16 = 1, 10  # onnx.TensorProto.FLOAT, FLOAT16
ONNX_INT32, ONNX_INT64 = 6, 7  # onnx.TensorProto.INT32, INT64
CACHES = ("dynamic", "static")
MS_DOMAIN = "com.microsoft"  # ONNX Runtime's contrib operators


class OnnxWrapper(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m
        self.n = m.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        pairs = [(past[2 * i], past[2 * i + 1]) for i in range(self.n)]
        logits, presents = self.m.forward_past(input_ids, attention_mask, position_ids, pairs)
        if logits.dtype != torch.float32:
            logits = logits.float()  # logits are float32 whatever the weights' dtype
        return (logits,) + tuple(t for kv in presents for t in kv)


def io_names(n_layers):
    past = [f"past_key_values.{i}.{w}" for i in range(n_layers) for w in ("key", "value")]
    present = [f"present.{i}.{w}" for i in range(n_layers) for w in ("key", "value")]
    return ["input_ids", "attention_mask", "position_ids"] + past, ["logits"] + present


def example_inputs(c: ModelConfig, batch=2, seq=3, past=4, device="cpu", kv_dtype=torch.float32):
    ids = torch.randint(0, c.vocab_size, (batch, seq), device=device)
    am = torch.ones(batch, past + seq, dtype=torch.long, device=device)
    pos = torch.arange(past, past + seq, device=device)[None].repeat(batch, 1)
    kv = [torch.randn(batch, c.num_key_value_heads, past, c.head_dim, device=device, dtype=kv_dtype)
          for _ in range(2 * c.num_hidden_layers)]
    return (ids, am, pos, *kv)


# ---------------------------------------------------------------------------
# Static-cache variant: ONNX Runtime's GroupQueryAttention over per-row cache slots
# ---------------------------------------------------------------------------

def gqa_reference(q, k, v, past_k, past_v, seqlens_k, num_heads, kv_num_heads, scale):
    """What com.microsoft::GroupQueryAttention computes with do_rotary=0 and a shared past/present buffer,
    in PyTorch. q [b,s,num_heads*hd]; k, v [b,s,kv_num_heads*hd]; past_k, past_v [b,kv_num_heads,max_cache,hd]
    (row r's slot holds its cache in columns 0 .. past_len_r-1); seqlens_k [b] int32 = past_len_r + s - 1.
    Writes the new keys and values into columns past_len_r .. past_len_r+s-1 of past_k / past_v IN PLACE
    and returns the attention output [b,s,num_heads*hd]; new token i of row r attends columns
    0 .. past_len_r+i of its slot. Scores and softmax are fp32 (the −1e9 mask needs it), as in model.attend."""
    b, s, _ = q.shape
    m, hd = past_k.shape[2], past_k.shape[3]
    past_len = seqlens_k.long() + 1 - s                                    # [b]
    cols = past_len[:, None] + torch.arange(s, device=q.device)            # [b,s]
    rows = torch.arange(b, device=q.device)[:, None].expand(b, s)
    # advanced indices around a slice: the indexed view is [b,s,kv_num_heads,hd], as k and v are laid out
    past_k[rows, :, cols] = k.reshape(b, s, kv_num_heads, hd).to(past_k.dtype)
    past_v[rows, :, cols] = v.reshape(b, s, kv_num_heads, hd).to(past_v.dtype)
    n_rep = num_heads // kv_num_heads
    qh = q.reshape(b, s, num_heads, hd).transpose(1, 2)                    # [b,H,s,hd]
    kh = past_k[:, :, None].expand(b, kv_num_heads, n_rep, m, hd).reshape(b, num_heads, m, hd)
    vh = past_v[:, :, None].expand(b, kv_num_heads, n_rep, m, hd).reshape(b, num_heads, m, hd)
    allowed = torch.arange(m, device=q.device)[None, None, :] <= cols[:, :, None]   # [b,s,m]
    if qh.dtype == torch.float16:
        scores = torch.matmul(qh, kh.transpose(-1, -2)).float() * scale
    else:
        scores = torch.matmul(qh.float(), kh.float().transpose(-1, -2)) * scale
    probs = torch.softmax(scores.masked_fill(~allowed[:, None], NEG), dim=-1)
    o = torch.matmul(probs.to(vh.dtype), vh).to(q.dtype)                  # [b,H,s,hd]
    return o.transpose(1, 2).reshape(b, s, num_heads * hd)


class GroupQueryAttention(torch.autograd.Function):
    """Traced as one com.microsoft::GroupQueryAttention node (inputs query, key, value, past_key, past_value,
    seqlens_k, total_sequence_length; outputs output, present_key, present_value); run in PyTorch as
    gqa_reference, writing the new columns into past_k / past_v in place (present is past)."""

    @staticmethod
    def forward(ctx, q, k, v, past_k, past_v, seqlens_k, total_seq_len, num_heads, kv_num_heads, scale):
        s, m = q.shape[1], past_k.shape[2]
        past_len = seqlens_k.long() + 1 - s
        if past_len.min() < 0 or past_len.max() + s > m or int(total_seq_len) != int(past_len.max()) + s:
            raise ValueError(f"seqlens_k {seqlens_k.tolist()}, total_sequence_length {int(total_seq_len)} for "
                             f"s {s} and {m} cache columns: want seqlens_k = past_len + s - 1 >= s - 1, "
                             f"past_len + s <= {m}, total_sequence_length = max(past_len) + s")
        if torch.jit.is_tracing():
            # traced, the op is the ONNX node (symbolic below); writing the traced inputs in place makes the
            # TorchScript exporter of newer PyTorch fail an internal check, so the trace writes copies
            past_k, past_v = past_k.clone(), past_v.clone()
        else:
            ctx.mark_dirty(past_k, past_v)
        out = gqa_reference(q, k, v, past_k, past_v, seqlens_k, num_heads, kv_num_heads, scale)
        return out, past_k, past_v

    @staticmethod
    def symbolic(g, q, k, v, past_k, past_v, seqlens_k, total_seq_len, num_heads, kv_num_heads, scale):
        # the exporter cannot infer a contrib op's shapes; set_static_shapes writes them after the export
        return g.op(f"{MS_DOMAIN}::GroupQueryAttention", q, k, v, past_k, past_v, seqlens_k, total_seq_len,
                    num_heads_i=num_heads, kv_num_heads_i=kv_num_heads, do_rotary_i=0, scale_f=scale,
                    outputs=3)


def forward_static(m: PastaLM, input_ids, position_ids, seqlens_k, total_seq_len, past):
    """The static-cache contract on PastaLM's weights. past: list of (key, value) [b,kv,max_cache,hd], keys
    post-RoPE, row r's cache in columns 0 .. past_len_r-1 with past_len_r = seqlens_k[r] + 1 - s.
    Returns logits [b,s,vocab] and the same (key, value) buffers, the new columns written in place."""
    c = m.config
    b, s = input_ids.shape
    scale = 1.0 / math.sqrt(c.head_dim)  # model.attend's scale
    x = m.model.embed_tokens(input_ids)
    cos, sin = m.rotary(position_ids)
    presents = []
    for layer, (pk, pv) in zip(m.model.layers, past):
        a = layer.self_attn
        q, k, v = a.qkv(layer.input_layernorm(x), cos, sin)               # [b,heads,s,hd], RoPE applied
        q = q.transpose(1, 2).reshape(b, s, a.h * a.d)
        k = k.transpose(1, 2).reshape(b, s, a.kv * a.d)
        v = v.transpose(1, 2).reshape(b, s, a.kv * a.d)
        o, pk, pv = GroupQueryAttention.apply(q, k, v, pk, pv, seqlens_k, total_seq_len, a.h, a.kv, scale)
        presents.append((pk, pv))
        x = x + a.o_proj(o)
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return m.lm_head(m.model.norm(x)), presents


class StaticOnnxWrapper(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m
        self.n = m.config.num_hidden_layers

    def forward(self, input_ids, position_ids, seqlens_k, total_sequence_length, *past):
        pairs = [(past[2 * i], past[2 * i + 1]) for i in range(self.n)]
        logits, presents = forward_static(self.m, input_ids, position_ids, seqlens_k, total_sequence_length,
                                          pairs)
        if logits.dtype != torch.float32:
            logits = logits.float()
        return (logits,) + tuple(t for kv in presents for t in kv)


def static_io_names(n_layers):
    past = [f"past_key_values.{i}.{w}" for i in range(n_layers) for w in ("key", "value")]
    present = [f"present.{i}.{w}" for i in range(n_layers) for w in ("key", "value")]
    return ["input_ids", "position_ids", "seqlens_k", "total_sequence_length"] + past, ["logits"] + present


def static_example_inputs(c: ModelConfig, past_lens=(4, 2), seq=3, max_cache=8, device="cpu",
                          kv_dtype=torch.float32):
    """Rows with different past lengths in slots of max_cache columns (what the trace runs on)."""
    b = len(past_lens)
    ids = torch.randint(0, c.vocab_size, (b, seq), device=device)
    lens = torch.tensor(past_lens, dtype=torch.long, device=device)
    pos = lens[:, None] + torch.arange(seq, device=device)
    seqlens_k = (lens + seq - 1).to(torch.int32)
    total = (lens.max() + seq).to(torch.int32).reshape(())
    kv = [torch.randn(b, c.num_key_value_heads, max_cache, c.head_dim, device=device, dtype=kv_dtype)
          for _ in range(2 * c.num_hidden_layers)]
    return (ids, pos, seqlens_k, total, *kv)


def write_parity(model: PastaLM, path, batch=2, seq=8, seed=1234):
    """A prefill (past 0, mask all ones, positions 0..seq-1) through the fp32 model on the CPU, written as
    docs/model-contract.md §3 describes: header, input_ids, position_ids, logits, all little-endian."""
    c = model.config
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, c.vocab_size, (batch, seq), generator=g, dtype=torch.long)
    pos = torch.arange(seq, dtype=torch.long)[None].repeat(batch, 1)
    am = torch.ones(batch, seq, dtype=torch.long)
    empty = [torch.zeros(batch, c.num_key_value_heads, 0, c.head_dim) for _ in range(2 * c.num_hidden_layers)]
    with torch.no_grad():
        logits = OnnxWrapper(model).eval()(ids, am, pos, *empty)[0]
    logits = logits.float().contiguous()
    if tuple(logits.shape) != (batch, seq, c.vocab_size):
        raise RuntimeError(f"parity: logits shape {tuple(logits.shape)}, expected {(batch, seq, c.vocab_size)}")
    if not torch.isfinite(logits).all():
        raise RuntimeError("parity: PyTorch's fp32 logits are not finite")
    with open(path, "wb") as f:
        f.write(struct.pack("<5i", PARITY_MAGIC, PARITY_VERSION, batch, seq, c.vocab_size))
        for fmt, t in (("q", ids), ("q", pos), ("f", logits)):
            vals = t.flatten().tolist()
            f.write(struct.pack(f"<{len(vals)}{fmt}", *vals))
    expected = 20 + 16 * batch * seq + 4 * batch * seq * c.vocab_size
    if os.path.getsize(path) != expected:
        raise RuntimeError(f"parity: {path} has {os.path.getsize(path)} bytes, expected {expected}")
    print(f"wrote {path} (batch {batch}, seq {seq}, vocab {c.vocab_size}; fp32 PyTorch logits, "
          f"|max| {logits.abs().max().item():.3g})", flush=True)


def half_copy(model: PastaLM):
    """An fp16 copy of the fp32 model for export, on CUDA when there is one (some fp16 ops have no CPU
    kernel). RoPE's inverse frequencies stay fp32: rounded to fp16 they would shift far positions' angles."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        print("warning: no CUDA device; tracing the float16 model on the CPU", flush=True)
    inv_freq = model.rotary.inv_freq.detach().clone().float()
    m = copy.deepcopy(model).half()
    m.rotary.inv_freq = inv_freq
    m = m.to(device).eval()
    m.use_sdpa = False
    return m, device


def check_io_types(m, ins, outs, dtype, cache="dynamic"):
    """The graph's declared element types: int64 ids and mask (int32 seqlens_k and total_sequence_length in
    the static variant), the cache in dtype, logits float32."""
    kv = ONNX_FLOAT16 if dtype == "float16" else ONNX_FLOAT
    if cache == "static":
        want = {"input_ids": ONNX_INT64, "position_ids": ONNX_INT64, "seqlens_k": ONNX_INT32,
                "total_sequence_length": ONNX_INT32}
    else:
        want = {n: ONNX_INT64 for n in ins[:3]}
    n_ids = len(want)
    want.update({n: kv for n in ins[n_ids:] + outs[1:]})
    want[outs[0]] = ONNX_FLOAT
    got = {v.name: v.type.tensor_type.elem_type for v in list(m.graph.input) + list(m.graph.output)}
    bad = [f"{n}: {got.get(n)} (want {t})" for n, t in want.items() if got.get(n) != t]
    if bad:
        raise RuntimeError("exported graph has unexpected element types (1 float, 10 float16, 6 int32, 7 int64): "
                           + ", ".join(bad[:6]))


def export_onnx(model: PastaLM, out_dir, dtype="float32", parity=False, cache="dynamic"):
    """Writes out_dir/model.onnx + out_dir/model.onnx.data with weights and cache in dtype ("float32" or
    "float16"; logits are float32 either way) and, with parity, out_dir/parity.bin from the fp32 model.
    cache "static" writes the static-cache variant (GroupQueryAttention over per-row slots) instead of the
    contract's concat(past, new) graph; parity.bin is the same file for both."""
    import onnx
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: supported are {sorted(DTYPES)}")
    if cache not in CACHES:
        raise ValueError(f"cache {cache!r}: supported are {list(CACHES)}")
    if cache == "static":
        return export_static(model, out_dir, dtype=dtype, parity=parity)
    model = model.float().eval().cpu()
    model.use_sdpa = False
    c = model.config
    ins, outs = io_names(c.num_hidden_layers)
    os.makedirs(out_dir, exist_ok=True)
    parity_path = os.path.join(out_dir, PARITY_FILE)
    if parity:
        write_parity(model, parity_path)
    elif os.path.exists(parity_path):
        os.remove(parity_path)  # it would describe an earlier export
    if dtype == "float16":
        model, device = half_copy(model)
        w = OnnxWrapper(model).eval()
        args = example_inputs(c, device=device, kv_dtype=torch.float16)
    else:
        w = OnnxWrapper(model).eval()
        args = example_inputs(c)
    tmp = tempfile.mkdtemp()
    raw = os.path.join(tmp, "raw.onnx")
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for n in ins[3:]:
        dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
    for n in outs[1:]:
        dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
    kw = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    method = "torchscript"
    try:
        with torch.no_grad():
            torch.onnx.export(w, args, raw, input_names=ins, output_names=outs, dynamic_axes=dyn,
                              opset_version=OPSET, do_constant_folding=True, **kw)
    except Exception as e:  # the TorchScript exporter may be missing in newer PyTorch
        print(f"TorchScript-based export failed ({type(e).__name__}: {e}); trying the dynamo exporter",
              flush=True)
        method = "dynamo"
        D = torch.export.Dim.DYNAMIC
        shapes = ({0: D, 1: D}, {0: D, 1: D}, {0: D, 1: D}) + tuple({0: D, 2: D} for _ in ins[3:])
        with torch.no_grad():
            prog = torch.onnx.export(w, args, dynamic_shapes=shapes, input_names=ins, output_names=outs,
                                     opset_version=max(OPSET, 18), dynamo=True)
        prog.save(raw)
    m = onnx.load(raw)
    for f in ("model.onnx", DATA_FILE):
        p = os.path.join(out_dir, f)
        if os.path.exists(p):
            os.remove(p)
    onnx.save_model(m, os.path.join(out_dir, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=DATA_FILE, size_threshold=1024)
    shutil.rmtree(tmp, ignore_errors=True)
    onnx.checker.check_model(os.path.join(out_dir, "model.onnx"))
    got_in = [i.name for i in m.graph.input]
    got_out = [o.name for o in m.graph.output]
    assert got_in == ins, got_in
    assert got_out == outs, got_out
    check_io_types(m, ins, outs, dtype)
    print(f"exported {out_dir}/model.onnx (+ {DATA_FILE}) in {dtype} with the {method} exporter, opset "
          f"{m.opset_import[0].version}", flush=True)
    return method


def prepare_out_dir(model: PastaLM, out_dir, parity):
    os.makedirs(out_dir, exist_ok=True)
    parity_path = os.path.join(out_dir, PARITY_FILE)
    if parity:
        write_parity(model, parity_path)
    elif os.path.exists(parity_path):
        os.remove(parity_path)  # it would describe an earlier export
    for f in ("model.onnx", DATA_FILE):
        p = os.path.join(out_dir, f)
        if os.path.exists(p):
            os.remove(p)


def export_static(model: PastaLM, out_dir, dtype="float32", parity=False):
    """The static-cache variant (docs/model-contract.md): TorchScript-based export only, since the
    GroupQueryAttention node comes from GroupQueryAttention.symbolic."""
    import onnx
    model = model.float().eval().cpu()
    model.use_sdpa = False
    c = model.config
    if c.head_dim % 8:
        raise ValueError(f"head_dim {c.head_dim}: GroupQueryAttention needs a multiple of 8")
    ins, outs = static_io_names(c.num_hidden_layers)
    prepare_out_dir(model, out_dir, parity)
    if dtype == "float16":
        model, device = half_copy(model)
    else:
        device = torch.device("cpu")
    w = StaticOnnxWrapper(model).eval()
    args = static_example_inputs(c, device=device, kv_dtype=DTYPES[dtype])
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "seqlens_k": {0: "batch_size"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for n in ins[4:] + outs[1:]:
        dyn[n] = {0: "batch_size", 2: "max_cache_length"}
    kw = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    tmp = tempfile.mkdtemp()
    raw = os.path.join(tmp, "raw.onnx")
    try:
        with torch.no_grad():
            torch.onnx.export(w, args, raw, input_names=ins, output_names=outs, dynamic_axes=dyn,
                              opset_version=OPSET, do_constant_folding=True,
                              custom_opsets={MS_DOMAIN: 1}, **kw)
        m = onnx.load(raw)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    set_static_shapes(m, c)
    check_static_graph(m, ins, outs, c)
    onnx.save_model(m, os.path.join(out_dir, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=DATA_FILE, size_threshold=1024)
    onnx.checker.check_model(os.path.join(out_dir, "model.onnx"))
    check_io_types(m, ins, outs, dtype, cache="static")
    print(f"exported {out_dir}/model.onnx (+ {DATA_FILE}) in {dtype}, static cache, with the torchscript "
          f"exporter, opset {OPSET} + {MS_DOMAIN} 1", flush=True)
    return "torchscript"


def set_static_shapes(m, c: ModelConfig):
    """The shapes the exporter could not infer past GroupQueryAttention, written as the contract states
    them: logits [batch_size, sequence_length, vocab], present [batch_size, kvh, max_cache_length, hd],
    each attention output [batch_size, sequence_length, heads*hd]."""
    def put(v, dims):
        shape = v.type.tensor_type.shape
        del shape.dim[:]
        for d in dims:
            if isinstance(d, str):
                shape.dim.add().dim_param = d
            else:
                shape.dim.add().dim_value = d
    gqa_out = {n.output[0] for n in m.graph.node if n.op_type == "GroupQueryAttention"}
    for v in m.graph.output:
        if v.name == "logits":
            put(v, ["batch_size", "sequence_length", c.vocab_size])
        else:
            put(v, ["batch_size", c.num_key_value_heads, "max_cache_length", c.head_dim])
    for v in m.graph.value_info:
        if v.name in gqa_out:
            put(v, ["batch_size", "sequence_length", c.num_attention_heads * c.head_dim])


def check_static_graph(m, ins, outs, c: ModelConfig):
    """Names, one GroupQueryAttention per layer with the expected attributes, each present output straight
    from its node (so ONNX Runtime can share past's buffer), the com.microsoft opset imported."""
    got_in = [i.name for i in m.graph.input]
    got_out = [o.name for o in m.graph.output]
    if got_in != ins or got_out != outs:
        raise RuntimeError(f"static graph: inputs {got_in}, outputs {got_out}; expected {ins}, {outs}")
    gqa = [n for n in m.graph.node if n.op_type == "GroupQueryAttention" and n.domain == MS_DOMAIN]
    if len(gqa) != c.num_hidden_layers:
        raise RuntimeError(f"static graph: {len(gqa)} GroupQueryAttention nodes, expected {c.num_hidden_layers}")
    want = {"num_heads": c.num_attention_heads, "kv_num_heads": c.num_key_value_heads, "do_rotary": 0}
    for i, n in enumerate(gqa):
        attrs = {a.name: (a.i if a.type == 2 else a.f) for a in n.attribute}  # 2 INT, 1 FLOAT
        if any(attrs.get(k) != v for k, v in want.items()) or abs(attrs.get("scale", 0) - c.head_dim ** -0.5) > 1e-7:
            raise RuntimeError(f"static graph: GroupQueryAttention {i} has attributes {attrs}")
        if list(n.input[3:7]) != [f"past_key_values.{i}.key", f"past_key_values.{i}.value", "seqlens_k",
                                  "total_sequence_length"] or list(n.output[1:]) != [f"present.{i}.key",
                                                                                   f"present.{i}.value"]:
            raise RuntimeError(f"static graph: GroupQueryAttention {i} reads {list(n.input)}, "
                               f"writes {list(n.output)}")
    domains = {o.domain: o.version for o in m.opset_import}
    if domains.get(MS_DOMAIN) != 1 or domains.get("", domains.get("ai.onnx")) != OPSET:
        raise RuntimeError(f"static graph: opsets {domains}")


CONTRACT_KEYS = ("model_type", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
                 "hidden_size", "intermediate_size", "vocab_size", "max_position_embeddings", "rope_theta",
                 "rms_norm_eps", "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id",
                 "chat_template", "torch_dtype")


def contract_config(c: ModelConfig, eos, pad, bos, chat_template, model_type="pasta-llama",
                    trained_with_pasta=True, extra=None, torch_dtype="float32", cache="dynamic"):
    cfg = {
        "model_type": model_type,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads,
        "head_dim": c.head_dim,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "vocab_size": c.vocab_size,
        "max_position_embeddings": c.max_position_embeddings,
        "rope_theta": c.rope_theta,
        "rms_norm_eps": c.rms_norm_eps,
        "tie_word_embeddings": c.tie_word_embeddings,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": pad,
        "chat_template": chat_template,
        "torch_dtype": torch_dtype,
        "pasta": {
            "default_reserved_tokens": V.DEFAULT_RESERVED,
            "opener_tokens_hint": V.opener_text("{topic}"),
            "trained_with_pasta": trained_with_pasta,
            "max_fork_depth": 1,
        },
    }
    if cache != "dynamic":
        cfg["pasta"]["cache"] = cache  # absent means the contract's dynamic graph
    if extra:
        cfg.update(extra)
    return cfg


def write_config(out_dir, cfg):
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------------------
# Hugging Face Llama-family conversion
# ---------------------------------------------------------------------------

SUPPORTED = {"llama", "mistral", "qwen2"}


def hf_rope_theta(hfc):
    rp = getattr(hfc, "rope_parameters", None)
    if isinstance(rp, dict) and rp:
        if "rope_theta" not in rp and all(isinstance(v, dict) for v in rp.values()):
            rp = rp.get("full_attention") or next(iter(rp.values()))
        rtype = rp.get("rope_type", rp.get("type", "default"))
        theta = rp.get("rope_theta", getattr(hfc, "rope_theta", 10000.0))
    else:
        rs = getattr(hfc, "rope_scaling", None) or {}
        rtype = rs.get("rope_type", rs.get("type", "default"))
        theta = getattr(hfc, "rope_theta", 10000.0)
    if rtype not in (None, "default"):
        raise NotImplementedError(f"RoPE type {rtype!r} is not supported (only plain RoPE)")
    return float(theta)


def hf_model_config(hfc):
    mt = getattr(hfc, "model_type", "")
    if mt not in SUPPORTED:
        raise NotImplementedError(f"model_type {mt!r}: supported are {sorted(SUPPORTED)}")
    heads = hfc.num_attention_heads
    head_dim = getattr(hfc, "head_dim", None) or hfc.hidden_size // heads
    if mt == "qwen2":
        qkv_bias, o_bias = True, False
    else:
        qkv_bias = o_bias = bool(getattr(hfc, "attention_bias", False))
    return ModelConfig(
        vocab_size=hfc.vocab_size, hidden_size=hfc.hidden_size, num_hidden_layers=hfc.num_hidden_layers,
        num_attention_heads=heads, num_key_value_heads=getattr(hfc, "num_key_value_heads", None) or heads,
        head_dim=head_dim, intermediate_size=hfc.intermediate_size, rope_theta=hf_rope_theta(hfc),
        rms_norm_eps=float(hfc.rms_norm_eps),
        max_position_embeddings=int(getattr(hfc, "max_position_embeddings", 2048)),
        tie_word_embeddings=bool(getattr(hfc, "tie_word_embeddings", False)),
        qkv_bias=qkv_bias, o_bias=o_bias, mlp_bias=bool(getattr(hfc, "mlp_bias", False)))


def from_hf_model(hf):
    """Copy a transformers *ForCausalLM (Llama / Mistral / Qwen2) into PastaLM."""
    c = hf_model_config(hf.config)
    m = PastaLM(c)
    sd = {k: v.detach().float() for k, v in hf.state_dict().items() if "rotary_emb" not in k}
    if c.tie_word_embeddings:
        sd.setdefault("lm_head.weight", sd["model.embed_tokens.weight"])
    missing, unexpected = m.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not (c.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise ValueError(f"weight mismatch: missing {missing} unexpected {unexpected}")
    return m.eval()


def load_hf(path):
    from transformers import AutoModelForCausalLM
    try:
        hf = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except TypeError:
        hf = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
    return hf.eval()


def guess_chat_template(tok_json):
    if tok_json and os.path.exists(tok_json):
        txt = open(tok_json, encoding="utf-8").read()
        if "<|im_start|>" in txt:
            return "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
        if "<|start_header_id|>" in txt:
            return ("<|start_header_id|>user<|end_header_id|>\n\n{prompt}<|eot_id|>"
                    "<|start_header_id|>assistant<|end_header_id|>\n\n")
    return "{prompt}"


def convert_hf(path, out_dir, chat_template=None, trained_with_pasta=False, dtype="float32", parity=False,
               cache="dynamic"):
    hf = load_hf(path)
    m = from_hf_model(hf)
    method = export_onnx(m, out_dir, dtype=dtype, parity=parity, cache=cache)
    tj = os.path.join(path, "tokenizer.json")
    if os.path.exists(tj):
        shutil.copyfile(tj, os.path.join(out_dir, "tokenizer.json"))
    else:
        print("warning: no tokenizer.json in the checkpoint folder; add one to the model folder", flush=True)
    hc = hf.config
    eos = hc.eos_token_id
    extra = {"source_model_type": hc.model_type, "exported_with": method}
    if isinstance(eos, (list, tuple)):
        extra["eos_token_ids"] = list(eos)
        eos = eos[0]
    pad = hc.pad_token_id if getattr(hc, "pad_token_id", None) is not None else eos
    cfg = contract_config(m.config, eos, pad, getattr(hc, "bos_token_id", None),
                          chat_template or guess_chat_template(tj), model_type=f"pasta-{hc.model_type}",
                          trained_with_pasta=trained_with_pasta, extra=extra, torch_dtype=dtype, cache=cache)
    write_config(out_dir, cfg)
    return m, hf


def export_ours(ckpt, tok_path, out_dir, dtype="float32", parity=False, cache="dynamic"):
    m, extra = load_checkpoint(ckpt)
    method = export_onnx(m, out_dir, dtype=dtype, parity=parity, cache=cache)
    from pasta_tok import Tok
    tk = Tok(tok_path).tk  # Hugging Face tokenizers, or the pure-Python reader where it is not installed
    if os.path.abspath(tok_path) != os.path.abspath(os.path.join(out_dir, "tokenizer.json")):
        shutil.copyfile(tok_path, os.path.join(out_dir, "tokenizer.json"))
    cfg = contract_config(m.config, tk.token_to_id(V.SPECIAL_STRINGS["eos"]), tk.token_to_id(V.SPECIAL_STRINGS["pad"]),
                          None, V.CHAT_TEMPLATE, extra={"exported_with": method}, torch_dtype=dtype, cache=cache)
    write_config(out_dir, cfg)
    return m


def reexport(src_dir, out_dir, dtype="float32", parity=False, cache="dynamic"):
    """Exports the model of src_dir (read back from its graph) again; its tokenizer and held-out files come along."""
    from onnx_weights import load_from_onnx
    m, cfg = load_from_onnx(src_dir)
    method = export_onnx(m, out_dir, dtype=dtype, parity=parity, cache=cache)
    for f in ("tokenizer.json", "heldout-prompts.txt", "heldout-transcripts.txt"):
        if os.path.exists(os.path.join(src_dir, f)):
            shutil.copyfile(os.path.join(src_dir, f), os.path.join(out_dir, f))
    pasta = {k: v for k, v in cfg.get("pasta", {}).items() if k != "cache"}
    extra = {k: v for k, v in cfg.items() if k not in CONTRACT_KEYS and k != "pasta"}
    extra["exported_with"] = method
    out = contract_config(m.config, cfg["eos_token_id"], cfg["pad_token_id"], cfg.get("bos_token_id"),
                          cfg["chat_template"], model_type=cfg.get("model_type", "pasta-llama"),
                          trained_with_pasta=pasta.get("trained_with_pasta", True), extra=extra,
                          torch_dtype=dtype, cache=cache)
    out["pasta"].update(pasta)
    if cache != "dynamic":
        out["pasta"]["cache"] = cache
    write_config(out_dir, out)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="checkpoint written by training/train.py")
    src.add_argument("--hf", help="local Hugging Face checkpoint folder (Llama, Mistral or Qwen2 family)")
    src.add_argument("--onnx", help="a model directory exported by this script (float32, the contract's graph), "
                                    "to export again in another variant (training/onnx_weights.py)")
    ap.add_argument("--tokenizer", help="tokenizer.json (with --checkpoint)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--chat-template", help="plain template with a {prompt} placeholder (with --hf)")
    ap.add_argument("--pasta-trained", action="store_true", help="mark a converted model as PASTA-trained")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                    help="weights and KV cache (logits are float32 either way)")
    ap.add_argument("--parity", action="store_true",
                    help=f"also write {PARITY_FILE}: PyTorch's fp32 logits for a fixed prefill")
    ap.add_argument("--cache", choices=CACHES, default="dynamic",
                    help="dynamic: the contract's concat(past, new) graph; static: per-row cache slots written "
                         "in place by GroupQueryAttention (for GPUs: use it with --dtype float16)")
    a = ap.parse_args()
    if a.onnx:
        reexport(a.onnx, a.out, a.dtype, a.parity, a.cache)
    elif a.checkpoint:
        if not a.tokenizer:
            ap.error("--tokenizer is required with --checkpoint")
        export_ours(a.checkpoint, a.tokenizer, a.out, a.dtype, a.parity, a.cache)
    else:
        convert_hf(a.hf, a.out, a.chat_template, a.pasta_trained, a.dtype, a.parity, a.cache)
    print(f"wrote {a.out}/config.json", flush=True)


if __name__ == "__main__":
    main()
