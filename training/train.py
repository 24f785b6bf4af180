#!/usr/bin/env python3
"""Train the PASTA-LANG model from scratch on the synthetic corpus.

Every example is ONE flat-order sequence (prompt, main span, each fork right
after its promise) with the position ids and the per-token visibility mask the
interpreter produces at inference (pasta_views.py).  Loss is taken only on
tokens the model decodes: the main span's tokens (tags and final eos included)
and each fork's content plus its `</async>` closer; never on the prompt or on
the injected `<async topic="T">` opener.  Examples are packed into rows of
--seq-len tokens; the mask keeps packed examples apart.

  python3 training/train.py --corpus training/work/corpus --tokenizer models/pasta-tiny/tokenizer.json \
      --out training/work/ckpt --steps 6000

--assembled trains the sequential BASE model of stage 2 (stage2.py): the same prompts and answers as
plain assembled text (what a user reads, no PASTA-LANG tags), causal attention, consecutive positions.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import pasta_views as V  # noqa: E402

_TOK = None
_ASSEMBLED = False


def _init_worker(tok_path, assembled=False):
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    global _TOK, _ASSEMBLED
    from pasta_tok import Tok
    _TOK = Tok(tok_path)
    _ASSEMBLED = assembled


def assembled_ids(tok, rec):
    """(prompt ids, prompt + assembled answer + eos ids): the base model's sequential view of a record."""
    p = tok.prompt_ids(rec["prompt"])
    return p, p + tok.encode(corpus.render_assembled(rec)) + [tok.tags.eos]


def _build_chunk(lines):
    out = []
    for line in lines:
        rec = json.loads(line)
        if _ASSEMBLED:
            p, ids = assembled_ids(_TOK, rec)
        else:
            p, ids, _ = _TOK.record_ids(rec)
        tr = V.build_example(ids, len(p), _TOK.tags, _TOK.decode, _TOK.opener_ids)
        arr = np.array([tr.ids, tr.pos, tr.span, tr.mlim, tr.jf, tr.labels()], dtype=np.int32)
        out.append(arr)
    return out


def build_examples(path, tok_path, limit, workers, assembled=False):
    with open(path, encoding="utf-8") as f:
        lines = [l for _, l in zip(range(limit), f)]
    chunks = [lines[i:i + 2000] for i in range(0, len(lines), 2000)]
    res = []
    if workers > 1:
        with mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(tok_path, assembled)) as pool:
            for part in pool.imap(_build_chunk, chunks):
                res.extend(part)
    else:
        _init_worker(tok_path, assembled)
        for c in chunks:
            res.extend(_build_chunk(c))
    return res


def pack(examples, seq_len, seed):
    """First-fit packing into rows of seq_len. Returns int32 array [R, 7, T]:
    ids, pos, span, mlim (row index), jf, labels, seg."""
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    rows, fill = [], []
    open_rows = []
    dropped = 0
    for i in order:
        n = examples[i].shape[1]
        if n > seq_len:
            dropped += 1
            continue
        for r in open_rows:
            if fill[r] + n <= seq_len:
                break
        else:
            r = len(rows)
            rows.append([])
            fill.append(0)
            open_rows.append(r)
            if len(open_rows) > 16:
                open_rows.pop(0)
        rows[r].append(i)
        fill[r] += n
    out = np.zeros((len(rows), 7, seq_len), dtype=np.int32)
    out[:, 3, :] = -1          # mlim of padding
    out[:, 5, :] = -100        # labels of padding
    out[:, 6, :] = -1          # seg of padding
    for r, members in enumerate(rows):
        off = 0
        for s, i in enumerate(members):
            e = examples[i]
            n = e.shape[1]
            out[r, 0:3, off:off + n] = e[0:3]
            out[r, 3, off:off + n] = e[3] + off
            out[r, 4, off:off + n] = e[4]
            out[r, 5, off:off + n] = e[5]
            out[r, 6, off:off + n] = s
            off += n
    return out, dropped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True, help="folder with train.jsonl and test.jsonl")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-records", type=int, default=10 ** 9)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--max-seconds", type=float, default=1e9,
                    help="safety limit: the LR schedule anneals by max(step/steps, time/max-seconds)")
    ap.add_argument("--batch-rows", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--ffn", type=int, default=688)
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--assembled", action="store_true",
                    help="train the sequential base model on assembled answers (no PASTA-LANG tags)")
    a = ap.parse_args()

    import torch
    import torch.nn.functional as F
    from model import ModelConfig, PastaLM, save_checkpoint, visibility_mask
    from pasta_tok import Tok

    torch.manual_seed(a.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    tok = Tok(a.tokenizer)
    t0 = time.time()
    train_ex = build_examples(os.path.join(a.corpus, "train.jsonl"), a.tokenizer, a.max_records, a.workers, a.assembled)
    test_ex = build_examples(os.path.join(a.corpus, "test.jsonl"), a.tokenizer, 10 ** 9, a.workers, a.assembled)
    lens = np.array([e.shape[1] for e in train_ex])
    n_loss = sum(int((e[5] != -100).sum()) for e in train_ex)
    print(f"built {len(train_ex)} train / {len(test_ex)} test examples in {time.time() - t0:.1f}s; "
          f"tokens mean {lens.mean():.1f} p99 {np.percentile(lens, 99):.0f} max {lens.max()}; "
          f"loss tokens {n_loss} of {lens.sum()}", flush=True)
    rows, dropped = pack(train_ex, a.seq_len, a.seed)
    trows, _ = pack(test_ex, a.seq_len, a.seed)
    del train_ex
    print(f"packed into {rows.shape[0]} rows of {a.seq_len} (dropped {dropped} long examples), "
          f"fill {lens[lens <= a.seq_len].sum() / rows.shape[0] / a.seq_len:.3f}", flush=True)
    data = torch.from_numpy(rows).to(dev)
    tdata = torch.from_numpy(trows).to(dev)

    cfg = ModelConfig(vocab_size=tok.vocab_size, hidden_size=a.hidden, num_hidden_layers=a.layers,
                      num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.head_dim,
                      intermediate_size=a.ffn)
    model = PastaLM(cfg)
    model.init_weights()
    model.to(dev)
    print(f"parameters: {model.num_parameters()} ({model.num_parameters() / 1e6:.2f}M)", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": nodecay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95), eps=1e-8,
                            **({"fused": True} if dev == "cuda" else {}))
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if (dev == "cuda" and a.bf16) else torch.autocast("cpu", enabled=False)

    def loss_on(batch):
        b = batch.long()
        ids, pos, span, mlim, jf, lab, seg = (b[:, i] for i in range(7))
        mask = visibility_mask(seg, span, mlim, jf)
        with amp:
            logits = model.forward_masked(ids, pos, mask)
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), lab.reshape(-1), ignore_index=-100)

    gen = torch.Generator(device="cpu").manual_seed(a.seed)
    perm = torch.randperm(data.shape[0], generator=gen)
    ptr = 0
    t_start = time.time()
    log = []
    model.train()
    step = 0
    progress = 0.0
    while step < a.steps and progress < 1.0:
        if ptr + a.batch_rows > perm.numel():
            perm = torch.randperm(data.shape[0], generator=gen)
            ptr = 0
        idx = perm[ptr:ptr + a.batch_rows].to(dev)
        ptr += a.batch_rows
        elapsed = time.time() - t_start
        progress = max(step / a.steps, elapsed / a.max_seconds)
        if step < a.warmup:
            lr = a.lr * (step + 1) / a.warmup
        else:
            pw = min(1.0, progress)
            lr = a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * pw)))
        for g in opt.param_groups:
            g["lr"] = lr
        loss = loss_on(data[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0 or step == 20:
            lv = loss.item()
            el = time.time() - t_start
            log.append({"step": step, "loss": lv, "lr": lr, "seconds": el})
            print(f"step {step} loss {lv:.4f} lr {lr:.2e} {el:.1f}s ({el / step * 1000:.1f} ms/step)", flush=True)
    train_seconds = time.time() - t_start
    model.eval()
    with torch.no_grad():
        tl = [loss_on(tdata[i:i + a.batch_rows]).item() for i in range(0, tdata.shape[0], a.batch_rows)]
    test_loss = float(np.mean(tl))
    print(f"trained {step} steps in {train_seconds:.1f}s; held-out loss {test_loss:.4f}", flush=True)
    os.makedirs(a.out, exist_ok=True)
    extra = {"steps": step, "train_seconds": train_seconds, "heldout_loss": test_loss,
             "final_train_loss": log[-1]["loss"] if log else None, "args": vars(a),
             "train_rows": int(rows.shape[0]), "seq_len": a.seq_len}
    save_checkpoint(os.path.join(a.out, "model.pt"), model, extra)
    with open(os.path.join(a.out, "train_log.json"), "w") as f:
        json.dump({"log": log, **extra}, f, indent=1)


if __name__ == "__main__":
    main()
