#!/usr/bin/env python3
"""Greedy evaluation on the held-out split with the PASTA-LANG interpreter.

The interpreter (FlatTracker) runs every fork right after its promise (serial
schedule; by construction the text equals a concurrent run).  Keys/values of
all spans live in one flat buffer per example; each new token attends to
exactly the buffer entries its span may see (same rule as training), at the
position the interpreter assigns.  Many examples are decoded as one batch.

Metrics (written to --out as JSON):
  well_formed        every promise got its chunk closed by the model itself, no
                     stray or malformed tags, the main span ended with eos
  fork precision / recall / accuracy of "this answer forks" vs the reference
  ideal_speedup      decoded tokens / critical-path tokens (one step per decoded
                     token, forks decoding concurrently from the step after their
                     promise, a sync waiting for outstanding forks); mean over the
                     records whose reference answer is parallel
  count_match        forks written == items the prompt asked for
  topic_mention      a chunk contains every word (>= 3 letters) of its topic
  subject_copy       the answer repeats the (held-out) subject named in the prompt
  tokens_attr        how the promised tokens="N" compares with the chunk length

  python3 training/evaluate.py --checkpoint training/work/ckpt/model.pt \
      --tokenizer models/pasta-tiny/tokenizer.json --test training/work/corpus/test.jsonl \
      --out training/work/eval.json
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import pasta_views as V  # noqa: E402

STOP = {"the", "and", "for", "with", "of", "a", "an", "to", "in", "on"}


class Run:
    def __init__(self, tok, prompt_ids, fork_budget, main_budget):
        self.tr = tok.tracker(len(prompt_ids))
        self.prompt = prompt_ids
        self.next_tok = prompt_ids[0]
        self.next_forced = False
        self.main_after_fork = None
        self.done = False
        self.fork_budget = fork_budget
        self.main_budget = main_budget
        self.truncated = False


def greedy_generate(model, tok, prompts, device, max_len=1536, fork_budget=200, main_budget=600, batch=256,
                    temperature=0.0, generator=None):
    """Returns one FlatTracker per prompt (flat-order ids, spans, forks...).  temperature > 0 samples
    each decoded token from softmax(logits / temperature) (torch.Generator `generator`) instead of argmax."""
    out = []
    for s in range(0, len(prompts), batch):
        out.extend(_generate_batch(model, tok, prompts[s:s + batch], device, max_len, fork_budget, main_budget,
                                   temperature, generator))
    return out


def _generate_batch(model, tok, prompts, device, max_len, fork_budget, main_budget, temperature=0.0,
                    generator=None):
    import torch
    tg = tok.tags
    runs = [Run(tok, tok.prompt_ids(p), fork_budget, main_budget) for p in prompts]
    B = len(runs)
    buf = model.new_buffer(B, max_len, device)
    span_buf = torch.full((B, max_len), -1, dtype=torch.long, device=device)
    idx = torch.arange(max_len, device=device)
    scratch = max_len - 1          # finished rows write here and attend only to it
    while not all(r.done for r in runs):
        feed, pos, widx, span, mlim, jf = [], [], [], [], [], []
        for r in runs:
            if r.done:
                feed.append(tg.pad); pos.append(0); widx.append(scratch)
                span.append(-2); mlim.append(-1); jf.append(0)
                continue
            t = r.tr.push(r.next_tok, forced=r.next_forced)
            feed.append(r.next_tok); pos.append(r.tr.pos[t]); widx.append(t)
            span.append(r.tr.span[t]); mlim.append(r.tr.mlim[t]); jf.append(r.tr.jf[t])
        T = lambda v: torch.tensor(v, dtype=torch.long, device=device)  # noqa: E731
        feed, pos, widx, span, mlim, jf = map(T, (feed, pos, widx, span, mlim, jf))
        rows = torch.arange(B, device=device)
        span_buf[rows, widx] = span
        sb = span_buf
        allowed = (idx[None] <= widx[:, None]) & (
            ((sb == 0) & (idx[None] <= mlim[:, None])) |
            ((sb >= 1) & (sb <= jf[:, None])) |
            ((sb == span[:, None]) & (span[:, None] > 0)))
        allowed = allowed | (idx[None] == widx[:, None])
        with torch.no_grad():
            logits = model.step_buffer(feed, pos, buf, widx, allowed)
        if temperature > 0:
            probs = torch.softmax(logits.float() / temperature, dim=-1)
            best = torch.multinomial(probs, 1, generator=generator)[:, 0].tolist()
        else:
            best = logits.argmax(-1).tolist()
        for b, r in enumerate(runs):
            if not r.done:
                _advance(r, best[b], tg, max_len)
    return [r.tr for r in runs]


def _advance(r, best, tg, max_len):
    """Decide the next token of one run after feeding its last token."""
    tr = r.tr
    last = tr.n - 1
    r.next_forced = False
    if tr.n >= max_len - 2:
        r.done, r.truncated = True, True
        return
    if tr.state == V.PROMPT:
        r.next_tok = r.prompt[tr.n]
        return
    if tr.state == V.OPENER:
        if tr.span[last] == 0:                 # the token just fed completed a promise
            r.main_after_fork = best           # the parent's next token (from the promise token)
        r.next_tok = tr.opener_remaining()[0]
        r.next_forced = True
        return
    if tr.state == V.FORK:
        f = tr.cur
        if best == tg.eos or len(f.content) >= r.fork_budget:
            r.next_tok, r.next_forced = tg.async_end, True
        else:
            r.next_tok = best
        return
    # main span
    nxt = r.main_after_fork if tr.span[last] != 0 else best
    r.main_after_fork = None
    if tr.main_decoded >= r.main_budget:
        r.done, r.truncated = True, True
        return
    if nxt == tg.eos:
        tr.push(nxt)                           # eos is decoded, never fed
        r.done = True
        return
    r.next_tok = nxt


def text_views(tok, tr):
    """(flat transcript, assembled text, chunks [(topic, text, n_attr, content_len)])."""
    P = tr.prompt_len
    flat = tok.decode([t for t in tr.ids[P:] if t != tok.tags.eos])
    chunks = [(f.topic, tok.decode(f.content), f.n_attr, len(f.content)) for f in tr.forks]
    main_ids = [tr.ids[t] for t in range(P, tr.n) if tr.span[t] == 0 and tr.ids[t] != tok.tags.eos]
    main_text = tok.decode(main_ids)
    k = iter(c[1] for c in chunks)
    assembled = re.sub(r'<promise topic="[^"]*?"(?: tokens="[^"]*?")?/>', lambda m: next(k, ""), main_text)
    assembled = assembled.replace("<sync/>", "")
    return flat, assembled, chunks


def mentions(topic, text):
    words = [w for w in re.findall(r"[a-z0-9]+", topic.lower()) if len(w) >= 3 and w not in STOP]
    low = text.lower()
    if not words:
        return topic.lower() in low
    return all(w in low for w in words)


def evaluate(model, tok, records, device, batch=256, max_len=1536, fork_budget=200, main_budget=600):
    t0 = time.time()
    trackers = greedy_generate(model, tok, [r["prompt"] for r in records], device, max_len=max_len,
                               fork_budget=fork_budget, main_budget=main_budget, batch=batch)
    gen_seconds = time.time() - t0
    rows = []
    for rec, tr in zip(records, trackers):
        flat, assembled, chunks = text_views(tok, tr)
        total, crit = tr.critical_path()
        P, ref_ids, ref_flat = tok.record_ids(rec)
        ref = V.build_example(ref_ids, len(P), tok.tags, tok.decode, tok.opener_ids)
        rt, rc = ref.critical_path()
        rows.append({
            "id": rec["id"], "family": rec["family"], "prompt": rec["prompt"], "subject": rec.get("subject"),
            "ref_parallel": rec["parallel"], "n_items": rec["n_items"],
            "well_formed": tr.well_formed(), "errors": tr.errors, "forks": len(tr.forks),
            "syncs": tr.syncs, "decoded": total, "critical": crit, "speedup": total / max(crit, 1),
            "ref_speedup": rt / max(rc, 1), "ref_forks": len(ref.forks),
            "chunks": [{"topic": t, "n_attr": n, "len": ln, "mentions_topic": mentions(t, c)}
                       for t, c, n, ln in chunks],
            "flat": flat, "assembled": assembled, "reference_flat": ref_flat,
        })
    m = summarize(rows)
    m["generation_seconds"] = gen_seconds
    return m, rows


def summarize(rows):
    n = len(rows)
    wf = sum(r["well_formed"] for r in rows)
    tp = sum(1 for r in rows if r["forks"] > 0 and r["ref_parallel"])
    fp = sum(1 for r in rows if r["forks"] > 0 and not r["ref_parallel"])
    fn = sum(1 for r in rows if r["forks"] == 0 and r["ref_parallel"])
    tn = n - tp - fp - fn
    par = [r for r in rows if r["ref_parallel"]]
    counted = [r for r in rows if r["ref_parallel"] and r["n_items"] is not None]
    chunks = [c for r in rows for c in r["chunks"]]
    subj = [r for r in rows if r.get("subject") and r["family"] not in ("multipart", "namelist", "opposite", "spell")
            and r["subject"].lower() in r["prompt"].lower()]
    with_n = [c for c in chunks if c["n_attr"] is not None]
    fam = {}
    for r in rows:
        f = fam.setdefault(r["family"], {"n": 0, "well_formed": 0, "forked": 0, "speedup_sum": 0.0})
        f["n"] += 1; f["well_formed"] += r["well_formed"]; f["forked"] += r["forks"] > 0
        f["speedup_sum"] += r["speedup"]
    for f in fam.values():
        f["mean_speedup"] = f.pop("speedup_sum") / f["n"]
    return {
        "records": n,
        "parallel_records": len(par),
        "well_formed_rate": wf / n,
        "fork_precision": tp / max(tp + fp, 1),
        "fork_recall": tp / max(tp + fn, 1),
        "fork_accuracy": (tp + tn) / n,
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "mean_ideal_speedup_parallel": sum(r["speedup"] for r in par) / max(len(par), 1),
        "mean_reference_speedup_parallel": sum(r["ref_speedup"] for r in par) / max(len(par), 1),
        "count_match_rate": sum(r["forks"] == r["n_items"] for r in counted) / max(len(counted), 1),
        "count_checked_records": len(counted),
        "topic_mention_rate": sum(c["mentions_topic"] for c in chunks) / max(len(chunks), 1),
        "subject_copy_rate": sum(r["subject"].lower() in r["assembled"].lower() for r in subj) / max(len(subj), 1),
        "subject_checked_records": len(subj),
        "chunks": len(chunks),
        "mean_chunk_tokens": sum(c["len"] for c in chunks) / max(len(chunks), 1),
        "tokens_attr_present_rate": len(with_n) / max(len(chunks), 1),
        "tokens_attr_mean_abs_error": sum(abs(c["n_attr"] - c["len"]) for c in with_n) / max(len(with_n), 1),
        "chunk_within_tokens_attr_rate": sum(c["len"] <= c["n_attr"] for c in with_n) / max(len(with_n), 1),
        "per_family": fam,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--limit", type=int, default=10 ** 9)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--out", required=True)
    ap.add_argument("--show", type=int, default=6, help="print this many sample outputs")
    ap.add_argument("--device", default=None)
    ap.add_argument("--max-len", type=int, default=1536, help="flat tokens per example (prompt included)")
    ap.add_argument("--fork-budget", type=int, default=200, help="content tokens per fork")
    ap.add_argument("--main-budget", type=int, default=600, help="tokens the main span may decode")
    a = ap.parse_args()
    import torch
    from model import load_checkpoint
    from pasta_tok import Tok
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    tok = Tok(a.tokenizer)
    model, _ = load_checkpoint(a.checkpoint, dev)
    model.eval()
    with open(a.test, encoding="utf-8") as f:
        recs = [json.loads(l) for _, l in zip(range(a.limit), f)]
    m, rows = evaluate(model, tok, recs, dev, a.batch, a.max_len, a.fork_budget, a.main_budget)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"metrics": m, "rows": rows}, f, indent=1, ensure_ascii=False)
    shown = 0
    for r in rows:
        if shown >= a.show:
            break
        if (shown % 2 == 0) == r["ref_parallel"]:
            print(f"--- {r['id']} [{r['family']}] wf={r['well_formed']} forks={r['forks']} "
                  f"speedup={r['speedup']:.2f}\nPROMPT: {r['prompt']}\nOUTPUT: {r['flat']}\n")
            shown += 1
    print(json.dumps({k: v for k, v in m.items() if k != "per_family"}, indent=1))
    for k, v in sorted(m["per_family"].items()):
        print(f"  {k:12s} n={v['n']:4d} wf={v['well_formed'] / v['n']:.3f} forked={v['forked'] / v['n']:.3f} "
              f"speedup={v['mean_speedup']:.2f}")


if __name__ == "__main__":
    main()
