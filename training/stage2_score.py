"""Stage 2, step 2: score sampled answers for speed and quality, and pick preference pairs.

speed     ideal speedup = decoded tokens / critical-path tokens of the interpreter's run
          (pasta_views.FlatTracker.critical_path: forks decode concurrently from the step after their
          promise, a sync waits for outstanding forks)
quality   the programmatic checks of quality.py plus `base_likelihood`: exp(mean log-probability per
          token) of the assembled answer under the sequential base model (train.py --assembled)
combined  (1 - lam) * quality + lam * (1 - 1 / speedup); lam is the one knob trading speed for quality
"""
import math

import evaluate as E
import quality as Q


def answer_from_tracker(tok, tr):
    """quality.Answer of an interpreter run (well-formedness as the interpreter judged it)."""
    flat, assembled, chunks = E.text_views(tok, tr)
    return Q.Answer(flat, assembled, [(t, c) for t, c, _, _ in chunks], tr.well_formed())


def speed(tr):
    """{"decoded", "critical", "speedup"} of an interpreter run."""
    total, crit = tr.critical_path()
    return {"decoded": total, "critical": crit, "speedup": total / max(crit, 1)}


def speed_term(speedup):
    """Share of decode steps saved by running forks concurrently, 1 - 1/speedup, in [0, 1)."""
    return 1.0 - 1.0 / max(speedup, 1.0)


def combined(q, speedup, lam):
    """The preference score: (1 - lam) * quality + lam * speed_term(speedup)."""
    return (1.0 - lam) * q + lam * speed_term(speedup)


def sequential_ids(tok, prompt, assembled):
    """(prompt length, ids of prompt + assembled answer + eos): the base model's view."""
    p = tok.prompt_ids(prompt)
    return len(p), p + tok.encode(assembled) + [tok.tags.eos]


def base_loglik(model, tok, items, device, batch=64):
    """Mean log-probability per answer token (eos included) of each (prompt, assembled answer) in items
    under a sequential model: causal attention, positions 0..n-1, padded batches."""
    import torch
    out = []
    for s in range(0, len(items), batch):
        seqs = [sequential_ids(tok, p, a) for p, a in items[s:s + batch]]
        T = max(len(ids) for _, ids in seqs)
        ids = torch.full((len(seqs), T), tok.tags.pad, dtype=torch.long)
        lab = torch.full((len(seqs), T), -100, dtype=torch.long)
        for i, (P, x) in enumerate(seqs):
            ids[i, :len(x)] = torch.tensor(x)
            lab[i, P - 1:len(x) - 1] = torch.tensor(x[P:])
        ids, lab = ids.to(device), lab.to(device)
        pos = torch.arange(T, device=device)[None].expand(len(seqs), T)
        causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()[None, None]
        with torch.no_grad():
            logits = model.forward_masked(ids, pos, causal).float()
        lp = torch.log_softmax(logits, -1).gather(-1, lab.clamp(min=0)[..., None])[..., 0]
        m = lab != -100
        out.extend(((lp * m).sum(1) / m.sum(1).clamp(min=1)).tolist())
    return out


def score_groups(groups, tok, base_model, device, lam, pools=None):
    """Per group, per sample: {"speed", "checks", "quality", "score", ...}; checks include
    base_likelihood when base_model is given."""
    flat = [(rec, tr) for rec, trs in groups for tr in trs]
    answers = [answer_from_tracker(tok, tr) for _, tr in flat]
    ll = (base_loglik(base_model, tok, [(r["prompt"], a.assembled) for (r, _), a in zip(flat, answers)], device)
          if base_model is not None else [None] * len(flat))
    scored = []
    for (rec, tr), ans, l in zip(flat, answers, ll):
        c = Q.checks(rec, ans, pools)
        c["base_likelihood"] = math.exp(l) if l is not None else None
        sp = speed(tr)
        q = Q.quality(c)
        scored.append({"speed": sp, "checks": c, "quality": q, "base_loglik": l,
                       "score": combined(q, sp["speedup"], lam), "flat": ans.flat})
    out, i = [], 0
    for rec, trs in groups:
        out.append(scored[i:i + len(trs)])
        i += len(trs)
    return out


def make_pairs(scores, min_margin=0.05):
    """Per group: (chosen index, rejected index) = (best, worst combined score) when the margin is at
    least min_margin and the two answers differ; groups without such a pair give none."""
    pairs = []
    for g, ss in enumerate(scores):
        order = sorted(range(len(ss)), key=lambda i: -ss[i]["score"])
        hi, lo = order[0], order[-1]
        if ss[hi]["score"] - ss[lo]["score"] >= min_margin and ss[hi]["flat"] != ss[lo]["flat"]:
            pairs.append((g, hi, lo))
    return pairs
