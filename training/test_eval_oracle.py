#!/usr/bin/env python3
"""Checks the batched evaluation interpreter with an oracle in place of the model.

The oracle answers every step with the reference transcript's next token for
that span, and asserts that the interpreter feeds it exactly the position and
the visibility row that training uses.  Greedy decoding must then reproduce the
reference flat transcripts token for token.  Needs torch; no tokenizer package
(a character-level stand-in is used).

Run: python3 training/test_eval_oracle.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import evaluate as E  # noqa: E402
import pasta_views as V  # noqa: E402
from test_pasta_views import TAGS, TOK  # noqa: E402


class CharTok:
    tags = TAGS
    vocab_size = 400

    def encode(self, s):
        return TOK.encode(s)

    def decode(self, ids):
        return TOK.decode(ids)

    def count(self, s):
        return len(TOK.encode(s))

    def opener_ids(self, topic):
        return TOK.encode(V.opener_text(topic))

    def prompt_ids(self, p):
        return TOK.encode(V.chat_prompt(p))

    def record_ids(self, rec):
        p = self.prompt_ids(rec["prompt"])
        flat = corpus.render_flat(rec, self.count)
        return p, p + TOK.encode(flat) + [TAGS.eos], flat

    def tracker(self, n):
        return V.FlatTracker(TAGS, self.decode, n, self.opener_ids)


class Oracle:
    def __init__(self, refs, vocab):
        self.refs = refs
        self.labels = [r.labels() for r in refs]
        self.vocab = vocab
        self.steps = 0

    def new_buffer(self, b, n, device):
        return None

    def step_buffer(self, ids, pos, buf, widx, allowed):
        out = torch.zeros(ids.shape[0], self.vocab)
        for b in range(ids.shape[0]):
            w = int(widx[b])
            if w == allowed.shape[1] - 1:     # finished row
                continue
            ref = self.refs[b]
            assert int(ids[b]) == ref.ids[w], (b, w)
            assert int(pos[b]) == ref.pos[w], (b, w, int(pos[b]), ref.pos[w])
            row = allowed[b, :w + 1].tolist()
            want = [ref.visible(w, j) for j in range(w + 1)]
            assert row == want, (b, w)
            assert not allowed[b, w + 1:].any()
            lab = self.labels[b][w]
            out[b, lab if lab >= 0 else 5] = 1.0
        self.steps += 1
        return out


def main():
    tok = CharTok()
    recs = [corpus.make_record(21, "test", i) for i in range(24)]
    refs = []
    for r in recs:
        p, ids, _ = tok.record_ids(r)
        refs.append(V.build_example(ids, len(p), TAGS, tok.decode, tok.opener_ids))
    oracle = Oracle(refs, 400)
    m, rows = E.evaluate(oracle, tok, recs, "cpu", batch=24, max_len=4096, fork_budget=4000, main_budget=4000)
    for r, ref, row in zip(recs, refs, rows):
        assert row["flat"] == tok.decode([t for t in ref.ids[ref.prompt_len:] if t != TAGS.eos]), r["id"]
        assert row["well_formed"], (r["id"], row["errors"])
        assert row["assembled"] == corpus.render_assembled(r), (row["assembled"], corpus.render_assembled(r))
        assert abs(row["speedup"] - row["ref_speedup"]) < 1e-9
    assert m["well_formed_rate"] == 1.0 and m["fork_accuracy"] == 1.0 and m["count_match_rate"] == 1.0
    print(f"oracle reproduced {len(recs)} reference transcripts in {oracle.steps} batched steps; "
          f"reference ideal speedup {m['mean_ideal_speedup_parallel']:.2f}, topic mention "
          f"{m['topic_mention_rate']:.3f}")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
