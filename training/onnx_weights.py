"""Reads a model's weights back from a model.onnx that export_onnx.py wrote (the model contract's graph), so a
model whose checkpoint is not at hand (the bundled models/pasta-tiny) can be exported again in another variant:

    python3 training/export_onnx.py --onnx models/pasta-tiny --out DIR --cache static --dtype float16

Named initializers map to the state dict by name (the exporter prefixes "m."); the linear layers' weights are the
MatMul initializers, transposed, in the order the graph uses them, which is the order of the model's forward pass.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ModelConfig, PastaLM  # noqa: E402

CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                 "head_dim", "intermediate_size", "rope_theta", "rms_norm_eps", "max_position_embeddings",
                 "tie_word_embeddings")


def load_from_onnx(model_dir):
    """Returns (PastaLM with the weights of model_dir/model.onnx, the directory's config.json as a dict)."""
    import onnx
    from onnx import numpy_helper
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("pasta", {}).get("cache", "dynamic") != "dynamic" or cfg.get("torch_dtype", "float32") != "float32":
        raise ValueError(f"{model_dir}: read weights from a float32 export of the contract's graph")
    m = PastaLM(ModelConfig(**{k: cfg[k] for k in CONFIG_FIELDS if k in cfg})).eval()
    graph = onnx.load(os.path.join(model_dir, "model.onnx")).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    sd = m.state_dict()
    linear = [k for k, v in sd.items() if v.dim() == 2 and k.endswith("proj.weight")]
    matmuls = []
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits and node.input[1] not in matmuls:
            matmuls.append(node.input[1])
    if len(matmuls) < len(linear):
        raise ValueError(f"{model_dir}: {len(matmuls)} weight matrices in the graph for {len(linear)} layers")
    new = {}
    for k in sd:
        if "m." + k in inits:
            new[k] = torch.tensor(inits["m." + k])
    for k, name in zip(linear, matmuls):
        w = np.ascontiguousarray(inits[name].T)
        if tuple(w.shape) != tuple(sd[k].shape):
            raise ValueError(f"{model_dir}: {name} has shape {w.shape}, {k} needs {tuple(sd[k].shape)}")
        new[k] = torch.tensor(w)
    if m.config.tie_word_embeddings and "lm_head.weight" in sd:
        new["lm_head.weight"] = new["model.embed_tokens.weight"]
    missing = [k for k in sd if k not in new]
    if missing:
        raise ValueError(f"{model_dir}: no weights in the graph for {missing}")
    m.load_state_dict(new)
    return m, cfg
