#!/usr/bin/env python3
"""CPU smoke test of stage 2 (stage2*.py, quality.py, train.py --assembled, bpe_tok.py).

Needs torch (1.13 or 2.x) and numpy; no `tokenizers` (pasta_tok falls back to bpe_tok.py) and no GPU.
  - the pure-Python tokenizer on models/pasta-tiny/tokenizer.json: special and tag ids, decode(encode(x))
    == x, and every tokens="N" of the shipped held-out transcripts recomputed from its chunk (the
    corpus filled them in with the Hugging Face tokenizer); the same ids as `tokenizers` where installed
  - speed and quality scores on hand-made answers, and pairs preferring the higher combined score
  - the whole stage on a small generated corpus and tiny models: train.py for stage 1 and for the
    sequential base model, sampling, scoring, pairs, DPO (loss starts at log 2 and falls), the saved
    checkpoint loads, keeps the stage-1 format and decodes; padded batches score like single rows
Run: python3 training/test_stage2_smoke.py
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
import pasta_views as V  # noqa: E402
import quality as Q  # noqa: E402
import stage2_score as C  # noqa: E402
from bpe_tok import BpeTokenizer  # noqa: E402

TOKENIZER = os.path.join(HERE, "..", "models", "pasta-tiny", "tokenizer.json")
TRANSCRIPTS = os.path.join(HERE, "..", "models", "pasta-tiny", "heldout-transcripts.txt")
def read_lines(path, n=None):
    """The first n lines (all when n is None) of a UTF-8 text file."""
    with open(path, encoding="utf-8") as f:
        return [l for i, l in zip(range(n if n is not None else 1 << 60), f)]


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


TINY = ["--hidden", "32", "--layers", "2", "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--ffn", "64",
        "--seq-len", "512", "--batch-rows", "4", "--steps", "3", "--warmup", "1", "--workers", "1", "--bf16", "0"]


class TokenizerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tk = BpeTokenizer(TOKENIZER)

    def test_special_and_tag_ids(self):
        ids = [self.tk.token_to_id(s) for s in V.SPECIAL_STRINGS.values()]
        self.assertEqual(ids, [0, 1, 2, 3])
        tags = [self.tk.token_to_id(s) for s in V.TAG_STRINGS.values()]
        self.assertEqual(tags, list(range(3072, 3079)))
        self.assertEqual(self.tk.get_vocab_size(), 3079)
        flat = '<|user|>Hi<|end|><|assistant|>A<promise topic="x" tokens="5"/><async topic="x">b</async><sync/>'
        ids = self.tk.encode(flat).ids
        for s in list(V.SPECIAL_STRINGS.values())[1:] + list(V.TAG_STRINGS.values()):
            self.assertIn(self.tk.token_to_id(s), ids, s)

    def test_round_trip(self):
        for s in ["Give me 3 tips for knitting.", "  spaces\n\n and tabs\t!", "naïve café — 10,000 km², don't",
                  "x" * 300, '**Bold**: 1) a - b', ""]:
            self.assertEqual(self.tk.decode(self.tk.encode(s).ids), s)
        self.assertEqual(self.tk.decode([self.tk.token_to_id("Ġthe")]), " the")

    def test_tokens_attributes_of_shipped_transcripts(self):
        n = 0
        for line in read_lines(TRANSCRIPTS):
            flat = corpus.unescape_line(line.rstrip("\n"))
            self.assertEqual(self.tk.decode(self.tk.encode(flat).ids), flat)
            for m in re.finditer(r'<promise topic="([^"]*)" tokens="(\d+)"/><async topic="\1">(.*?)</async>', flat, re.S):
                self.assertEqual(corpus.tokens_attr(len(self.tk.encode(m.group(3)).ids)), int(m.group(2)), m.group(3))
                n += 1
        self.assertGreater(n, 50)

    def test_same_ids_as_tokenizers_when_installed(self):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            self.skipTest("tokenizers not installed")
        hf = Tokenizer.from_file(TOKENIZER)
        for line in read_lines(TRANSCRIPTS):
            s = corpus.unescape_line(line.rstrip("\n"))
            self.assertEqual(self.tk.encode(s).ids, hf.encode(s).ids)


def record(family, prompt, parts, n_items=None, subject=None, parallel=None):
    par = any(p[0] == "fork" for p in parts) if parallel is None else parallel
    return {"id": "t", "family": family, "prompt": prompt, "parts": parts, "n_items": n_items,
            "subject": subject, "parallel": par}


class ScoreTest(unittest.TestCase):
    TIPS = record("tips", "Give me 2 tips for knitting.",
                  [["text", "Tips for knitting:\n"], ["fork", "yarn", "1. Yarn: pick soft yarn."],
                   ["text", "\n"], ["fork", "needles", "2. Needles: use wooden needles."], ["sync"],
                   ["text", "Enjoy knitting."]], 2, "knitting")

    def test_speed_of_hand_made_transcript(self):
        from test_pasta_views import TAGS, TOK
        body = 'T<promise topic="s" tokens="2"/><async topic="s">ab</async>\n<sync/>D'
        ids = TOK.encode("xyz") + TOK.encode(body) + [TAGS.eos]
        tr = V.build_example(ids, 3, TAGS, TOK.decode, lambda t: TOK.encode(V.opener_text(t)))
        # main decodes T, 5 promise tokens, \n, <sync/>, D, eos = 10; the fork a, b, </async> = 3, from step 6
        # to 9; the sync waits until 9, then D at 10 and eos at 11
        self.assertEqual(C.speed(tr), {"decoded": 13, "critical": 11, "speedup": 13 / 11})
        self.assertAlmostEqual(C.speed_term(13 / 11), 2 / 13)
        seq = V.build_example(TOK.encode("xyz") + TOK.encode("TabD") + [TAGS.eos], 3, TAGS, TOK.decode)
        self.assertEqual(C.speed(seq)["speedup"], 1.0)

    def test_reference_answer_passes_every_check(self):
        ans = Q.answer_from_flat(corpus.render_flat(self.TIPS, len))
        c = Q.checks(self.TIPS, ans)
        self.assertEqual({k: v for k, v in c.items() if v is not None},
                         {"well_formed": 1, "count": 1, "topics_distinct": 1, "topics_covered": 1,
                          "reference_topics": 1, "subject": 1})
        self.assertEqual(Q.quality(c), 1.0)

    def test_failing_checks(self):
        dup = '<promise topic="yarn"/><async topic="yarn">Soft yarn.</async><promise topic="yarn"/>' \
              '<async topic="yarn">Wool.</async><promise topic="yarn"/><async topic="yarn">More.</async>'
        c = Q.checks(self.TIPS, Q.answer_from_flat(dup))
        self.assertEqual((c["count"], c["topics_distinct"], c["subject"], c["reference_topics"]), (0, 1 / 3, 0, 0.5))
        self.assertAlmostEqual(c["topics_covered"], 1 / 3)
        bad = Q.answer_from_flat('<promise topic="yarn"/>text<async topic="yarn">x</async>')
        self.assertFalse(bad.well_formed)
        self.assertEqual(Q.quality(Q.checks(self.TIPS, bad)), 0.0)
        self.assertTrue(Q.flat_errors('<async topic="a">x'))
        seq = Q.answer_from_flat("Tips for knitting:\n1. Yarn: soft.\n2. Needles: wooden.")
        self.assertEqual(Q.checks(self.TIPS, seq)["count"], 1.0)

    def test_arithmetic(self):
        r = record("arithmetic", "Compute 19 + 4 - 28.", [["text", "x"]])
        ok = "First, 19 + 4 = 23. Then, 23 - 28 = -5. The answer is -5."
        self.assertEqual(Q.checks(r, Q.answer_from_flat(ok))["arithmetic"], 1.0)
        self.assertEqual(Q.checks(r, Q.answer_from_flat(ok.replace("= 23", "= 24")))["arithmetic"], 0.0)
        self.assertEqual(Q.checks(r, Q.answer_from_flat("The answer is 5."))["arithmetic"], 0.0)
        self.assertEqual(Q.expected_arith("Anna has 3 apples, gets 2 more, and then gives away 1. How many?"), 4)
        self.assertEqual(Q.expected_arith("What is 6 times 7?"), 42)
        self.assertEqual(Q.expected_arith("Compute (4 + 5) x 2."), 18)
        self.assertIsNone(Q.expected_arith("Give me 3 tips."))

    def test_facts_against_source_and_reference(self):
        chile = {"name": "Chile", "capital": "Santiago", "area": "756,102", "population": {"value": "17,508,260"}}
        pools = {"country": {"Chile": chile}, "category": {"tree": {"kinds": [{"name": "oak", "gloss": "a tree of the genus Quercus"}]}},
                 "word": {"abate": {"senses": [{"defs": [["To lessen", None]]}]}}}
        r = record("countryfact", "How big is Chile?", [["text", "Chile covers 756,102 square kilometres."]], None, "Chile")
        self.assertEqual(Q.facts_ok(r, Q.answer_from_flat("Chile covers 756,102 square kilometres."), pools), 1.0)
        self.assertEqual(Q.facts_ok(r, Q.answer_from_flat("Chile covers 756,102 or 12 square kilometres."), pools), 0.5)
        self.assertEqual(Q.facts_ok(r, Q.answer_from_flat("Chile covers 999 square kilometres."), None), 0.0)
        self.assertEqual(Q.facts_ok(r, Q.answer_from_flat("Chile is big."), None), 0.0)
        k = record("kinds", "Name one kind of tree.", [["fork", "oak", "An oak is a tree of the genus Quercus."]], 1, "tree")
        good = '<promise topic="oak"/><async topic="oak">1. Oak: An oak is a tree of the genus Quercus.</async>'
        self.assertEqual(Q.facts_ok(k, Q.answer_from_flat(good), pools), 1.0)
        self.assertEqual(Q.facts_ok(k, Q.answer_from_flat(good), None), 1.0)
        self.assertEqual(Q.facts_ok(k, Q.answer_from_flat(good.replace("Quercus", "Acer")), pools), 0.0)
        m = record("meaning", "What does abate mean?", [["text", "To abate means to lessen."]], None, "abate")
        self.assertEqual(Q.facts_ok(m, Q.answer_from_flat("To abate means to lessen."), pools), 1.0)
        self.assertEqual(Q.facts_ok(m, Q.answer_from_flat("To abate means to grow."), pools), 0.0)

    def test_pairs_prefer_higher_combined_score(self):
        s = lambda q, sp, f: {"quality": q, "speed": {"speedup": sp}, "score": C.combined(q, sp, 0.5), "flat": f}  # noqa: E731
        self.assertAlmostEqual(C.combined(0.8, 2.0, 0.5), 0.5 * 0.8 + 0.5 * 0.5)
        groups = [[s(1.0, 1.0, "a"), s(0.9, 3.0, "b"), s(0.2, 1.0, "c")],   # b: 0.783 > a: 0.5 > c: 0.1
                  [s(0.5, 1.0, "x"), s(0.5, 1.0, "y")],                      # no margin: no pair
                  [s(0.9, 2.0, "z"), s(0.1, 1.0, "z")]]                      # same answer: no pair
        self.assertEqual(C.make_pairs(groups, 0.05), [(0, 1, 2)])
        self.assertEqual(C.make_pairs([[s(1.0, 1.0, "a"), s(0.9, 3.0, "b")]], 0.0), [(0, 1, 0)])
        q = lambda q, sp, f: dict(s(q, sp, f), score=C.combined(q, sp, 0.0))  # noqa: E731  lam 0: quality only
        self.assertEqual(C.make_pairs([[q(1.0, 1.0, "a"), q(0.9, 3.0, "b")]], 0.0), [(0, 0, 1)])


class PipelineTest(unittest.TestCase):
    """Every stage-2 step on tiny models trained for a few steps on a small generated corpus."""

    @classmethod
    def setUpClass(cls):
        import torch
        torch.set_num_threads(min(4, os.cpu_count() or 1))
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.corpus = os.path.join(cls.tmp.name, "corpus")
        os.makedirs(d)
        corpus.use_sources(None)
        for split, n in (("train", 120), ("test", 12)):
            with open(os.path.join(d, f"{split}.jsonl"), "w", encoding="utf-8") as f:
                for line in corpus.generate(7, split, n):
                    f.write(line + "\n")
        cls.ckpt = os.path.join(cls.tmp.name, "ckpt")
        cls.base = os.path.join(cls.tmp.name, "base")
        for out, extra in ((cls.ckpt, []), (cls.base, ["--assembled"])):
            subprocess.run([sys.executable, os.path.join(HERE, "train.py"), "--corpus", d, "--tokenizer", TOKENIZER,
                            "--out", out, *TINY, *extra], check=True, stdout=subprocess.DEVNULL)
        import stage2
        cls.out = os.path.join(cls.tmp.name, "stage2")
        cls.args = stage2.parser().parse_args([
            "--checkpoint", os.path.join(cls.ckpt, "model.pt"), "--base", os.path.join(cls.base, "model.pt"),
            "--tokenizer", TOKENIZER, "--train", os.path.join(d, "train.jsonl"), "--out", cls.out,
            "--prompts", "6", "--k", "3", "--extra-lams", "0.9", "--include-reference", "--lam", "0.3", "--lr", "3e-3", "--beta", "0.5",
            "--epochs", "2", "--dpo-batch", "3", "--max-len", "160", "--fork-budget", "8", "--main-budget", "24",
            "--device", "cpu", "--seed", "3"])
        cls.summary, cls.pair_views = stage2.run(cls.args, log=lambda *_: None)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_base_model_trained_on_assembled_text(self):
        log = read_json(os.path.join(self.base, "train_log.json"))
        self.assertTrue(log["args"]["assembled"])
        self.assertEqual(log["steps"], 3)
        self.assertFalse(read_json(os.path.join(self.ckpt, "train_log.json"))["args"]["assembled"])

    def test_pairs_prefer_higher_score(self):
        pairs = [json.loads(l) for l in read_lines(os.path.join(self.out, "pairs.jsonl"))]
        self.assertEqual(len(pairs), self.summary["pairs"])
        self.assertGreater(len(pairs), 0)
        for p in pairs:
            self.assertGreaterEqual(p["chosen"]["score"] - p["rejected"]["score"], self.args.min_margin)
            for side in ("chosen", "rejected"):
                s = p[side]
                self.assertAlmostEqual(s["score"], C.combined(s["quality"], s["speed"]["speedup"], 0.3))
                self.assertTrue(math.isfinite(s["base_loglik"]) and s["base_loglik"] < 0)
                self.assertAlmostEqual(s["checks"]["base_likelihood"], math.exp(s["base_loglik"]))

    def test_dpo_loss_finite_and_moves(self):
        log = read_json(os.path.join(self.out, "stage2_log.json"))["log"]
        self.assertGreaterEqual(len(log), 2)
        self.assertTrue(all(math.isfinite(x["loss"]) for x in log))
        self.assertAlmostEqual(log[0]["dpo"], math.log(2), places=4)   # policy == reference at the start
        for x in log:   # the chosen answers' likelihood term at --sft-weight (1.0 by default)
            self.assertAlmostEqual(x["loss"], x["dpo"] + self.args.sft_weight * x["nll"], places=4)
        self.assertLess(log[-1]["loss"], log[0]["loss"] - 1e-3)
        self.assertGreater(log[-1]["margin"], 0)

    def test_saved_policy_prefers_chosen_over_rejected(self):
        import torch
        import stage2_dpo as D
        from model import load_checkpoint
        pol = load_checkpoint(os.path.join(self.out, "model.pt"))[0].eval()
        ref = load_checkpoint(os.path.join(self.ckpt, "model.pt"))[0].eval()
        b = D.batch_views([v for c, r in self.pair_views for v in (c, r)], "cpu")
        with torch.no_grad():
            lp, lr = D.seq_logprobs(pol, b).view(-1, 2), D.seq_logprobs(ref, b).view(-1, 2)
        margin = (lp[:, 0] - lr[:, 0]) - (lp[:, 1] - lr[:, 1])
        self.assertGreater(margin.mean().item(), 0.1, margin)

    def test_checkpoint_loads_and_decodes(self):
        import torch
        import evaluate as E
        from model import load_checkpoint
        from pasta_tok import Tok
        s1 = torch.load(os.path.join(self.ckpt, "model.pt"))
        s2 = torch.load(os.path.join(self.out, "model.pt"))
        self.assertEqual(set(s1), set(s2))
        self.assertEqual(s1["config"], s2["config"])
        self.assertEqual(set(s1["state_dict"]), set(s2["state_dict"]))
        self.assertTrue(any(not torch.equal(s1["state_dict"][k], s2["state_dict"][k]) for k in s1["state_dict"]))
        model, extra = load_checkpoint(os.path.join(self.out, "model.pt"))
        self.assertEqual(extra["stage2"]["pairs"], self.summary["pairs"])
        tok = Tok(TOKENIZER)
        trs = E.greedy_generate(model.eval(), tok, ["Give me 2 tips for knitting.", "What is 2 + 3?"], "cpu",
                                max_len=96, fork_budget=8, main_budget=16)
        self.assertEqual(len(trs), 2)
        self.assertTrue(all(tr.main_decoded > 0 for tr in trs))

    def test_padded_batches_score_like_single_rows(self):
        import torch
        import stage2_dpo as D
        from model import load_checkpoint
        from pasta_tok import Tok
        import stage2
        tok = Tok(TOKENIZER)
        model = load_checkpoint(os.path.join(self.ckpt, "model.pt"))[0].eval()
        recs = [json.loads(l) for l in read_lines(os.path.join(self.corpus, "test.jsonl"), 3)]
        vs = [D.views(stage2.reference_tracker(tok, r)) for r in recs]
        with torch.no_grad():
            both = D.seq_logprobs(model, D.batch_views(vs, "cpu"))
            alone = torch.cat([D.seq_logprobs(model, D.batch_views([v], "cpu")) for v in vs])
        self.assertTrue(torch.allclose(both, alone, atol=1e-3), (both, alone))
        items = [(r["prompt"], corpus.render_assembled(r)) for r in recs]
        base = load_checkpoint(os.path.join(self.base, "model.pt"))[0].eval()
        b = C.base_loglik(base, tok, items, "cpu")
        a = [C.base_loglik(base, tok, [it], "cpu")[0] for it in items]
        for x, y in zip(a, b):
            self.assertAlmostEqual(x, y, places=4)

    def test_evaluation_entry(self):
        import stage2_eval as SE
        from model import load_checkpoint
        from pasta_tok import Tok
        tok = Tok(TOKENIZER)
        recs = [json.loads(l) for l in read_lines(os.path.join(self.corpus, "test.jsonl"), 4)]
        res = {}
        for name, path in (("stage1", self.ckpt), ("stage2", self.out), ("base", self.base)):
            m = load_checkpoint(os.path.join(path, "model.pt"))[0].eval()
            res[name] = SE.evaluate_model(m, tok, recs, "cpu", max_len=96, fork_budget=8, main_budget=16)
        for r in res.values():
            self.assertEqual(r["n"], 4)
            self.assertGreaterEqual(r["ideal_speedup"], 1.0)
            self.assertIn("well_formed", r["checks"])
        self.assertIn("stage2", SE.table(res))

    def test_extra_lam_trained_from_the_same_samples(self):
        log = read_json(os.path.join(self.out, "lam-0.9", "stage2_log.json"))
        self.assertEqual(log["lam"], 0.9)
        self.assertEqual((log["samples"], log["sample_seconds"]), (self.summary["samples"], self.summary["sample_seconds"]))
        self.assertAlmostEqual(log["log"][0]["dpo"], math.log(2), places=4)   # starts again from stage 1
        for p in (json.loads(l) for l in read_lines(os.path.join(self.out, "lam-0.9", "pairs.jsonl"))):
            for side in ("chosen", "rejected"):
                s = p[side]
                self.assertAlmostEqual(s["score"], C.combined(s["quality"], s["speed"]["speedup"], 0.9))

    def test_stage2_checkpoint_exports_to_onnx(self):
        """The pipeline's export step on the stage-2 checkpoint, with whichever tokenizer reader is installed
        (the pure-Python one where Hugging Face tokenizers is missing); skipped where onnx is missing."""
        try:
            import onnx
        except ImportError:
            self.skipTest("onnx not installed")
        import export_onnx as X
        out = os.path.join(self.tmp.name, "onnx")
        X.export_ours(os.path.join(self.out, "model.pt"), TOKENIZER, out)
        cfg = read_json(os.path.join(out, "config.json"))
        self.assertEqual((cfg["eos_token_id"], cfg["pad_token_id"]), (1, 0))
        self.assertTrue(os.path.exists(os.path.join(out, "tokenizer.json")))
        names = [i.name for i in onnx.load(os.path.join(out, "model.onnx"), load_external_data=False).graph.input]
        self.assertEqual(names[:3], ["input_ids", "attention_mask", "position_ids"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
