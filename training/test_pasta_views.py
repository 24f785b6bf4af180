#!/usr/bin/env python3
"""Unit checks for the corpus generator and the view builder (stdlib only).

Run: python3 training/test_pasta_views.py
Uses a character-level stand-in tokenizer that knows the PASTA-LANG added
tokens, so no third-party package is needed.
"""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import pasta_views as V  # noqa: E402


class CharTokenizer:
    """Added tokens (tags, specials) are single tokens; every other char is one token."""

    def __init__(self):
        self.added = list(V.SPECIAL_STRINGS.values()) + list(V.TAG_STRINGS.values())
        self.vocab = {s: i for i, s in enumerate(self.added)}
        self.inv = dict(enumerate(self.added))
        alt = "|".join(re.escape(s) for s in sorted(self.added, key=len, reverse=True))
        self.rx = re.compile(f"({alt})")

    def token_to_id(self, s):
        return self.vocab.get(s)

    def _id(self, ch):
        if ch not in self.vocab:
            i = len(self.vocab)
            self.vocab[ch] = i
            self.inv[i] = ch
        return self.vocab[ch]

    def encode(self, text):
        out = []
        for piece in self.rx.split(text):
            if not piece:
                continue
            if piece in self.vocab and piece in self.added:
                out.append(self.vocab[piece])
            else:
                out.extend(self._id(c) for c in piece)
        return out

    def decode(self, ids):
        return "".join(self.inv[i] for i in ids)


TOK = CharTokenizer()
TAGS = V.TagIds(TOK.token_to_id)


def encode_record(rec):
    prompt = TOK.encode(V.chat_prompt(rec["prompt"]))
    flat = corpus.render_flat(rec, lambda s: len(TOK.encode(s)))
    return prompt, prompt + TOK.encode(flat) + [TAGS.eos]


class ViewTests(unittest.TestCase):
    def test_brief_example(self):
        # prompt of 3 tokens (positions 0..2), then main "T", promise(N=2), fork "ab", "\n", sync, "D"
        prompt = [TOK._id("x"), TOK._id("y"), TOK._id("z")]
        body = ('T<promise topic="s" tokens="2"/><async topic="s">ab</async>\n<sync/>D')
        ids = prompt + TOK.encode(body) + [TAGS.eos]
        tr = V.build_example(ids, 3, TAGS, TOK.decode, lambda t: TOK.encode(V.opener_text(t)))
        # main: T@3, <promise topic="@4, s@5, " tokens="@6, 2@7, "/>@8 (p=8)
        self.assertEqual(tr.pos[:9], list(range(9)))
        f = tr.forks[0]
        self.assertEqual(f.p, 8)
        self.assertEqual(f.k, 3)            # '<async topic="', 's', '">'
        # fork: opener 9,10,11; content a@12 b@13; closer @14
        self.assertEqual([tr.pos[i] for i in f.idx], [9, 10, 11, 12, 13, 14])
        # parent resumes at p + 1 + N + k + c = 8 + 1 + 2 + 3 + 1 = 15 with "\n"; sync @16; D @17
        rest = [t for t in range(tr.n) if tr.span[t] == 0 and t > f.q]
        self.assertEqual([tr.pos[t] for t in rest], [15, 16, 17, 18])
        # the sync token does not see the fork; D does
        sync_t, d_t = rest[1], rest[2]
        self.assertFalse(any(tr.visible(sync_t, j) for j in f.idx))
        self.assertTrue(all(tr.visible(d_t, j) for j in f.idx))
        # the newline decoded after the promise does not see the fork
        self.assertFalse(any(tr.visible(rest[0], j) for j in f.idx))
        # the fork sees the promise and the prompt
        self.assertTrue(all(tr.visible(f.idx[0], j) for j in range(f.q + 1)))
        # labels: opener tokens except the last predict nothing; the last predicts 'a'
        lab = tr.labels()
        self.assertEqual(lab[f.idx[0]], -100)
        self.assertEqual(lab[f.idx[2]], TOK.vocab["a"])
        self.assertEqual(lab[f.q], TOK.vocab["\n"])      # "/> predicts the parent's next token
        self.assertEqual(lab[f.idx[-1]], -100)            # closer ends the fork
        self.assertEqual(lab[2], TOK.vocab["T"])          # last prompt token predicts the first answer token
        total, crit = tr.critical_path()
        # main decoded: T, <promise, s, sep, 2, "/>, \n, <sync/>, D, eos = 10; fork: a, b, </async> = 3
        self.assertEqual(tr.main_decoded, 10)
        self.assertEqual(total, 13)
        # steps: "/> at 6, fork done at 9; sync at 8 waits until 9; D at 10; eos at 11
        self.assertEqual(crit, 11)

    def test_against_reference_on_corpus(self):
        for split in ("train", "test"):
            for i in range(40):
                rec = corpus.make_record(7, split, i)
                P, ids = encode_record(rec)
                tr = V.build_example(ids, len(P), TAGS, TOK.decode, lambda t: TOK.encode(V.opener_text(t)))
                pos, vis = V.reference_views(ids, len(P), TAGS, TOK.decode)
                self.assertEqual(tr.pos, pos, rec["id"])
                for t in range(len(ids)):
                    got = {j for j in range(t + 1) if tr.visible(t, j)}
                    self.assertEqual(got, vis[t], (rec["id"], t))
                    # never attends to the future in flat order
                    self.assertFalse(any(tr.visible(t, j) for j in range(t + 1, len(ids))
                                         if tr.span[j] == tr.span[t]))
                lab = tr.labels()
                n_dec = sum(tr.decoded)
                self.assertEqual(sum(1 for x in lab if x != -100), n_dec)
                self.assertEqual(len(tr.forks), len(corpus.forks_of(rec)))
                self.assertTrue(tr.well_formed())
                self.assertEqual(bool(tr.forks), rec["parallel"])
                for t in range(len(ids)):   # a decoded token is predicted by a token that sees only its span's past
                    if tr.decoded[t]:
                        p = tr.pred[t]
                        self.assertLess(p, t)
                        self.assertEqual(tr.span[p], tr.span[t])

    def test_stream_and_eval_modes_agree(self):
        rec = next(corpus.make_record(3, "test", i) for i in range(100) if corpus.make_record(3, "test", i)["parallel"])
        P, ids = encode_record(rec)
        a = V.build_example(ids, len(P), TAGS, TOK.decode, None)
        b = V.build_example(ids, len(P), TAGS, TOK.decode, lambda t: TOK.encode(V.opener_text(t)))
        self.assertEqual((a.pos, a.span, a.mlim, a.jf), (b.pos, b.span, b.mlim, b.jf))

    def test_forced_closer_is_not_well_formed(self):
        prompt = TOK.encode(V.chat_prompt("q"))
        tr = V.FlatTracker(TAGS, TOK.decode, len(prompt), lambda t: TOK.encode(V.opener_text(t)))
        for t in prompt + TOK.encode('<promise topic="x" tokens="5"/>'):
            tr.push(t)
        for t in tr.opener_remaining():
            tr.push(t)
        tr.push(TOK._id("a"))
        tr.push(TAGS.async_end, forced=True)   # budget hit: the interpreter closes the fork
        tr.push(TAGS.eos)
        self.assertFalse(tr.well_formed())
        self.assertEqual(tr.forks[0].decoded, 1)


class CorpusTests(unittest.TestCase):
    def test_deterministic(self):
        a = [corpus.make_record(11, "train", i) for i in range(50)]
        b = [corpus.make_record(11, "train", i) for i in range(50)]
        self.assertEqual(a, b)
        c = [corpus.make_record(12, "train", i) for i in range(50)]
        self.assertNotEqual(a, c)

    def test_holdout_disjoint(self):
        tr, te = corpus.all_subjects("train"), corpus.all_subjects("test")
        self.assertFalse(tr & te)
        self.assertGreater(len(tr), 500)
        self.assertGreater(len(te), 80)
        for i in range(400):
            r = corpus.make_record(5, "test", i)
            if r["subject"] is not None and r["family"] not in ("multipart",):
                self.assertNotIn(r["subject"], tr, r)

    def test_records_are_valid(self):
        fams = set()
        for i in range(2000):
            r = corpus.make_record(9, "train", i)
            fams.add(r["family"])
            forks = corpus.forks_of(r)
            self.assertEqual(bool(forks), r["parallel"])
            if r["n_items"] is not None and r["parallel"]:
                self.assertEqual(len(forks), r["n_items"], r)
            for _, topic, content in forks:
                self.assertTrue(V.topic_valid(topic), topic)
                for tag in list(V.TAG_STRINGS.values()) + list(V.SPECIAL_STRINGS.values()):
                    self.assertNotIn(tag, content)
                    self.assertNotIn(tag, r["prompt"])
            flat = corpus.render_flat(r, len)
            stripped = re.sub(r'<promise topic="[^"]*" tokens="\d+"/>|<async topic="[^"]*">|</async>|<sync/>', "", flat)
            self.assertEqual(stripped, corpus.render_assembled(r))
        self.assertGreaterEqual(len(fams), 15)

    def test_escape_roundtrip(self):
        for s in ["a\nb", "back\\slash\\n", "x\\\ny", ""]:
            self.assertEqual(corpus.unescape_line(corpus.escape_line(s)), s)
            self.assertNotIn("\n", corpus.escape_line(s))


if __name__ == "__main__":
    unittest.main(verbosity=1)
