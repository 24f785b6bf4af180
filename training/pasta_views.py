"""PASTA-LANG execution semantics over a flat token stream (stdlib only).

This module is the single source of truth for the positions, the visibility
(attention) mask and the loss targets used in training, and for the
interpreter used in evaluation.  It mirrors what the serving engine does:

* prompt tokens take positions 0..P-1; the main span decodes from position P;
* each span has a "next position" counter;
* when a span decodes the token that completes `<promise topic="T" tokens="N"/>`
  (the `"/>` token) at position p, a fork starts: it is fed the opener
  `<async topic="T">` (k tokens) at positions p+1..p+k, then decodes its content
  and its closer `</async>` from p+k+1 on;
* the parent continues at p + 1 + R with R = N (or default_reserved) + k + c,
  c = token count of `</async>`;
* when the parent decodes `<sync/>` at position s it joins every fork it has
  started; later tokens continue at max(s+1, last fork position + 1) and see the
  joined forks (the `<sync/>` token itself does not);
* a fork sees what its parent saw at the promise (inclusive) plus its own tokens.

Visibility is expressed per token by three numbers so that a full attention mask
can be built with vectorised comparisons:
  span[t]  0 for the prompt / main span, f >= 1 for the f-th fork (flat order),
  mlim[t]  the last main-span token index that t may see,
  jf[t]    forks 1..jf[t] (joined at an earlier sync) are visible to t,
and   visible(t, j) = (span[j] == 0 and j <= mlim[t])
                   or (1 <= span[j] <= jf[t])
                   or (span[j] == span[t] != 0 and j <= t).
"""

DEFAULT_RESERVED = 48

TAG_STRINGS = {
    "promise_open": '<promise topic="',
    "tokens_sep": '" tokens="',
    "promise_close": '"/>',
    "async_open": '<async topic="',
    "async_open_close": '">',
    "async_end": "</async>",
    "sync": "<sync/>",
}
SPECIAL_STRINGS = {
    "pad": "<|pad|>",
    "eos": "<|end|>",
    "user": "<|user|>",
    "assistant": "<|assistant|>",
}
CHAT_TEMPLATE = "<|user|>{prompt}<|end|><|assistant|>"


def chat_prompt(prompt):
    return CHAT_TEMPLATE.replace("{prompt}", prompt)


def opener_text(topic):
    return TAG_STRINGS["async_open"] + topic + TAG_STRINGS["async_open_close"]


class TagIds:
    """Token ids of the PASTA-LANG tag pieces and chat specials."""

    def __init__(self, token_to_id):
        for name, s in list(TAG_STRINGS.items()) + list(SPECIAL_STRINGS.items()):
            tid = token_to_id(s)
            if tid is None:
                raise ValueError(f"tokenizer lacks the added token {s!r}")
            setattr(self, name, tid)
        self.tag_set = {getattr(self, n) for n in TAG_STRINGS}


def topic_valid(topic):
    return 0 < len(topic) <= 64 and not any(c in topic for c in '"<>')


class Fork:
    __slots__ = ("fid", "q", "p", "jf", "topic", "n_attr", "k", "opener", "idx", "next_pos",
                 "last_pos", "last_idx", "closed", "closed_by_model", "content", "decoded")

    def __init__(self, fid, q, p, jf, topic, n_attr, opener):
        self.fid, self.q, self.p, self.jf = fid, q, p, jf
        self.topic, self.n_attr = topic, n_attr
        self.opener = opener          # expected opener ids (None: read from the stream)
        self.k = None
        self.idx = []                 # flat indices of the fork's tokens
        self.next_pos = p + 1
        self.last_pos = None
        self.last_idx = None
        self.closed = False
        self.closed_by_model = False
        self.content = []             # content token ids (without opener and closer)
        self.decoded = 0              # tokens the fork decoded itself (content + its own closer)


PROMPT, MAIN, OPENER, FORK, DONE = range(5)


class FlatTracker:
    """Incremental interpreter state over the flat-order token stream.

    push(tok, forced=False) appends one token and records its position, span,
    visibility numbers and whether the model decoded it (=> it carries loss).
    `forced` marks tokens the interpreter inserts itself in a span that normally
    decodes (a closer appended after eos/budget): they get no loss.
    """

    def __init__(self, tags, decode, prompt_len, opener_ids=None, default_reserved=DEFAULT_RESERVED,
                 closer_len=1):
        self.tags = tags
        self.decode = decode              # ids -> text
        self.opener_ids = opener_ids      # topic -> ids of '<async topic="T">' (None: read from stream)
        self.default_reserved = default_reserved
        self.closer_len = closer_len
        self.prompt_len = prompt_len
        self.ids, self.pos, self.span, self.mlim, self.jf = [], [], [], [], []
        self.decoded, self.pred = [], []
        self.state = PROMPT if prompt_len > 0 else MAIN
        self.main_next = 0
        self.last_main = -1
        self.joined = 0
        self.forks = []
        self.in_promise = False
        self.promise_buf = []
        self.errors = []
        self.main_decoded = 0
        self.syncs = 0

    # -- helpers -----------------------------------------------------------
    @property
    def n(self):
        return len(self.ids)

    @property
    def cur(self):
        return self.forks[-1] if self.forks else None

    def _emit(self, tok, pos, span, mlim, jf, decoded, pred):
        self.ids.append(tok); self.pos.append(pos); self.span.append(span)
        self.mlim.append(mlim); self.jf.append(jf); self.decoded.append(decoded); self.pred.append(pred)

    def _parse_promise(self, buf):
        t = self.tags
        if t.tokens_sep in buf:
            i = buf.index(t.tokens_sep)
            topic_ids, n_ids = buf[:i], buf[i + 1:]
            n_txt = self.decode(n_ids).strip()
            if n_txt.isdigit():
                n_attr = int(n_txt)
            else:
                n_attr = None
                self.errors.append(f"bad tokens attribute {n_txt!r}")
        else:
            topic_ids, n_attr = buf, None
        topic = self.decode(topic_ids)
        if not topic_valid(topic):
            self.errors.append(f"bad topic {topic!r}")
        return topic, n_attr

    def expected_opener(self):
        """Opener ids the current fork must be fed (eval mode)."""
        return self.cur.opener

    def opener_remaining(self):
        f = self.cur
        return f.opener[len(f.idx):]

    # -- main entry ----------------------------------------------------------
    def push(self, tok, forced=False):
        t = self.n
        tg = self.tags
        if self.state == PROMPT:
            self._emit(tok, self.main_next, 0, t, self.joined, False, -1)
            self.main_next += 1
            self.last_main = t
            if t + 1 >= self.prompt_len:
                self.state = MAIN
            return t
        if self.state == MAIN:
            p = self.main_next
            self._emit(tok, p, 0, t, self.joined, not forced, self.last_main if not forced else -1)
            self.main_next += 1
            self.last_main = t
            if not forced:
                self.main_decoded += 1
            if self.in_promise:
                if tok == tg.promise_close:
                    self.in_promise = False
                    topic, n_attr = self._parse_promise(self.promise_buf)
                    opener = self.opener_ids(topic) if self.opener_ids else None
                    f = Fork(len(self.forks) + 1, t, p, self.joined, topic, n_attr, opener)
                    self.forks.append(f)
                    self.state = OPENER
                elif tok in tg.tag_set and tok != tg.tokens_sep or tok == tg.eos:
                    self.errors.append("tag inside a promise")
                    self.in_promise = False
                    if tok == tg.eos:
                        self.state = DONE
                else:
                    self.promise_buf.append(tok)
            elif tok == tg.promise_open:
                self.in_promise, self.promise_buf = True, []
            elif tok == tg.sync:
                self.syncs += 1
                ends = [f.last_pos + 1 for f in self.forks[self.joined:] if f.last_pos is not None]
                self.main_next = max([self.main_next] + ends)
                self.joined = len(self.forks)
            elif tok == tg.eos:
                self.state = DONE
            elif tok in tg.tag_set:
                self.errors.append("stray tag in the main span")
            return t
        if self.state == OPENER:
            f = self.cur
            self._emit(tok, f.next_pos, f.fid, f.q, f.jf, False, -1)
            if f.opener is not None and tok != f.opener[len(f.idx)]:
                self.errors.append("opener mismatch")
            f.next_pos += 1
            f.idx.append(t)
            f.last_idx = t
            done = (len(f.idx) == len(f.opener)) if f.opener is not None else (tok == tg.async_open_close)
            if done:
                f.k = len(f.idx)
                reserved = f.n_attr if f.n_attr is not None else self.default_reserved
                self.main_next = f.p + 1 + reserved + f.k + self.closer_len
                self.state = FORK
            return t
        if self.state == FORK:
            f = self.cur
            self._emit(tok, f.next_pos, f.fid, f.q, f.jf, not forced, f.last_idx if not forced else -1)
            f.next_pos += 1
            f.idx.append(t)
            f.last_idx = t
            if not forced:
                f.decoded += 1
            if tok == tg.async_end:
                f.closed, f.closed_by_model = True, not forced
                f.last_pos = f.next_pos - 1
                self.state = MAIN
            else:
                f.content.append(tok)
                if (tok in tg.tag_set or tok == tg.eos) and not forced:
                    self.errors.append("tag inside a fork")
            return t
        raise RuntimeError("push after the end of the main span")

    # -- views ---------------------------------------------------------------
    def visible(self, t, j):
        sj = self.span[j]
        if sj == 0:
            return j <= self.mlim[t]
        if sj <= self.jf[t]:
            return True
        return sj == self.span[t] and j <= t

    def mask_row(self, t):
        return [self.visible(t, j) for j in range(self.n)]

    def labels(self, ignore=-100):
        """Per-token next-token targets: labels[pred[t]] = ids[t] for decoded t."""
        lab = [ignore] * self.n
        for t in range(self.n):
            if self.decoded[t]:
                p = self.pred[t]
                assert p >= 0 and lab[p] == ignore, (t, p)
                lab[p] = self.ids[t]
        return lab

    # -- metrics -------------------------------------------------------------
    def well_formed(self):
        if self.errors or self.state != DONE or self.in_promise:
            return False
        return all(f.closed_by_model for f in self.forks)

    def critical_path(self):
        """(decoded tokens, critical-path tokens) with one step per decoded token,
        forks decoding concurrently from the step after their promise."""
        tm = 0
        total = 0
        outstanding, finishes = [], []
        fi = 0
        for t in range(self.n):
            if self.span[t] != 0 or not self.decoded[t]:
                continue
            tm += 1
            total += 1
            tok = self.ids[t]
            if fi < len(self.forks) and self.forks[fi].q == t:
                d = self.forks[fi].decoded
                total += d
                outstanding.append(tm + d); finishes.append(tm + d)
                fi += 1
            elif tok == self.tags.sync:
                tm = max([tm] + outstanding)
                outstanding = []
        return total, max([tm] + finishes)


def build_example(ids, prompt_len, tags, decode, opener_ids=None, default_reserved=DEFAULT_RESERVED):
    """Training view of one flat transcript (prompt + response + eos token ids)."""
    tr = FlatTracker(tags, decode, prompt_len, opener_ids, default_reserved)
    for tok in ids:
        tr.push(tok)
    if tr.errors or tr.state != DONE:
        raise ValueError(f"malformed transcript: {tr.errors} state={tr.state}")
    return tr


def reference_views(ids, prompt_len, tags, decode, default_reserved=DEFAULT_RESERVED, closer_len=1):
    """Independent, explicit simulation of the engine (per-span context lists and
    counters) used to test FlatTracker.  Returns (positions, visible sets)."""
    pos = [None] * len(ids)
    vis = [None] * len(ids)
    main_ctx = []           # indices the main span currently sees
    outstanding = []        # (indices of a finished fork, its last position)
    counter = 0
    i = 0
    while i < prompt_len:
        pos[i] = counter; counter += 1
        main_ctx.append(i); vis[i] = set(main_ctx)
        i += 1
    buf = None
    while i < len(ids):
        tok = ids[i]
        pos[i] = counter; counter += 1
        main_ctx.append(i); vis[i] = set(main_ctx)
        if buf is not None and tok != tags.promise_close:
            buf.append(tok)
        if tok == tags.promise_open:
            buf = []
        elif tok == tags.promise_close and buf is not None:
            p = pos[i]
            if tags.tokens_sep in buf:
                n_attr = int(decode(buf[buf.index(tags.tokens_sep) + 1:]).strip())
            else:
                n_attr = default_reserved
            buf = None
            fork_ctx = list(main_ctx)
            fc = p + 1
            k = 0
            mine = []
            i += 1
            while True:
                ft = ids[i]
                pos[i] = fc; fc += 1
                fork_ctx.append(i); mine.append(i); vis[i] = set(fork_ctx)
                if ft == tags.async_open_close and k == 0:
                    k = len(mine)
                i += 1
                if ft == tags.async_end:
                    break
            outstanding.append((mine, fc - 1))
            counter = p + 1 + n_attr + k + closer_len
            continue
        elif tok == tags.sync:
            counter = max([counter] + [lp + 1 for _, lp in outstanding])
            for mine, _ in outstanding:
                main_ctx.extend(mine)
            outstanding = []
        elif tok == tags.eos:
            break
        i += 1
    return pos, vis
