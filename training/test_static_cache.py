#!/usr/bin/env python3
"""The static-cache variant (docs/model-contract.md, "Static-cache variant") against the contract's graph.

Run: python3 training/test_static_cache.py   (or python3 -m pytest training/test_static_cache.py)
Needs torch and onnx. The static forward (GroupQueryAttention's PyTorch path, writing each row's new
keys and values into its own left-aligned slot in place) must give forward_past's logits, where forward_past
keeps the same rows right-aligned in one padded past with an attention mask: a prefill with a padded row,
decode steps with different past lengths, a chunk of several tokens with a padded row, and a decode step
after it. The export is checked with onnx.checker. Where onnxruntime is installed, the exported graph runs
the same steps on its CPU provider with the slots bound as past and present (written in place).
"""
import os
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_onnx as X  # noqa: E402
from model import ModelConfig, PastaLM  # noqa: E402

TOL = 1e-4
PAD = 0


class DynamicRows:
    """The contract's graph on a batch: one past of P columns, each row's entries right-aligned, the
    columns in front of a shorter row masked out."""

    def __init__(self, model, batch):
        c = model.config
        self.model = model
        self.mask = torch.zeros(batch, 0, dtype=torch.long)
        self.past = [(torch.zeros(batch, c.num_key_value_heads, 0, c.head_dim),) * 2
                     for _ in range(c.num_hidden_layers)]

    def feed(self, ids, pos, mask):
        """ids, pos, mask [b,s]; mask 0 marks a padded token (its entry stays masked from then on)."""
        am = torch.cat([self.mask, mask], dim=1)
        with torch.no_grad():
            logits, self.past = self.model.forward_past(ids, am, pos, self.past)
        self.mask = am
        return logits

    def row_cache(self, layer, r):
        """Row r's (key, value) entries in order, [kvh, n, hd] each."""
        keep = self.mask[r] == 1
        k, v = self.past[layer]
        return k[r][:, keep], v[r][:, keep]


class StaticRows:
    """The static variant on a batch: row r's slot holds its entries in columns 0 .. lens[r]-1."""

    def __init__(self, model, batch, max_cache):
        c = model.config
        self.model = model
        self.lens = torch.zeros(batch, dtype=torch.long)
        self.slots = [(torch.zeros(batch, c.num_key_value_heads, max_cache, c.head_dim),
                       torch.zeros(batch, c.num_key_value_heads, max_cache, c.head_dim))
                      for _ in range(c.num_hidden_layers)]

    def feed(self, ids, pos, chunk):
        """ids, pos [b,s], right-padded; chunk [b]: each row's real tokens (the rest are pads)."""
        s = ids.shape[1]
        seqlens_k = (self.lens + s - 1).to(torch.int32)
        total = (self.lens + s).max().to(torch.int32).reshape(())
        with torch.no_grad():
            logits, presents = X.forward_static(self.model, ids, pos, seqlens_k, total, self.slots)
        for (pk, pv), (k, v) in zip(self.slots, presents):
            assert pk.data_ptr() == k.data_ptr() and pv.data_ptr() == v.data_ptr(), "present is not past"
        self.lens = self.lens + chunk  # the pads' columns are overwritten by the next pass
        return logits

    def row_cache(self, layer, r):
        k, v = self.slots[layer]
        n = int(self.lens[r])
        return k[r][:, :n], v[r][:, :n]


def tiny_model(seed=0, **kw):
    torch.manual_seed(seed)
    m = PastaLM(ModelConfig(**kw)).eval()
    m.use_sdpa = False
    return m


class StaticCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = tiny_model()
        cls.vocab = cls.model.config.vocab_size
        cls.gen = torch.Generator().manual_seed(7)

    def tokens(self, *shape):
        return torch.randint(4, self.vocab, shape, generator=self.gen)

    def assertClose(self, a, b, what):
        diff = (a - b).abs().max().item()
        self.assertLess(diff, TOL, f"{what}: max abs diff {diff:.3g}")

    def assertCachesEqual(self, dyn, sta, batch):
        for layer in range(self.model.config.num_hidden_layers):
            for r in range(batch):
                dk, dv = dyn.row_cache(layer, r)
                sk, sv = sta.row_cache(layer, r)
                self.assertEqual(dk.shape, sk.shape)
                self.assertClose(dk, sk, f"layer {layer} row {r} keys")
                self.assertClose(dv, sv, f"layer {layer} row {r} values")

    def test_prefill_decode_chunk_matchForwardPast(self):
        b, max_cache = 2, 24
        dyn, sta = DynamicRows(self.model, b), StaticRows(self.model, b, max_cache)

        # (a) prefill of 5 and 3 tokens: the static batch right-pads row 1, the dynamic one left-pads it
        prompt = [self.tokens(5), self.tokens(3)]
        s = 5
        ids_s = torch.full((b, s), PAD)
        pos_s = torch.zeros(b, s, dtype=torch.long)
        ids_d = torch.full((b, s), PAD)
        pos_d = torch.zeros(b, s, dtype=torch.long)
        mask_d = torch.zeros(b, s, dtype=torch.long)
        for r, p in enumerate(prompt):
            n = len(p)
            ids_s[r, :n], pos_s[r, :n] = p, torch.arange(n)
            ids_d[r, s - n:], pos_d[r, s - n:], mask_d[r, s - n:] = p, torch.arange(n), 1
        ls = sta.feed(ids_s, pos_s, torch.tensor([5, 3]))
        ld = dyn.feed(ids_d, pos_d, mask_d)
        for r, p in enumerate(prompt):
            n = len(p)
            self.assertClose(ls[r, :n], ld[r, s - n:], f"prefill row {r}")
        self.assertCachesEqual(dyn, sta, b)

        # (b) decode steps: past lengths differ (5 and 3, then 6 and 4, ...); positions leave a gap in row 0
        next_pos = torch.tensor([5 + 10, 3])
        for step in range(3):
            ids = self.tokens(b, 1)
            pos = next_pos[:, None].clone()
            ls = sta.feed(ids, pos, torch.ones(b, dtype=torch.long))
            ld = dyn.feed(ids, pos, torch.ones(b, 1, dtype=torch.long))
            self.assertClose(ls, ld, f"decode step {step}")
            next_pos += 1
        self.assertEqual(sta.lens.tolist(), [8, 6])
        self.assertCachesEqual(dyn, sta, b)

        # (c) a chunk of 4 on a non-empty past; row 1 has 2 tokens, right-padded in both graphs
        s, chunk = 4, torch.tensor([4, 2])
        ids = self.tokens(b, s)
        ids[1, 2:] = PAD
        pos = next_pos[:, None] + torch.arange(s)
        pos[1, 2:] = 0
        mask = (torch.arange(s)[None] < chunk[:, None]).long()
        ls = sta.feed(ids, pos, chunk)
        ld = dyn.feed(ids, pos, mask)
        self.assertClose(ls[0], ld[0], "chunk row 0")
        self.assertClose(ls[1, :2], ld[1, :2], "chunk row 1 (padded)")
        next_pos += chunk
        self.assertEqual(sta.lens.tolist(), [12, 8])
        self.assertCachesEqual(dyn, sta, b)

        # a decode step after the padded chunk: row 1's pads were written to its slot but are not attended
        ids = self.tokens(b, 1)
        ls = sta.feed(ids, next_pos[:, None], torch.ones(b, dtype=torch.long))
        ld = dyn.feed(ids, next_pos[:, None], torch.ones(b, 1, dtype=torch.long))
        self.assertClose(ls, ld, "decode after the padded chunk")
        self.assertCachesEqual(dyn, sta, b)

    def test_decode_isBatchInvariant(self):
        """A row's logits do not depend on the other rows of its batch nor on the slot size."""
        c = self.model.config
        one = StaticRows(self.model, 1, 8)
        two = StaticRows(self.model, 2, 32)
        p0, p1 = self.tokens(1, 4), self.tokens(1, 4)
        pos = torch.arange(4)[None]
        one.feed(p0, pos, torch.tensor([4]))
        two.feed(torch.cat([p0, p1]), pos.repeat(2, 1), torch.tensor([4, 4]))
        ids = self.tokens(1, 1)
        l1 = one.feed(ids, torch.tensor([[4]]), torch.tensor([1]))
        l2 = two.feed(torch.cat([ids, self.tokens(1, 1)]), torch.tensor([[4], [9]]), torch.tensor([1, 1]))
        self.assertClose(l1[0], l2[0], "row 0 alone vs in a batch of 2")
        self.assertEqual(c.num_hidden_layers, len(two.slots))

    def test_export_static_graph(self):
        import onnx
        m = tiny_model(vocab_size=512, num_hidden_layers=2)
        c = m.config
        with tempfile.TemporaryDirectory() as d:
            method = X.export_onnx(m, d, dtype="float32", parity=True, cache="static")
            self.assertEqual(method, "torchscript")
            path = os.path.join(d, "model.onnx")
            onnx.checker.check_model(path)
            g = onnx.load(path, load_external_data=False).graph
            names = [i.name for i in g.input]
            self.assertNotIn("attention_mask", names)
            self.assertEqual(names[:4], ["input_ids", "position_ids", "seqlens_k", "total_sequence_length"])
            types = {v.name: v.type.tensor_type.elem_type for v in list(g.input) + list(g.output)}
            self.assertEqual([types[n] for n in names[:4]], [7, 7, 6, 6])  # int64, int64, int32, int32
            self.assertEqual(types["logits"], 1)
            gqa = [n for n in g.node if n.op_type == "GroupQueryAttention"]
            self.assertEqual(len(gqa), c.num_hidden_layers)
            self.assertTrue(all(n.domain == "com.microsoft" for n in gqa))
            self.assertEqual(list(gqa[0].output[1:]), ["present.0.key", "present.0.value"])
            dims = [d.dim_param or d.dim_value for d in g.output[1].type.tensor_type.shape.dim]
            self.assertEqual(dims, ["batch_size", c.num_key_value_heads, "max_cache_length", c.head_dim])
            self.assertEqual(os.path.getsize(os.path.join(d, X.PARITY_FILE)), 20 + 16 * 16 + 4 * 16 * 512)
        cfg = X.contract_config(c, 1, 0, None, "{prompt}", cache="static")
        self.assertEqual(cfg["pasta"]["cache"], "static")
        self.assertNotIn("cache", X.contract_config(c, 1, 0, None, "{prompt}")["pasta"])


def has_onnxruntime():
    try:
        import onnxruntime  # noqa: F401
        return True
    except ImportError:
        return False


class OrtStaticRows:
    """The exported static graph on ONNX Runtime's CPU provider, each layer's slots bound as both past and
    present (written in place). feed(rows=[r]) runs a batch of one row on that row's slots alone: ONNX
    Runtime's GroupQueryAttention takes s > 1 on a non-empty past only with batch 1."""

    def __init__(self, path, cfg, batch, max_cache):
        import numpy as np
        import onnxruntime as ort
        self.np, self.ort = np, ort
        self.sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.n = cfg.num_hidden_layers
        shape = (batch, cfg.num_key_value_heads, max_cache, cfg.head_dim)
        self.slots = [np.zeros(shape, np.float32) for _ in range(2 * self.n)]
        self.lens = np.zeros(batch, np.int64)

    def feed(self, ids, pos, chunk, rows=None):
        np = self.np
        rows = list(range(len(self.lens))) if rows is None else rows
        s = ids.shape[1]
        lens = self.lens[rows]
        io = self.sess.io_binding()
        io.bind_cpu_input("input_ids", np.ascontiguousarray(ids.numpy()))
        io.bind_cpu_input("position_ids", np.ascontiguousarray(pos.numpy()))
        io.bind_cpu_input("seqlens_k", (lens + s - 1).astype(np.int32))
        io.bind_cpu_input("total_sequence_length", np.array((lens + s).max(), np.int32))
        views = []
        for i in range(self.n):
            for j, w in enumerate(("key", "value")):
                # one row's slot is a contiguous block: a view on it shares its memory
                slot = self.slots[2 * i + j][rows[0]:rows[-1] + 1]
                assert len(rows) == slot.shape[0]
                ov = self.ort.OrtValue.ortvalue_from_numpy(slot)
                views.append((slot, ov))
                io.bind_ortvalue_input(f"past_key_values.{i}.{w}", ov)
                io.bind_ortvalue_output(f"present.{i}.{w}", ov)
        io.bind_output("logits")
        self.sess.run_with_iobinding(io)
        self.lens[rows] += np.asarray(chunk)
        return torch.from_numpy(io.copy_outputs_to_cpu()[0])

    def row_cache(self, layer, r):
        n = int(self.lens[r])
        return (torch.from_numpy(self.slots[2 * layer][r][:, :n].copy()),
                torch.from_numpy(self.slots[2 * layer + 1][r][:, :n].copy()))


@unittest.skipUnless(has_onnxruntime(), "onnxruntime is not installed")
class OnnxRuntimeStaticTest(unittest.TestCase):
    """The exported graph on ONNX Runtime, slots bound in place, against forward_past."""

    def test_onnxruntime_matchesForwardPast(self):
        model = tiny_model(vocab_size=512, num_hidden_layers=2)
        c = model.config
        gen = torch.Generator().manual_seed(11)

        def tokens(*shape):
            return torch.randint(4, c.vocab_size, shape, generator=gen)

        def close(a, b, what):
            rel = (a - b).abs().max().item() / max(b.abs().max().item(), 1e-6)
            self.assertLess(rel, 1e-5, f"{what}: max |diff| / max |logit| {rel:.3g}")

        with tempfile.TemporaryDirectory() as d:
            X.export_onnx(model, d, dtype="float32", cache="static")
            b = 2
            ort_rows = OrtStaticRows(os.path.join(d, "model.onnx"), c, b, 24)
            dyn = DynamicRows(model, b)
            # prefill: 5 and 3 tokens, row 1 right-padded here, left-padded in the dynamic graph
            p0, p1 = tokens(5), tokens(3)
            ids = torch.full((b, 5), PAD)
            ids[0], ids[1, :3] = p0, p1
            pos = torch.tensor([[0, 1, 2, 3, 4], [0, 1, 2, 0, 0]])
            lo = ort_rows.feed(ids, pos, [5, 3])
            ld = dyn.feed(torch.stack([p0, torch.cat([torch.full((2,), PAD), p1])]),
                          torch.tensor([[0, 1, 2, 3, 4], [0, 0, 0, 1, 2]]),
                          torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]))
            close(lo[0], ld[0], "prefill row 0")
            close(lo[1, :3], ld[1, 2:], "prefill row 1")
            next_pos = torch.tensor([5, 3])
            for step in range(3):
                ids, pos = tokens(b, 1), next_pos[:, None].clone()
                close(ort_rows.feed(ids, pos, [1, 1]), dyn.feed(ids, pos, torch.ones(b, 1, dtype=torch.long)),
                      f"decode step {step}")
                next_pos += 1
            # a chunk of 4 on each row's past, one row per run; row 1's chunk has 2 tokens and 2 pads
            ids = tokens(b, 4)
            ids[1, 2:] = PAD
            pos = next_pos[:, None] + torch.arange(4)
            pos[1, 2:] = 0
            ld = dyn.feed(ids, pos, torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]))
            close(ort_rows.feed(ids[:1], pos[:1], [4], rows=[0])[0], ld[0], "chunk row 0")
            close(ort_rows.feed(ids[1:], pos[1:], [2], rows=[1])[0, :2], ld[1, :2], "chunk row 1 (padded)")
            next_pos += torch.tensor([4, 2])
            ids, pos = tokens(b, 1), next_pos[:, None].clone()
            close(ort_rows.feed(ids, pos, [1, 1]), dyn.feed(ids, pos, torch.ones(b, 1, dtype=torch.long)),
                  "decode after the chunk")
            self.assertEqual(ort_rows.lens.tolist(), [13, 9])
            for layer in range(c.num_hidden_layers):
                for r in range(b):
                    for got, want in zip(ort_rows.row_cache(layer, r), dyn.row_cache(layer, r)):
                        self.assertEqual(got.shape, want.shape)
                        self.assertLess((got - want).abs().max().item(), 1e-4, f"layer {layer} row {r} cache")


if __name__ == "__main__":
    unittest.main(verbosity=2)
