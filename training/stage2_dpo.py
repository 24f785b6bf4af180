"""Stage 2, step 3: direct preference optimisation (DPO) on the interpreter's views.

A sampled answer is scored by the sum of log-probabilities of the tokens the model decoded, each
under exactly the positions and visibility it was sampled with (pasta_views: forks see their parent's
prefix, the parent sees joined forks after <sync/>); the frozen reference is the stage-1 model.
  loss = -log sigmoid(beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r))))
"""
import time


def views(tr):
    """[ids, pos, span, mlim, jf, labels] lists of a FlatTracker (labels: -100 where nothing is decoded)."""
    return [tr.ids, tr.pos, tr.span, tr.mlim, tr.jf, tr.labels()]


def batch_views(vs, device, pad=0):
    """Pads view lists into a LongTensor [B, 7, T] (ids, pos, span, mlim, jf, labels, seg)."""
    import torch
    T = max(len(v[0]) for v in vs)
    b = torch.zeros(len(vs), 7, T, dtype=torch.long)
    b[:, 0] = pad
    b[:, 3] = -1
    b[:, 5] = -100
    b[:, 6] = -1
    for i, v in enumerate(vs):
        n = len(v[0])
        b[i, :6, :n] = torch.tensor(v, dtype=torch.long)
        b[i, 6, :n] = 0
    return b.to(device)


def seq_logprobs(model, b):
    """Sum of log-probabilities of the decoded tokens of each row of a batch_views batch."""
    import torch
    from model import visibility_mask
    ids, pos, span, mlim, jf, lab, seg = (b[:, i] for i in range(7))
    logits = model.forward_masked(ids, pos.clamp(min=0), visibility_mask(seg, span, mlim, jf)).float()
    lp = torch.log_softmax(logits, -1).gather(-1, lab.clamp(min=0)[..., None])[..., 0]
    return (lp * (lab != -100)).sum(1)


def dpo_loss(pc, pr, rc, rr, beta):
    """(mean DPO loss, mean implicit reward margin) of policy / reference log-probs of chosen, rejected."""
    import torch.nn.functional as F
    margin = beta * ((pc - rc) - (pr - rr))
    return -F.logsigmoid(margin).mean(), margin.mean()


def reference_logprobs(ref, pair_views, device, batch=16):
    """[(ref log p(chosen), ref log p(rejected))] under the frozen reference model."""
    import torch
    out = []
    with torch.no_grad():
        for s in range(0, len(pair_views), batch):
            part = pair_views[s:s + batch]
            lp = seq_logprobs(ref, batch_views([v for c, r in part for v in (c, r)], device)).view(-1, 2)
            out.extend(map(tuple, lp.tolist()))
    return out


def train_dpo(policy, pair_views, ref_lp, device, beta=0.1, lr=1e-5, epochs=2, batch=16, max_seconds=1e9,
              seed=0, sft_weight=0.0, log_every=10):
    """Updates policy in place with AdamW on the pairs (chosen views, rejected views) for `epochs`
    epochs or until max_seconds; sft_weight adds the chosen answers' mean negative log-likelihood.
    Returns the per-step log [{"step", "epoch", "loss", "dpo", "nll", "margin", "seconds"}]: loss = dpo +
    sft_weight * nll, where nll is the chosen answers' mean per-token negative log-likelihood."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(policy.parameters(), lr=lr, weight_decay=0.0)
    ref_lp = torch.tensor(ref_lp, dtype=torch.float32, device=device).view(-1, 2)
    log, step, t0 = [], 0, time.time()
    policy.train()
    for ep in range(epochs):
        perm = torch.randperm(len(pair_views), generator=gen).tolist()
        for s in range(0, len(perm), batch):
            if time.time() - t0 > max_seconds:
                break
            idx = perm[s:s + batch]
            b = batch_views([v for i in idx for v in pair_views[i]], device)
            lp = seq_logprobs(policy, b).view(-1, 2)
            r = ref_lp[idx]
            dpo, margin = dpo_loss(lp[:, 0], lp[:, 1], r[:, 0], r[:, 1], beta)
            n = (b[0::2, 5] != -100).sum(1).clamp(min=1)
            nll = (-lp[:, 0] / n).mean()
            loss = dpo + sft_weight * nll if sft_weight else dpo
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            step += 1
            log.append({"step": step, "epoch": ep, "loss": loss.item(), "dpo": dpo.item(), "nll": nll.item(),
                        "margin": margin.item(), "seconds": time.time() - t0})
            if step % log_every == 0 or step == 1:
                print(f"dpo step {step} epoch {ep} loss {loss.item():.4f} margin {margin.item():.3f} "
                      f"{time.time() - t0:.1f}s", flush=True)
        if time.time() - t0 > max_seconds:
            break
    policy.eval()
    return log
