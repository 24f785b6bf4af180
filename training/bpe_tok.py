"""Pure-Python reader of a Hugging Face byte-level BPE `tokenizer.json` (stdlib only).

Used by pasta_tok.py where the `tokenizers` package is missing (e.g. Debian's python3-torch on CI).
It implements what models/pasta-tiny/tokenizer.json uses: added tokens matched first on the raw text
(longest first), the ByteLevel pre-tokenizer (GPT-2 split regex, no prefix space), BPE merges by rank,
and the ByteLevel decoder (a token with a character outside the byte alphabet decodes to its own
UTF-8 bytes, as the Rust decoder does for added tokens such as `<promise topic="`).
"""
import json
import re

# GPT-2's split pattern with \p{L} -> [^\W\d_] and \p{N} -> \d (Python's re has no Unicode classes)
_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class BpeTokenizer:
    """The subset of `tokenizers.Tokenizer` that pasta_tok.Tok calls."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        m = d["model"]
        if m.get("type") != "BPE" or (d.get("pre_tokenizer") or {}).get("type") != "ByteLevel":
            raise ValueError(f"{path}: only byte-level BPE tokenizers are supported")
        if (d.get("pre_tokenizer") or {}).get("add_prefix_space"):
            raise ValueError(f"{path}: add_prefix_space is not supported")
        self.vocab = dict(m["vocab"])
        self.ranks = {}
        for i, mg in enumerate(m["merges"]):
            a, b = mg if isinstance(mg, list) else mg.split(" ", 1)
            self.ranks[(a, b)] = i
        self.added = {t["content"]: t["id"] for t in d.get("added_tokens", [])}
        self.special = {t["id"] for t in d.get("added_tokens", []) if t.get("special")}
        self.vocab.update(self.added)
        self.inv = {i: s for s, i in self.vocab.items()}
        alt = "|".join(re.escape(s) for s in sorted(self.added, key=len, reverse=True))
        self._added_rx = re.compile(f"({alt})") if alt else None
        self.b2u = bytes_to_unicode()
        self.u2b = {c: b for b, c in self.b2u.items()}
        self._cache = {}

    def token_to_id(self, s):
        return self.vocab.get(s)

    def id_to_token(self, i):
        return self.inv.get(i)

    def get_vocab_size(self, with_added_tokens=True):
        return len(self.inv) if with_added_tokens else len(self.inv) - len(self.added)

    def _bpe(self, word):
        """Token ids of one pre-tokenized word (already mapped to the byte alphabet)."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        parts = list(word)
        while len(parts) > 1:
            best, bi = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            parts[bi:bi + 2] = [parts[bi] + parts[bi + 1]]
        ids = [self.vocab[p] for p in parts]
        self._cache[word] = ids
        return ids

    def encode_ids(self, text):
        """Token ids of text: added tokens first, then byte-level BPE of every piece between them."""
        out = []
        pieces = self._added_rx.split(text) if self._added_rx else [text]
        for piece in pieces:
            if not piece:
                continue
            if piece in self.added:
                out.append(self.added[piece])
                continue
            for w in _SPLIT.findall(piece):
                out.extend(self._bpe("".join(self.b2u[b] for b in w.encode("utf-8"))))
        return out

    def decode(self, ids, skip_special_tokens=False):
        """Text of ids (bytes joined, then UTF-8 with replacement, as the ByteLevel decoder does)."""
        buf = bytearray()
        for i in ids:
            if skip_special_tokens and i in self.special:
                continue
            t = self.inv[i]
            if all(c in self.u2b for c in t):
                buf.extend(self.u2b[c] for c in t)
            else:
                buf.extend(t.encode("utf-8"))
        return buf.decode("utf-8", errors="replace")

    def encode(self, text):
        return _Encoding(self.encode_ids(text))


class _Encoding:
    __slots__ = ("ids",)

    def __init__(self, ids):
        self.ids = ids
