#!/usr/bin/env python3
"""Train the byte-level BPE tokenizer (Hugging Face `tokenizers`) on the corpus.

Chat specials are special tokens (ids 0..3); the PASTA-LANG tag pieces are
added (non-special) tokens, so they are always single tokens, decode as text,
and every tag ends at a token boundary.  BPE merges are learned on the
tag-free text (prompts + assembled answers).

  python3 training/tokenizer_train.py --corpus training/work/corpus/train.jsonl \
      --vocab-size 3072 --out models/pasta-tiny/tokenizer.json
"""
import argparse
import json
import os
import sys

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import pasta_views as V  # noqa: E402

SPECIALS = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>"]


def texts(path, limit):
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            r = json.loads(line)
            yield r["prompt"]
            yield corpus.render_assembled(r)
            for p in corpus.forks_of(r):
                yield p[1]


def train(corpus_path, vocab_size, limit):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts(corpus_path, limit), trainer=trainer)
    tok.add_tokens([AddedToken(t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=False)
                    for t in V.TAG_STRINGS.values()])
    return tok


def check(tok):
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    for s in list(V.TAG_STRINGS.values()) + SPECIALS:
        ids = tok.encode(s).ids
        assert len(ids) == 1, (s, ids)
    flat = ('Tips:\n<promise topic="sleep" tokens="30"/><async topic="sleep">1. Sleep 8h.</async>\n'
            '<promise topic="water" tokens="20"/><async topic="water">2. Drink water.</async>\n<sync/>Done.')
    enc = tok.encode(V.chat_prompt("Give me 2 tips") + flat)
    toks = enc.tokens
    for s in V.TAG_STRINGS.values():
        assert s in toks, (s, toks)
    assert tok.decode(enc.ids, skip_special_tokens=False) == V.chat_prompt("Give me 2 tips") + flat
    return toks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--vocab-size", type=int, default=3072)
    ap.add_argument("--limit", type=int, default=120000, help="records used to learn merges")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tok = train(a.corpus, a.vocab_size, a.limit)
    toks = check(tok)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tok.save(a.out)
    print(f"vocab size (with added tokens): {tok.get_vocab_size(with_added_tokens=True)}")
    print("sample tokens:", toks)


if __name__ == "__main__":
    main()
