#!/usr/bin/env python3
"""Stage 2 evaluation: greedy answers of several checkpoints on held-out prompts, side by side.

For each NAME=CHECKPOINT (e.g. stage1, stage2 at a few lam values, the sequential base model) it
reports the mean ideal speedup (interpreter critical path; 1.0 for a sequential answer) and the mean
of every quality.py check over the prompts where it applies, plus the mean quality score.
Engine-measured async/serial speedups come from the Java bench (see training/README.md).

  python3 training/stage2_eval.py --tokenizer models/pasta-tiny/tokenizer.json \\
      --test training/work/corpus/test.jsonl --out training/work/stage2_eval.json \\
      stage1=training/work/ckpt/model.pt base=training/work/base/model.pt \\
      lam0.1=training/work/stage2-0.1/model.pt lam0.5=training/work/stage2-0.5/model.pt
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import evaluate as E  # noqa: E402
import quality as Q  # noqa: E402
import stage2_score as C  # noqa: E402


def evaluate_model(model, tok, recs, device, pools=None, batch=256, max_len=1024, fork_budget=160,
                   main_budget=400):
    """{"ideal_speedup", "ideal_speedup_parallel", "quality", "checks": {name: mean}, "n"} of greedy answers."""
    trs = E.greedy_generate(model, tok, [r["prompt"] for r in recs], device, max_len=max_len,
                            fork_budget=fork_budget, main_budget=main_budget, batch=batch)
    sums, counts, q, sp, spp = {}, {}, 0.0, 0.0, []
    for rec, tr in zip(recs, trs):
        c = Q.checks(rec, C.answer_from_tracker(tok, tr), pools)
        q += Q.quality(c)
        s = C.speed(tr)["speedup"]
        sp += s
        if rec["parallel"]:
            spp.append(s)
        for k, v in c.items():
            if v is not None:
                sums[k] = sums.get(k, 0.0) + v
                counts[k] = counts.get(k, 0) + 1
    n = max(len(recs), 1)
    return {"n": len(recs), "ideal_speedup": sp / n, "ideal_speedup_parallel": sum(spp) / max(len(spp), 1),
            "quality": q / n, "checks": {k: sums[k] / counts[k] for k in sums}, "checked": counts}


def table(results):
    """Text table: one row per model, one column per metric."""
    keys = sorted({k for r in results.values() for k in r["checks"]})
    head = ["model", "speedup", "speedup_par", "quality"] + keys
    rows = [head] + [[name, f"{r['ideal_speedup']:.3f}", f"{r['ideal_speedup_parallel']:.3f}", f"{r['quality']:.3f}"]
                     + [f"{r['checks'][k]:.3f}" if k in r["checks"] else "-" for k in keys]
                     for name, r in results.items()]
    w = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w[i]) for i, c in enumerate(row)) for row in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="NAME=CHECKPOINT")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--sources", help="parsed sources folder for the facts check")
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default=None)
    a = ap.parse_args()
    import torch
    from model import load_checkpoint
    from pasta_tok import Tok
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    tok = Tok(a.tokenizer)
    if a.sources:
        corpus.use_sources(a.sources)
    pools = corpus.real() if a.sources else None
    with open(a.test, encoding="utf-8") as f:
        recs = [json.loads(l) for _, l in zip(range(a.limit), f)]
    results = {}
    for spec in a.models:
        name, path = spec.split("=", 1)
        model = load_checkpoint(path, dev)[0].eval()
        results[name] = evaluate_model(model, tok, recs, dev, pools, a.batch)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)
    print(table(results))


if __name__ == "__main__":
    main()
