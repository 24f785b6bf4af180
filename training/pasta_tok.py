"""Tokenizer helpers shared by training, evaluation and export.

Uses the `tokenizers` package when installed, else the pure-Python byte-level BPE reader bpe_tok.py
(same ids on models/pasta-tiny/tokenizer.json; slower)."""
import os
import sys

try:
    from tokenizers import Tokenizer
except ImportError:  # e.g. Debian's python3-torch without Hugging Face tokenizers
    Tokenizer = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import pasta_views as V  # noqa: E402


class Tok:
    def __init__(self, path):
        if Tokenizer is not None:
            self.tk = Tokenizer.from_file(path)
        else:
            from bpe_tok import BpeTokenizer
            self.tk = BpeTokenizer(path)
        self.tags = V.TagIds(self.tk.token_to_id)
        self.vocab_size = self.tk.get_vocab_size(with_added_tokens=True)
        self._opener_cache = {}

    def encode(self, text):
        return self.tk.encode(text).ids

    def decode(self, ids):
        return self.tk.decode(list(ids), skip_special_tokens=False)

    def count(self, text):
        return len(self.encode(text))

    def opener_ids(self, topic):
        o = self._opener_cache.get(topic)
        if o is None:
            o = self.encode(V.opener_text(topic))
            self._opener_cache[topic] = o
        return o

    def prompt_ids(self, prompt):
        return self.encode(V.chat_prompt(prompt))

    def record_ids(self, rec):
        """(prompt ids, full flat ids incl. final eos, flat transcript text)."""
        p = self.prompt_ids(rec["prompt"])
        flat = corpus.render_flat(rec, self.count)
        return p, p + self.encode(flat) + [self.tags.eos], flat

    def tracker(self, prompt_len):
        return V.FlatTracker(self.tags, self.decode, prompt_len, self.opener_ids)
