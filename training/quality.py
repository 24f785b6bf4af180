"""Programmatic quality checks of one answer to one corpus record (stdlib only).

Stage 2 (stage2.py) scores sampled answers with these checks, and stage2_eval.py reports them.
`checks(rec, answer, pools)` returns {name: value in [0, 1] or None when the check does not apply}:

  well_formed       the PASTA-LANG is well formed (from the interpreter when the answer was decoded)
  count             chunks written (or list items, for a sequential answer) == items the prompt asked for
  topics_distinct   share of chunk topics that are distinct
  topics_covered    share of chunks whose text mentions its own topic
  reference_topics  share of the reference answer's chunk topics that the assembled answer mentions
  subject           the answer names the subject of the prompt
  arithmetic        every "a op b = c" in the answer is right and its last number is the prompt's result
  facts             Factbook numbers / WordNet glosses / GCIDE definitions match the source data
                    (corpus.real() pools when the sources are installed, else the record's own reference)

`quality(values)` is their mean, 0 when the answer is not well formed.
"""
import json
import re

import corpus

STOP = {"the", "and", "for", "with", "of", "a", "an", "to", "in", "on"}
# families whose prompt names a subject that the answer need not repeat (as in evaluate.summarize)
NO_SUBJECT = ("multipart", "namelist", "opposite", "spell")
_TAG = re.compile(r'<promise topic="([^"]*)"(?: tokens="\d+")?/>|<async topic="([^"]*)">|</async>|<sync/>')
_CHUNK = re.compile(r'<promise topic="([^"]*)"(?: tokens="\d+")?/><async topic="\1">(.*?)</async>', re.S)


class Answer:
    """An answer in its three views: flat transcript, assembled text, chunks [(topic, text)]."""

    def __init__(self, flat, assembled, chunks, well_formed):
        self.flat, self.assembled, self.chunks, self.well_formed = flat, assembled, list(chunks), well_formed


def flat_errors(flat):
    """Problems of a flat transcript: a promise not directly followed by its chunk with the same topic,
    an unclosed chunk, a stray or malformed tag.  [] when well formed."""
    errs = []
    tags = list(_TAG.finditer(flat))
    i = 0
    while i < len(tags):
        m = tags[i]
        if m.group(0).startswith("<promise"):
            nxt = tags[i + 1] if i + 1 < len(tags) else None
            end = tags[i + 2] if i + 2 < len(tags) else None
            if nxt is None or nxt.group(2) != m.group(1) or nxt.start() != m.end():
                errs.append(f"promise {m.group(1)!r} not followed by its chunk")
            if end is None or end.group(0) != "</async>":
                errs.append(f"chunk {m.group(1)!r} not closed")
            i += 3
            continue
        if m.group(0) != "<sync/>":
            errs.append(f"stray {m.group(0)!r}")
        i += 1
    if re.search(r"</?(promise|async|sync)\b", _TAG.sub("", flat)):
        errs.append("malformed tag")
    return errs


def answer_from_flat(flat):
    """Answer of a flat transcript (text, e.g. hand-written or from corpus.render_flat)."""
    chunks = [(m.group(1), m.group(2)) for m in _CHUNK.finditer(flat)]
    assembled = _CHUNK.sub(lambda m: m.group(2), flat).replace("<sync/>", "")
    return Answer(flat, assembled, chunks, not flat_errors(flat))


def reference_answer(rec):
    """The record's own answer (the corpus reference)."""
    return Answer(corpus.render_flat(rec), corpus.render_assembled(rec),
                  [(p[1], p[2]) for p in corpus.forks_of(rec)], True)


def mentions(topic, text):
    """The text contains every word (>= 3 letters, not a stop word) of the topic."""
    words = [w for w in re.findall(r"[a-z0-9]+", topic.lower()) if len(w) >= 3 and w not in STOP]
    low = text.lower()
    return all(w in low for w in words) if words else topic.lower() in low


def list_items(text):
    """Number of list items (lines starting with '1.', '1)', '- ' or '**') in a sequential answer."""
    return len(re.findall(r"(?m)^\s*(?:\d+[.)]\s|-\s|\*\*)", text))


def expected_arith(prompt):
    """The result an arithmetic prompt of the corpus asks for, or None."""
    m = re.search(r"has (\d+) \w+, gets (\d+) more, and then gives away (\d+)", prompt)
    if m:
        a, b, c = map(int, m.groups())
        return a + b - c
    e = prompt.lower().replace("plus", "+").replace("minus", "-").replace("times", "*")
    e = re.sub(r"(?<=[\d)])\s*x\s*(?=[\d(])", " * ", e)
    m = re.search(r"[\d(][\d\s+\-*()]*[\d)]", e)
    if not m or not re.search(r"\d\s*\)?\s*[-+*]\s*\(?\s*\d", m.group(0)):
        return None
    try:
        return int(eval(m.group(0), {"__builtins__": {}}, {}))  # digits, + - * and parentheses only
    except (SyntaxError, ValueError, TypeError):
        return None


def arithmetic_ok(prompt, text):
    """1.0 when every equation 'a op b = c' / 'a plus b is c' in text holds and the last number of text
    is the prompt's result; 0.0 otherwise; None when the prompt is not arithmetic."""
    want = expected_arith(prompt)
    if want is None:
        return None
    ops = {"+": lambda a, b: a + b, "plus": lambda a, b: a + b, "-": lambda a, b: a - b,
           "minus": lambda a, b: a - b, "x": lambda a, b: a * b, "*": lambda a, b: a * b,
           "times": lambda a, b: a * b}
    for a, op, b, c in re.findall(r"(\d+)\s*(\+|-|x|\*|plus|minus|times)\s*(\d+)\s*(?:=|is)\s*(-?\d+)", text):
        if ops[op](int(a), int(b)) != int(c):
            return 0.0
    nums = re.findall(r"-?\d+", text)
    return 1.0 if nums and int(nums[-1]) == want else 0.0


def _strip_header(text, topic):
    return re.sub(r"^\s*(?:\d+[.)] |- |\*\*)?" + re.escape(topic) + r"(?:\*\*)?(?::| -|\.) ", "", text, flags=re.I)


def _first_sentence(text):
    return re.split(r"(?<=\.)\s", text.strip(), maxsplit=1)[0]


def _numbers(text):
    return re.findall(r"\d[\d,.]*\d|\d", text)


def facts_ok(rec, ans, pools=None):
    """Share of the answer's checkable facts that match the source data (None: no facts to check)."""
    fam, subj = rec["family"], rec.get("subject")
    ref = reference_answer(rec)
    if fam in ("factbook", "countryfact"):
        if pools and subj in pools["country"]:
            source = json.dumps(pools["country"][subj]) + " 2015"
        else:
            source = ref.assembled + " 2015"
        texts = [_strip_header(t, topic) for topic, t in ans.chunks] or [ans.assembled]
        if ans.chunks:
            texts.append(_CHUNK.sub("", ans.flat).replace("<sync/>", ""))
        nums = [n for t in texts for n in _numbers(re.sub(r"(?m)^\s*\d+[.)] ", "", t))]
        if not nums:
            return 0.0 if _numbers(ref.assembled.replace("2015", "")) else None
        return sum(n in source for n in nums) / len(nums)
    if fam == "kinds":
        if pools and subj in pools["category"]:
            gloss = {k["name"]: k["gloss"] for k in pools["category"][subj]["kinds"]}
        else:
            gloss = {t: _first_sentence(_strip_header(c, t)) for t, c in ref.chunks}
        if ans.chunks:
            return sum(t in gloss and gloss[t] in c for t, c in ans.chunks) / len(ans.chunks)
        named = [t for t, _ in ref.chunks]
        return sum(gloss.get(t, "\0") in ans.assembled for t in named) / max(len(named), 1)
    if fam == "meaning":
        if pools and subj in pools["word"]:
            body = re.sub(r"^to ", "", corpus._gcide_def(pools["word"][subj]["senses"][0]["defs"][0][0]))
        else:
            body = _first_sentence(ref.assembled)
        return 1.0 if body in ans.assembled else 0.0
    return None


def checks(rec, ans, pools=None):
    """{check name: value in [0, 1] or None when it does not apply} (see the module docstring)."""
    out = {"well_formed": 1.0 if ans.well_formed else 0.0}
    n = rec.get("n_items")
    if n is not None and rec["parallel"]:
        items = len(ans.chunks) if ans.chunks else list_items(ans.assembled)
        out["count"] = 1.0 if items == n else 0.0
    else:
        out["count"] = None
    if ans.chunks:
        topics = [t.strip().lower() for t, _ in ans.chunks]
        out["topics_distinct"] = len(set(topics)) / len(topics)
        out["topics_covered"] = sum(mentions(t, c) for t, c in ans.chunks) / len(ans.chunks)
    else:
        out["topics_distinct"] = out["topics_covered"] = None
    ref_topics = [p[1] for p in corpus.forks_of(rec)]
    out["reference_topics"] = (sum(mentions(t, ans.assembled) for t in ref_topics) / len(ref_topics)
                               if ref_topics else None)
    subj = rec.get("subject")
    if subj and rec["family"] not in NO_SUBJECT and subj.lower() in rec["prompt"].lower():
        out["subject"] = 1.0 if subj.lower() in ans.assembled.lower() else 0.0
    else:
        out["subject"] = None
    out["arithmetic"] = arithmetic_ok(rec["prompt"], ans.assembled) if rec["family"] == "arithmetic" else None
    out["facts"] = facts_ok(rec, ans, pools)
    return out


def quality(values):
    """Mean of the applicable check values; 0 when the answer is not well formed."""
    if not values.get("well_formed"):
        return 0.0
    v = [x for x in values.values() if x is not None]
    return sum(v) / len(v)
