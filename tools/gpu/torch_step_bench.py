#!/usr/bin/env python3
"""PyTorch's ms per decode step on the GPU for the shapes of tools/gpu/mkmodels.py: the peer baseline.

  python3 tools/gpu/torch_step_bench.py --json OUT.json [--shapes tiny,m350] [--batches 1,4,16,64,256]
      [--pasts 128,512] [--dtypes float32,bfloat16] [--budget-s 240]

Hugging Face transformers LlamaForCausalLM with random weights (seed 0) and the same shapes. Per
(shape, dtype, batch, past): a prompt of `past` random tokens; generate() with the static cache
(cache_implementation="static", which compiles the decode step) twice as warm-up, then
ms per step = (time to generate 64 new tokens - time to generate 1) / 63, so the prefill cancels out.
One "dynamic" (eager, DynamicCache) row per shape at batch 1 and 64, past 128, for reference.
The most telling rows run first (past 128 at batches 1 and 64); no new configuration starts after
--budget-s seconds, and the skipped ones are listed. Writes a JSON list of rows
{shape, dtype, cache, batch, past, ms_per_step} (ms_per_step null with "error" when a run failed, with
"skipped": true when the budget ran out before it).
"""
import argparse
import json
import sys
import time

SHAPES = {
    "tiny": dict(vocab_size=3079, hidden_size=256, num_hidden_layers=6, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=64, intermediate_size=688, tie_word_embeddings=True),
    "m350": dict(vocab_size=32000, hidden_size=1536, num_hidden_layers=12, num_attention_heads=12,
                 num_key_value_heads=4, head_dim=128, intermediate_size=4096, tie_word_embeddings=False),
}
DTYPES = ("float32", "bfloat16", "float16")
NEW = 64
WARMUPS = 2


def fail(msg):
    print(f"torch_step_bench: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def int_list(text, what):
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"--{what} wants integers separated by commas, got {text!r}")
    if not out or min(out) < 1:
        fail(f"--{what} wants positive integers, got {text!r}")
    return out


def name_list(text, allowed, what):
    out = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in out if x not in allowed]
    if bad or not out:
        fail(f"unknown {what} {bad or text!r}; choose from {list(allowed)}")
    return out


def plan(shapes, dtypes, batches, pasts):
    """(shape, dtype, cache, batch, past) in the order to run: past 128 at batches 1 and 64 first (static),
    then the dynamic reference rows, then everything else."""
    first, rest = [], []
    for past in pasts:
        for batch in batches:
            for shape in shapes:
                for dtype in dtypes:
                    key = (shape, dtype, "static", batch, past)
                    (first if past == 128 and batch in (1, 64) else rest).append(key)
    ref_dtype = "bfloat16" if "bfloat16" in dtypes else dtypes[0]
    dynamic = [(shape, ref_dtype, "dynamic", batch, 128) for shape in shapes for batch in (1, 64)]
    return first + dynamic + rest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="tiny,m350")
    ap.add_argument("--batches", default="1,4,16,64,256")
    ap.add_argument("--pasts", default="128,512")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--budget-s", type=float, default=240.0,
                    help="start no new configuration after this many seconds")
    ap.add_argument("--json", required=True, help="where to write the rows")
    a = ap.parse_args()
    shapes = name_list(a.shapes, SHAPES, "shape")
    dtypes = name_list(a.dtypes, DTYPES, "dtype")
    batches = int_list(a.batches, "batches")
    pasts = int_list(a.pasts, "pasts")
    try:
        import torch
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError as e:
        fail(f"needs torch and transformers: {e}")
    if not torch.cuda.is_available():
        fail("no CUDA device")
    # every (batch, cache length) is a new compiled graph: let dynamo keep them all rather than fall back
    for knob in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit",
                 "accumulated_recompile_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, max(getattr(torch._dynamo.config, knob), 512))
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.cuda.get_device_name(0)}; {NEW} new tokens, budget {a.budget_s:.0f}s", flush=True)

    models = {}

    def model(shape, dtype):
        if (shape, dtype) not in models:
            torch.manual_seed(0)
            kw = dict(SHAPES[shape], max_position_embeddings=max(4096, max(pasts) + NEW + 8))
            m = LlamaForCausalLM(LlamaConfig(**kw)).to("cuda", getattr(torch, dtype)).eval()
            models[(shape, dtype)] = m
        return models[(shape, dtype)]

    def timed(m, ids, mask, new, gk):
        torch.cuda.synchronize()
        t = time.perf_counter()
        m.generate(ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new, **gk)
        torch.cuda.synchronize()
        return time.perf_counter() - t

    rows, skipped = [], []
    start = time.perf_counter()
    for shape, dtype, cache, batch, past in plan(shapes, dtypes, batches, pasts):
        key = dict(shape=shape, dtype=dtype, cache=cache, batch=batch, past=past)
        if time.perf_counter() - start > a.budget_s:
            skipped.append(key)
            continue
        t0 = time.perf_counter()
        row = dict(key, ms_per_step=None)
        try:
            m = model(shape, dtype)
            g = torch.Generator(device="cuda").manual_seed(1)
            ids = torch.randint(5, SHAPES[shape]["vocab_size"], (batch, past), device="cuda", generator=g)
            mask = torch.ones_like(ids)
            gk = dict(do_sample=False, pad_token_id=0, eos_token_id=None)
            if cache == "static":
                gk["cache_implementation"] = "static"
            with torch.no_grad():
                for _ in range(WARMUPS):
                    timed(m, ids, mask, NEW, gk)
                timed(m, ids, mask, 1, gk)  # the 1-token run reuses the larger static cache; warm it too
                t1 = min(timed(m, ids, mask, 1, gk) for _ in range(2))
                tn = min(timed(m, ids, mask, NEW, gk) for _ in range(2))
            row["ms_per_step"] = round((tn - t1) / (NEW - 1) * 1e3, 4)
        except Exception as e:  # one failed configuration (e.g. out of memory) does not stop the others
            row["error"] = f"{type(e).__name__}: {str(e)[:200]}"
            torch.cuda.empty_cache()
        rows.append(row)
        ms = "failed " + row["error"] if row["ms_per_step"] is None else f"{row['ms_per_step']:8.3f} ms/step"
        print(f"{shape:5s} {dtype:8s} {cache:7s} batch {batch:4d} past {past:5d}: {ms}"
              f"  ({time.perf_counter() - t0:.0f}s)", flush=True)

    with open(a.json, "w", encoding="utf-8") as f:
        json.dump(rows + [dict(k, ms_per_step=None, skipped=True) for k in skipped], f, indent=1)
        f.write("\n")
    print(f"\nms per decode step ({a.json}):", flush=True)
    print(f"{'shape':5s} {'dtype':8s} {'cache':7s} {'past':>5s} " + " ".join(f"{'b' + str(b):>8s}" for b in batches))
    lines = {}
    for r in rows:
        lines.setdefault((r["shape"], r["dtype"], r["cache"], r["past"]), {})[r["batch"]] = r["ms_per_step"]
    for (shape, dtype, cache, past), by_batch in sorted(lines.items()):
        cells = []
        for b in batches:
            if b not in by_batch:
                cell = "-"
            elif by_batch[b] is None:
                cell = "fail"
            else:
                cell = "%.3f" % by_batch[b]
            cells.append(cell.rjust(8))
        print(f"{shape:5s} {dtype:8s} {cache:7s} {past:5d} " + " ".join(cells))
    if skipped:
        print(f"skipped after the {a.budget_s:.0f}s budget: "
              + ", ".join(f"{k['shape']}/{k['dtype']}/{k['cache']}/b{k['batch']}/p{k['past']}" for k in skipped),
              flush=True)
    print(f"torch_step_bench: {len(rows)} rows in {time.perf_counter() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
