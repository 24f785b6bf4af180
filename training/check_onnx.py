#!/usr/bin/env python3
"""Check an exported model folder against PyTorch with ONNX Runtime. Fails loudly.

1. prefill (past length 0) with batch 2 and a left-padded row,
2. one decode step and a 3-token chunk on top of the past, same batch,
3. the padded row equals the same row run alone (padding is inert),
4. (with --prompts) a per-span interpreter on ONNX Runtime -- one KV cache per
   span, a fork starting from a copy of its parent's cache, the parent
   appending the fork's cache at <sync/> -- must produce exactly the tokens of
   the flat-mask interpreter used in evaluation (PyTorch).

  python3 training/check_onnx.py --checkpoint training/work/ckpt/model.pt --model-dir models/pasta-tiny \
      --prompts models/pasta-tiny/heldout-prompts.txt --n-prompts 4
Exit status 1 and "PARITY FAILED" on any mismatch (tolerance --tol, default 1e-3).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pasta_views as V  # noqa: E402


SKIPPED = 3  # exit status when ONNX Runtime is not installed (nothing checked); failures exit 1


class OrtModel:
    def __init__(self, model_dir):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 4
        self.sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), so,
                                         providers=["CPUExecutionProvider"])
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        self.cfg = cfg
        self.L, self.kv, self.hd = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"]

    def empty_past(self, b):
        return [np.zeros((b, self.kv, 0, self.hd), np.float32) for _ in range(2 * self.L)]

    def run(self, ids, am, pos, past):
        feeds = {"input_ids": np.asarray(ids, np.int64), "attention_mask": np.asarray(am, np.int64),
                 "position_ids": np.asarray(pos, np.int64)}
        for i in range(self.L):
            feeds[f"past_key_values.{i}.key"] = past[2 * i]
            feeds[f"past_key_values.{i}.value"] = past[2 * i + 1]
        out = self.sess.run(None, feeds)
        return out[0], out[1:]


def torch_run(model, ids, am, pos, past):
    pairs = [(torch.from_numpy(past[2 * i]), torch.from_numpy(past[2 * i + 1])) for i in range(len(past) // 2)]
    with torch.no_grad():
        logits, pres = model.forward_past(torch.as_tensor(np.asarray(ids, np.int64)),
                                          torch.as_tensor(np.asarray(am, np.int64)),
                                          torch.as_tensor(np.asarray(pos, np.int64)), pairs)
    return logits.numpy(), [t.numpy() for kv in pres for t in kv]


def parity_suite(ref_fn, ort_model, vocab, tol, pad_id=0, seed=0, log=print):
    """ref_fn(ids, am, pos, past) -> (logits, presents) in numpy. Returns list of failures."""
    rng = np.random.default_rng(seed)
    fails = []

    def cmp(name, a, b, valid=None):
        d = np.abs(a - b)
        dv = d[valid] if valid is not None else d
        mx = float(dv.max()) if dv.size else 0.0
        log(f"  {name}: max |diff| = {mx:.2e} (all positions {float(d.max()):.2e}, |logit| max {float(np.abs(b).max()):.2f})")
        if not np.isfinite(a).all():
            fails.append(f"{name}: non-finite ONNX output")
        if mx > tol:
            fails.append(f"{name}: {mx:.3e} > {tol}")

    # prefill: row 0 full (7 tokens), row 1 left-padded (3 pads + 4 tokens)
    S = 7
    ids = rng.integers(4, vocab, size=(2, S))
    am = np.ones((2, S), np.int64)
    am[1, :3] = 0
    ids[1, :3] = pad_id
    pos = np.stack([np.arange(S), np.concatenate([np.zeros(3, np.int64), np.arange(4)])])
    past0 = ort_model.empty_past(2)
    lo, po = ort_model.run(ids, am, pos, past0)
    lt, pt = ref_fn(ids, am, pos, past0)
    valid = np.broadcast_to(am.astype(bool)[:, :, None], lo.shape)
    cmp("prefill logits (batch 2, padded row)", lo, lt, valid)
    cmp("prefill present.0.key", po[0], pt[0], None)
    # the padded row equals the row alone
    l1, _ = ort_model.run(ids[1:, 3:], am[1:, 3:], pos[1:, 3:], ort_model.empty_past(1))
    cmp("padded row vs same row alone", lo[1:, 3:], l1, None)
    # decode one token on top of the ORT past
    nid = rng.integers(4, vocab, size=(2, 1))
    am2 = np.concatenate([am, np.ones((2, 1), np.int64)], 1)
    pos2 = np.array([[S], [4]])
    lo2, po2 = ort_model.run(nid, am2, pos2, po)
    lt2, _ = ref_fn(nid, am2, pos2, po)
    cmp("decode step with past (batch 2, padded row)", lo2, lt2, None)
    # a 3-token chunk on top of that (causal among the new tokens)
    cid = rng.integers(4, vocab, size=(2, 3))
    am3 = np.concatenate([am2, np.ones((2, 3), np.int64)], 1)
    pos3 = np.stack([np.arange(S + 1, S + 4), np.arange(5, 8)])
    lo3, _ = ort_model.run(cid, am3, pos3, po2)
    lt3, _ = ref_fn(cid, am3, pos3, po2)
    cmp("3-token chunk with past", lo3, lt3, None)
    # cached decoding equals a single full pass (row 0)
    full = np.concatenate([ids[:1], nid[:1], cid[:1]], 1)
    lf, _ = ort_model.run(full, np.ones_like(full), np.arange(full.shape[1])[None], ort_model.empty_past(1))
    cmp("cached chunk vs full pass", lo3[:1], lf[:, -3:], None)
    # non-contiguous positions and a masked hole inside the past (a PASTA view)
    am4 = am3.copy()
    am4[0, 2:4] = 0
    lo4, _ = ort_model.run(cid, am4, pos3 + 40, po2)
    lt4, _ = ref_fn(cid, am4, pos3 + 40, po2)
    cmp("masked hole + position gap", lo4, lt4, None)
    return fails


# ---------------------------------------------------------------------------
# Per-span interpreter on ONNX Runtime (what a serving engine does)
# ---------------------------------------------------------------------------

def ort_interpret(om, tok, prompt, fork_budget=200, main_budget=600, max_len=1536):
    tg = tok.tags
    p_ids = tok.prompt_ids(prompt)
    tr = tok.tracker(len(p_ids))
    for t in p_ids:
        tr.push(t)
    logits, main = om.run([p_ids], [[1] * len(p_ids)], [tr.pos[:len(p_ids)]], om.empty_past(1))
    nxt = int(logits[0, -1].argmax())
    outstanding = []

    def feed(cache, toks, positions):
        L = cache[0].shape[2]
        lg, new = om.run([toks], [[1] * (L + len(toks))], [positions], cache)
        return lg, new

    while True:
        if nxt == tg.eos:
            tr.push(nxt)
            break
        if tr.main_decoded >= main_budget or tr.n >= max_len - 2:
            break
        t = tr.push(nxt)
        lg, new_main = feed(main, [nxt], [tr.pos[t]])
        if tr.state == V.OPENER:                      # promise completed: start a fork from this view
            main = new_main
            main_next = int(lg[0, -1].argmax())
            opener = tr.opener_remaining()
            idx = [tr.push(o) for o in opener]
            base = main[0].shape[2]
            flg, fc = feed(main, opener, [tr.pos[i] for i in idx])
            ft = int(flg[0, -1].argmax())
            while True:
                forced = ft == tg.eos or len(tr.cur.content) >= fork_budget
                if forced:
                    ft = tg.async_end
                i = tr.push(ft, forced=forced)
                flg, fc = feed(fc, [ft], [tr.pos[i]])
                if ft == tg.async_end:
                    break
                ft = int(flg[0, -1].argmax())
            outstanding.append([x[:, :, base:] for x in fc])   # the fork's own opener+content+closer
            nxt = main_next
        elif nxt == tg.sync:                           # <sync/> is fed before the join
            main = new_main
            for own in outstanding:
                main = [np.concatenate([a, b], axis=2) for a, b in zip(main, own)]
            outstanding = []
            nxt = int(lg[0, -1].argmax())
        else:
            main = new_main
            nxt = int(lg[0, -1].argmax())
    return tr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--prompts", help="prompts file (one per line) for the interpreter comparison")
    ap.add_argument("--n-prompts", type=int, default=4)
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--out", help="write the results as JSON here")
    a = ap.parse_args()
    from model import load_checkpoint
    torch.set_num_threads(4)
    model, _ = load_checkpoint(a.checkpoint, "cpu")
    model.eval()
    model.use_sdpa = False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        msg = "onnxruntime is not installed: ONNX parity NOT checked"
        print(f"SKIPPED: {msg} (pip install onnxruntime to check it)")
        if a.out:
            with open(a.out, "w") as f:
                json.dump({"skipped": msg}, f, indent=1)
        sys.exit(SKIPPED)
    om = OrtModel(a.model_dir)
    print("ONNX Runtime vs PyTorch:")
    fails = parity_suite(lambda *x: torch_run(model, *x), om, om.cfg["vocab_size"], a.tol,
                         pad_id=om.cfg["pad_token_id"])
    interp = []
    if a.prompts:
        from evaluate import greedy_generate
        from pasta_tok import Tok
        tok = Tok(os.path.join(a.model_dir, "tokenizer.json"))
        prompts = [l.rstrip("\n") for l in open(a.prompts, encoding="utf-8") if l.strip()][:a.n_prompts]
        flat = greedy_generate(model, tok, prompts, "cpu")
        for p, ft in zip(prompts, flat):
            ot = ort_interpret(om, tok, p)
            same = ot.ids == ft.ids and ot.pos == ft.pos
            print(f"  per-span ONNX interpreter vs flat-mask PyTorch: {'same' if same else 'DIFFERENT'} "
                  f"({ot.n} tokens, {len(ot.forks)} forks) :: {p[:60]}")
            interp.append({"prompt": p, "same": same, "tokens": ot.n, "forks": len(ot.forks),
                           "text": tok.decode(ot.ids[ot.prompt_len:])})
            if not same:
                fails.append(f"interpreter mismatch on {p!r}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"failures": fails, "interpreter": interp}, f, indent=1)
    if fails:
        print("PARITY FAILED:\n  " + "\n  ".join(fails))
        sys.exit(1)
    print("PARITY OK")


if __name__ == "__main__":
    main()
