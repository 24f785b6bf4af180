#!/usr/bin/env python3
"""PASTA stage 2: preference optimisation for decoding speed and answer quality together.

  sample   K answers per training prompt from the stage-1 checkpoint (temperature sampling through
           evaluate.py's interpreter)                                              stage2_sample.py
  score    ideal speedup (interpreter critical path) and quality (quality.py checks + likelihood of
           the assembled answer under the sequential base model, train.py --assembled)  stage2_score.py
  pairs    per prompt: best vs worst by (1 - lam) * quality + lam * (1 - 1/speedup)  stage2_score.py
  dpo      DPO against the frozen stage-1 model                                    stage2_dpo.py
Writes --out/model.pt (the stage-1 checkpoint format: export_onnx.py and evaluate.py read it unchanged),
--out/pairs.jsonl and --out/stage2_log.json; --extra-lams trains more lam values from the same samples
into --out/lam-X/ (for stage2_eval.py).

  python3 training/stage2.py --checkpoint training/work/ckpt/model.pt --base training/work/base/model.pt \\
      --tokenizer models/pasta-tiny/tokenizer.json --train training/work/corpus/train.jsonl \\
      --out training/work/stage2 --lam 0.3
"""
import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import stage2_dpo as D  # noqa: E402
import stage2_sample as S  # noqa: E402
import stage2_score as C  # noqa: E402


def pick_records(path, n, seed, skip=0):
    """n records of a JSONL file, a seeded random choice among its first 20 * n lines after `skip`."""
    with open(path, encoding="utf-8") as f:
        lines = [l for _, l in zip(range(skip + 20 * n), f)][skip:]
    rng = random.Random(seed)
    return [json.loads(l) for l in rng.sample(lines, min(n, len(lines)))]


def reference_tracker(tok, rec):
    """The interpreter's run over the record's own (corpus) answer, as if the model had decoded it."""
    import pasta_views as V
    p, ids, _ = tok.record_ids(rec)
    return V.build_example(ids, len(p), tok.tags, tok.decode, tok.opener_ids)


def run(a, log=print):
    """All of stage 2 with the parsed arguments: sample and score once, then pairs and DPO from the
    stage-1 weights for --lam (written to --out) and for each of --extra-lams (--out/lam-X).  Returns
    (summary of --lam as written to its log file, the (chosen, rejected) views it was trained on)."""
    import torch
    from model import load_checkpoint
    from pasta_tok import Tok
    torch.manual_seed(a.seed)
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    tok = Tok(a.tokenizer)
    if a.sources:
        corpus.use_sources(a.sources)
    pools = corpus.real() if a.sources else None
    ref, _ = load_checkpoint(a.checkpoint, dev)
    ref.eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    base = load_checkpoint(a.base, dev)[0].eval() if a.base else None
    recs = pick_records(a.train, a.prompts, a.seed)
    t0 = time.time()
    groups = S.sample_groups(ref, tok, recs, a.k, dev, a.temperature, a.seed, a.sample_batch, a.sample_seconds,
                             a.max_len, a.fork_budget, a.main_budget)
    t_sample = time.time() - t0
    if a.include_reference:
        groups = [(rec, trs + [reference_tracker(tok, rec)]) for rec, trs in groups]
    scores = C.score_groups(groups, tok, base, dev, a.lam, pools)
    log(f"sampled and scored {sum(len(t) for _, t in groups)} answers for {len(groups)} prompts "
        f"in {time.time() - t0:.1f}s (sampling {t_sample:.1f}s)")
    lams = [a.lam] + [float(x) for x in a.extra_lams.split(",") if x.strip()]
    first = None
    for lam in lams:
        out = a.out if first is None else os.path.join(a.out, f"lam-{lam:g}")
        res = optimise(a, lam, groups, scores, ref, dev, out, {"sample_seconds": t_sample}, log)
        first = first or res
    return first


def optimise(a, lam, groups, scores, ref, dev, out, info, log=print):
    """Pairs at this lam, DPO from the stage-1 weights against the frozen ref; writes out/model.pt,
    out/pairs.jsonl and out/stage2_log.json.  Returns (summary, pair views)."""
    from model import load_checkpoint, save_checkpoint
    for ss in scores:
        for s in ss:
            s["score"] = C.combined(s["quality"], s["speed"]["speedup"], lam)
    pairs = C.make_pairs(scores, a.min_margin)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "pairs.jsonl"), "w", encoding="utf-8") as f:
        for g, hi, lo in pairs:
            rec, ss = groups[g][0], scores[g]
            f.write(json.dumps({"id": rec["id"], "prompt": rec["prompt"], "chosen": ss[hi], "rejected": ss[lo]},
                               ensure_ascii=False) + "\n")
    pair_views = [(D.views(groups[g][1][hi]), D.views(groups[g][1][lo])) for g, hi, lo in pairs]
    policy, extra1 = load_checkpoint(a.checkpoint, dev)
    ref_lp = D.reference_logprobs(ref, pair_views, dev, a.dpo_batch)
    dlog = D.train_dpo(policy, pair_views, ref_lp, dev, a.beta, a.lr, a.epochs, a.dpo_batch, a.dpo_seconds,
                       a.seed, a.sft_weight) if pair_views else []
    policy.eval()
    flat = [s for ss in scores for s in ss]
    summary = {"lam": lam, "prompts": len(groups), "samples": len(flat), "pairs": len(pairs), **info,
               "dpo_steps": len(dlog), "dpo_seconds": dlog[-1]["seconds"] if dlog else 0.0,
               "first_loss": dlog[0]["loss"] if dlog else None, "last_loss": dlog[-1]["loss"] if dlog else None,
               "sample_mean_quality": sum(s["quality"] for s in flat) / max(len(flat), 1),
               "sample_mean_speedup": sum(s["speed"]["speedup"] for s in flat) / max(len(flat), 1),
               "chosen_mean_speedup": sum(scores[g][hi]["speed"]["speedup"] for g, hi, _ in pairs) / max(len(pairs), 1),
               "rejected_mean_speedup": sum(scores[g][lo]["speed"]["speedup"] for g, _, lo in pairs) / max(len(pairs), 1),
               "args": vars(a)}
    save_checkpoint(os.path.join(out, "model.pt"), policy,
                    {**extra1, "stage2": {k: v for k, v in summary.items() if k != "args"}})
    with open(os.path.join(out, "stage2_log.json"), "w") as f:
        json.dump({**summary, "log": dlog}, f, indent=1)
    log(json.dumps({k: v for k, v in summary.items() if k != "args"}))
    return summary, pair_views


def parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="stage-1 model.pt (policy start and frozen reference)")
    ap.add_argument("--base", help="sequential base model.pt (train.py --assembled); none: no likelihood term")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--train", required=True, help="training records (JSONL) whose prompts are sampled")
    ap.add_argument("--sources", help="parsed sources folder for the facts check (default: the record's reference)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--lam", type=float, default=0.3, help="speed weight: score = (1-lam) quality + lam (1 - 1/speedup)")
    ap.add_argument("--extra-lams", default="",
                    help="comma-separated further lam values, trained from the same samples into --out/lam-X")
    ap.add_argument("--prompts", type=int, default=2048)
    ap.add_argument("--k", type=int, default=4, help="samples per prompt")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--include-reference", action="store_true",
                    help="add the corpus answer of each prompt as one more candidate")
    ap.add_argument("--min-margin", type=float, default=0.05, help="smallest score gap of a pair")
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--sft-weight", type=float, default=1.0,
                    help="add this times the chosen answers' NLL (0: plain DPO)")
    ap.add_argument("--dpo-batch", type=int, default=16, help="pairs per DPO step")
    ap.add_argument("--sample-batch", type=int, default=256, help="sequences decoded together")
    ap.add_argument("--sample-seconds", type=float, default=1e9, help="stop sampling new batches after this")
    ap.add_argument("--dpo-seconds", type=float, default=1e9, help="stop DPO after this (per lam value)")
    ap.add_argument("--max-len", type=int, default=1024)
    ap.add_argument("--fork-budget", type=int, default=160)
    ap.add_argument("--main-budget", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    return ap


if __name__ == "__main__":
    run(parser().parse_args())
