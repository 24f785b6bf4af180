"""Writes the static-cache test pair of decoder-worker's tests: one small random-weights model of the training code
(training/model.py) exported twice, as the model contract's graph and as its static-cache variant
(docs/model-contract.md), with pasta-tiny's tokenizer, so the two runners' answers can be compared.

    /usr/bin/python3 decoder-worker/src/test/python/make_static_pair.py decoder-worker/src/test/resources/models/static-pair

Needs PyTorch and onnx (Debian: python3-torch python3-onnx). Deterministic (seed 1234).
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../../.."))
sys.path.insert(0, os.path.join(ROOT, "training"))

import torch  # noqa: E402

import export_onnx as X  # noqa: E402
import pasta_views as V  # noqa: E402
from model import ModelConfig, PastaLM  # noqa: E402


def main(out):
    torch.manual_seed(1234)
    c = ModelConfig(vocab_size=3079, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16, intermediate_size=128, max_position_embeddings=1024)
    m = PastaLM(c).eval()
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.3)
    tokenizer = os.path.join(ROOT, "models/pasta-tiny/tokenizer.json")
    for cache in ("dynamic", "static"):
        d = os.path.join(out, cache)
        method = X.export_onnx(m, d, dtype="float32", cache=cache)
        X.write_config(d, X.contract_config(c, 1, 0, None, V.CHAT_TEMPLATE, torch_dtype="float32",
                                            extra={"exported_with": method}, cache=cache))
        shutil.copyfile(tokenizer, os.path.join(d, "tokenizer.json"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "decoder-worker/src/test/resources/models/static-pair")
