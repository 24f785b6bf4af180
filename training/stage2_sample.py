"""Stage 2, step 1: sample K annotated answers per prompt from the stage-1 model.

Sampling goes through evaluate.py's batched interpreter (forks run right after their promise, joins at
`<sync/>`, the same positions and visibility as serving), with temperature sampling in place of argmax.
"""
import time

import evaluate as E


def sample_groups(model, tok, records, k, device, temperature=1.0, seed=0, batch=256, max_seconds=1e9,
                  max_len=1024, fork_budget=160, main_budget=400):
    """[(record, [FlatTracker] * k)] for the records reached within max_seconds (at least one batch).
    Each record's k samples are drawn in the same batch from a seeded generator on `device`."""
    import torch
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    per_batch = max(1, batch // k)
    out = []
    t0 = time.time()
    for s in range(0, len(records), per_batch):
        if out and time.time() - t0 > max_seconds:
            break
        recs = records[s:s + per_batch]
        prompts = [r["prompt"] for r in recs for _ in range(k)]
        trs = E.greedy_generate(model, tok, prompts, device, max_len=max_len, fork_budget=fork_budget,
                                main_budget=main_budget, batch=len(prompts), temperature=temperature,
                                generator=gen)
        out.extend((r, trs[i * k:(i + 1) * k]) for i, r in enumerate(recs))
    return out
