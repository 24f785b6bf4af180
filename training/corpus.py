#!/usr/bin/env python3
"""Synthetic instruction -> response corpus written in PASTA-LANG (stdlib only).

Each record is a JSON object:
  id, split ("train" | "test"), family, parallel (bool), prompt,
  parts: list of ["text", str] | ["fork", topic, content] | ["sync"],
  n_items: number of items the prompt explicitly asks for (or null),
  subject: the held-out unit the prompt is about (or null).

`render_flat(record, count)` turns parts into the FLAT TRANSCRIPT (serial view)
with tokens="N" filled in from a token counter; `render_assembled(record)` gives
the text a user sees.  Deterministic: record i of a split depends only on
(seed, split, i).  Subjects of the TEST split never occur in the train split.

Families with real content (World Factbook countries, WordNet kinds, GCIDE definitions) read the
JSON that training/fetch_sources.sh writes to training/work/sources (--sources, or $PASTA_SOURCES);
the corpus is deterministic given the seed and those files.

Usage:
  bash training/fetch_sources.sh
  python3 training/corpus.py --seed 1234 --train 300000 --test 500 --out training/work/corpus
"""
import argparse
import json
import math
import os
import random
import re
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pasta_words as W  # noqa: E402

TEST_MOD, TEST_REM = 7, 3  # item i of every subject list is held out iff i % 7 == 3


def _split_list(items):
    train = [x for i, x in enumerate(items) if i % TEST_MOD != TEST_REM]
    test = [x for i, x in enumerate(items) if i % TEST_MOD == TEST_REM]
    return {"train": train, "test": test}


def _build_pools():
    pools = {}
    pools["cat_objects"] = {c: _split_list(v["objects"]) for c, v in W.ACTIVITY_CATEGORIES.items()}
    pools["life"] = _split_list(W.LIFE_TASKS)
    pools["things"] = {g: _split_list(v) for g, v in W.THING_GROUPS.items()}
    pools["cities"] = _split_list(W.CITIES)
    pools["themes"] = _split_list(W.IDEA_THEMES)
    pools["chars"] = _split_list(W.STORY_CHARACTERS)
    pools["opposites"] = _split_list(W.OPPOSITES)
    return pools


POOLS = _build_pools()


def all_subjects(split):
    """Every subject string of a split (used to verify the hold-out), real-content subjects included."""
    return _old_subjects(split) | real_subjects(split)


def _old_subjects(split):
    out = set()
    for c in POOLS["cat_objects"].values():
        out.update(c[split])
    out.update(POOLS["life"][split])
    for g in POOLS["things"].values():
        out.update(g[split])
    out.update(POOLS["cities"][split])
    out.update(POOLS["themes"][split])
    out.update(POOLS["chars"][split])
    out.update(w for w, _ in POOLS["opposites"][split])
    return out


# ---------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------

def cap(s):
    return s[:1].upper() + s[1:] if s else s


def a_an(word):
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


_SINGULAR_S = {"hummus", "glass", "tennis", "billiards", "darts", "physics", "economics",
               "statistics", "genetics", "linguistics", "robotics", "politics", "news",
               "gymnastics", "bonsai care", "stained glass", "mathematics", "couscous",
               "walking", "the countryside", "the seaside", "double bass", "the double bass", "bass", "the bass"}


def is_plural(np):
    low = np.lower()
    if low in _SINGULAR_S or low.startswith("working") or low.endswith("ing"):
        return False
    return low.endswith("s")


def be(np):
    return "are" if is_plural(np) else "is"


def num_phrase(rng, n):
    r = rng.random()
    if r < 0.55:
        return str(n)
    return W.NUM_WORDS[n]


def strip_article(s):
    for a in ("a ", "an ", "the "):
        if s.startswith(a):
            return s[len(a):]
    return s


def pick_n(rng, lo=2, hi=8):
    weights = {2: 2, 3: 7, 4: 12, 5: 12, 6: 10, 7: 6, 8: 4}
    ks = [k for k in weights if lo <= k <= hi]
    return rng.choices(ks, [weights[k] for k in ks])[0]


def topic_ok(t):
    return 0 < len(t) <= 64 and not any(c in t for c in '"<>')


# ---------------------------------------------------------------------------
# Subject samplers
# ---------------------------------------------------------------------------

# Invented words stand in for a share of the TRAINING subjects, so that the model
# learns to copy a subject from the prompt instead of recalling one it memorised.
# They never occur in the test split.
NOVEL_P = 0.35
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "t", "v", "z", "br", "dr", "gr", "tr",
           "pl", "kl", "st", "sh", "ch", "h", "j", "w"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ee", "oo"]
_CODAS = ["", "", "", "n", "r", "l", "m", "k", "t", "nd", "rt"]
_TEST_LOWER = None


def novel_word(rng, syllables=None):
    global _TEST_LOWER
    if _TEST_LOWER is None:
        _TEST_LOWER = {x.lower() for x in all_subjects("test")}
    while True:
        n = syllables or rng.choice([2, 2, 3])
        w = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + (rng.choice(_CODAS) if i == n - 1 else "")
                    for i in range(n))
        if w not in _TEST_LOWER and not w.endswith("s"):
            return w


def novel_object(rng, cat):
    w = novel_word(rng)
    if cat == "language":
        return cap(w) + rng.choice(["ian", "ese", "ish", "ic", "i"])
    if cat in ("outdoor", "craft"):
        return w + "ing"
    if cat == "study":
        return w + rng.choice(["ology", "ics", "ography"])
    return w


def pick_object(rng, split, cat):
    if split == "train" and rng.random() < NOVEL_P:
        return novel_object(rng, cat)
    return rng.choice(POOLS["cat_objects"][cat][split])


def pick_thing(rng, split, g):
    if split == "train" and rng.random() < NOVEL_P:
        return novel_word(rng) + "s"
    return rng.choice(POOLS["things"][g][split])


def pick_city(rng, split):
    if split == "train" and rng.random() < NOVEL_P:
        return cap(novel_word(rng))
    return rng.choice(POOLS["cities"][split])


def pick_theme(rng, split):
    if split == "train" and rng.random() < NOVEL_P:
        return a_an(novel_word(rng) + " " + rng.choice(["party", "festival", "fair", "night", "club",
                                                        "workshop", "project", "dinner"]))
    return rng.choice(POOLS["themes"][split])


def pick_character(rng, split):
    if split == "train" and rng.random() < NOVEL_P:
        return a_an(rng.choice(["young", "old", "clever", "shy", "brave", "tiny", "friendly", "curious"])
                    + " " + novel_word(rng))
    return rng.choice(POOLS["chars"][split])


def sample_activity(rng, split):
    """Returns (activity phrase, subject key)."""
    if rng.random() < 0.3:
        s = rng.choice(POOLS["life"][split])
        return s, s
    cat = rng.choice(list(W.ACTIVITY_CATEGORIES))
    obj = pick_object(rng, split, cat)
    tmpl = rng.choice(W.ACTIVITY_CATEGORIES[cat]["activity"])
    if obj[:1].lower() in "aeiou":  # "preparing for an algebra exam"
        tmpl = tmpl.replace("a {o}", "an {o}")
    return tmpl.format(o=obj), obj


def sample_thing(rng, split, group=None):
    g = group or rng.choice(list(W.THING_GROUPS))
    return pick_thing(rng, split, g), g


def sample_definable(rng, split):
    """(noun phrase, kind, extra sentences, subject key, category)."""
    if rng.random() < 0.6:
        cat = rng.choice(list(W.ACTIVITY_CATEGORIES))
        info = W.ACTIVITY_CATEGORIES[cat]
        obj = pick_object(rng, split, cat)
        np = ("the " + obj) if cat == "instrument" else obj
        return np, info["kind"], info["extra"], obj, cat
    g = rng.choice(list(W.THING_GROUPS))
    obj = pick_thing(rng, split, g)
    return obj, W.THING_KIND[g], W.THING_EXTRA[g], obj, g


ALL_KINDS = sorted({v["kind"] for v in W.ACTIVITY_CATEGORIES.values()} | set(W.THING_KIND.values()))

# ---------------------------------------------------------------------------
# Sentence pools
# ---------------------------------------------------------------------------

TIP_FIRST = [
    "Good {a} can make {s} much easier.",
    "Most beginners underestimate the role of {a} in {s}.",
    "Set aside {t} for {a}.",
    "Do not ignore {a}; it is the base of everything else.",
    "Keep your {a} simple at first.",
    "Ask someone with experience how they handle {a}.",
    "Write down a short plan for {a} before you begin.",
    "Small changes to your {a} can make a big difference.",
    "Check your {a} every week and adjust it when needed.",
    "Give your {a} a fixed place in your routine.",
    "It is easy to forget about {a}, so put a reminder in your calendar.",
    "Treat {a} as a skill of its own.",
    "Start every session by thinking about {a}.",
    "When {s} feels hard, look at your {a} first.",
    "Watch how others handle {a} and copy what works for you.",
    "Give {a} a little attention every day, even when you are busy.",
    "Think about {a} early, long before it becomes a problem.",
]

ELAB = [
    "This keeps {s} enjoyable instead of stressful.",
    "You will notice the difference within {p}.",
    "It sounds simple, but many people skip it.",
    "Over {p}, these small habits add up.",
    "If something feels wrong, slow down and try again.",
    "A friend can help you keep this going.",
    "Keep it light and do not aim for perfection.",
    "Try it for {t} and see how it feels.",
    "Most people who stick with {s} say this helped them.",
    "Write down what worked so you can repeat it.",
    "Even on busy days, a short version is better than nothing.",
    "The goal is steady progress, not quick results.",
    "Adjust it as you learn more about what suits you.",
    "It also makes the next step much easier.",
    "Celebrate small wins along the way.",
    "Be patient with yourself while you learn.",
    "Nobody gets this right on the first try.",
    "Over time it will start to feel natural.",
    "Make a note in your phone so you do not forget.",
    "Share your progress with someone who cares about it.",
    "It costs almost nothing and saves a lot of time later.",
    "Review it at the end of each week.",
]

REASON_FIRST = [
    "{S} is a simple way to gain {b}.",
    "Many people start {s} for {b}, and they are rarely disappointed.",
    "One clear reason is {b}, which grows the longer you keep at it.",
    "{S} brings {b} into your week without much effort.",
    "If you want {b}, {s} is a good place to look.",
    "People often say that the biggest surprise of {s} was {b}.",
    "{S} is often praised for the {b} it brings, and it is easy to see why.",
]

REASON_ELAB = [
    "It works even if you only have {t}.",
    "The effect grows the longer you keep going.",
    "You do not need to be an expert to feel it.",
    "It is one of the reasons people stay with it for years.",
    "Friends and family often notice it too.",
    "After {p}, most people can feel the change.",
]

STEP_FIRST = [
    "Set up {st} before you move on.",
    "Make time for {st}.",
    "Focus on {st} for a while.",
    "Look for {st} that fits {s}.",
    "Take care of {st} so that {s} goes smoothly.",
    "Spend {t} on {st}.",
    "Now turn to {st}.",
    "Get {st} ready and keep it simple.",
]

IDEA_FIRST = [
    "Set up {ia} for {th}.",
    "{IA} is an easy way to make {th} memorable.",
    "Try {ia}; it works well for {th}.",
    "Guests of all ages enjoy {ia}.",
    "For {th}, {ia} costs little and brings people together.",
    "{IA} gives {th} a personal touch.",
    "Plan {ia} as the highlight of {th}.",
]

IDEA_ELAB = [
    "Prepare the materials a day in advance.",
    "Ask one person to be in charge of it.",
    "It works indoors and outdoors.",
    "Keep the rules short and clear.",
    "Take photos so people can remember it.",
    "It fits almost any budget.",
    "Let people join or leave whenever they like.",
    "Small prizes make it even more fun.",
    "It can be set up in less than an hour.",
    "Everyone can take part, even without experience.",
]

MISTAKE_FIRST = [
    "A common mistake is {m}.",
    "{M} can slow down progress more than people think.",
    "Watch out for {m}, especially in the first {p}.",
    "When you are new to {s}, watch out for {m}.",
    "Many people struggle with {s} because of {m}.",
]

MISTAKE_FIX = [
    "Instead, take it one step at a time.",
    "Instead, plan a little before each session.",
    "Instead, ask for help early.",
    "Instead, set a clear and small goal.",
    "Instead, keep a simple record of what you do.",
    "Instead, give yourself time to rest and recover.",
    "Instead, focus on the basics until they feel easy.",
    "A little patience fixes most of it.",
]

PRO_FIRST = [
    "{Th} can be a good choice when {a} matters.",
    "When it comes to {a}, {th} can save you a lot of trouble.",
    "Many people choose {th} because of {a}.",
    "One of the strongest points of {th} is {a}.",
    "In terms of {a}, {th} can be hard to beat.",
]

CON_FIRST = [
    "{A} can be a real downside of {th}.",
    "When it comes to {a}, {th} can let you down.",
    "Some people give up on {th} because of {a}.",
    "Think about {a} before you decide on {th}.",
    "{Th} can fall short when it comes to {a}.",
]

THING_ELAB = [
    "This depends a lot on where you live.",
    "It is worth checking this before you decide.",
    "Prices and options change over time.",
    "For many people this is the deciding factor.",
    "Not everyone cares about this, but many do.",
    "Ask someone who has tried it for a while.",
    "It matters most over the long run.",
    "Reviews from other users can help here.",
]

FEATURE_FIRST = [
    "An important part of what {th} can offer is {a}.",
    "Looking at {a}, {th} can stand out from other options.",
    "People who pick {th} often mention {a} first.",
    "{A} can shape how {th} {fit} into daily life.",
]

COMPARE_ASPECT = [
    "For {a}, the stronger option is often {x}, with {y} not far behind.",
    "On {a}, {x} and {y} are quite different.",
    "If {a} matters most to you, {x} usually wins over {y}.",
    "In terms of {a}, {y} can surprise you, although the safer choice is {x}.",
    "On {a}, it is close: both {x} and {y} do reasonably well.",
]

COMPARE_ITEM = [
    "{X} can be great for {a1} and {a2}.",
    "People who choose {x} usually care about {a1}.",
    "The main drawback of {x} is {a3}.",
    "{X} can do well on {a1}, but {a3} can be a problem.",
]

TRIP_SENT = [
    "Start the morning with the {act} and take your time.",
    "In the afternoon, head to the {act}.",
    "Spend a few hours on the {act}; it is one of the best parts of {city}.",
    "Finish the day with dinner near the {act}.",
    "Book the {act} in advance, because it gets busy.",
    "Visiting the {act} is a relaxed way to see a different side of {city}.",
]

TRIP_ELAB = [
    "Wear comfortable shoes.",
    "Leave some free time for a long lunch.",
    "Public transport is the easiest way to get around.",
    "Bring a light jacket in case the weather changes.",
    "Keep the evening open for a walk.",
    "Try a local snack along the way.",
]

WEEK_FIRST = [
    "Focus on {a} and keep the sessions short.",
    "This week is all about {a}.",
    "Build on what you learned by adding {a}.",
    "Put {a} at the center of every session.",
]

STUDY_SUBTOPICS = [
    "the key terms", "practice problems", "past exams", "summaries", "flash cards",
    "a mock test", "weak spots", "group review", "diagrams", "reading notes",
    "core formulas", "short quizzes", "the main chapters", "timed exercises",
]

STUDY_SENT = [
    "Review {sub} for {subj} and mark anything unclear.",
    "Spend {t} on {sub}.",
    "Use {sub} to check what you really know.",
    "Go through {sub} slowly and explain each part out loud.",
]

TASK_FIRST = [
    "Sort out the {task} early so nothing is left to the last minute.",
    "The {task} needs a clear owner and a simple checklist.",
    "Decide on the {task} first, since many other choices depend on it.",
    "Keep the {task} simple and within your budget.",
]

STORY_MIDDLE = [
    "Every morning, the {c} walked a little further than the day before.",
    "One day, a stranger offered some advice.",
    "At first, nothing seemed to work.",
    "Then the weather changed, and everything became harder.",
    "A friend came to help and brought a good idea.",
    "After many tries, a new plan appeared.",
    "The {c} kept going, one small step at a time.",
    "Night fell, but the {c} did not give up.",
    "Soon the whole street was talking about it.",
    "There was a moment when the {c} almost turned back.",
]

STORY_END = [
    "In the end, the {c} succeeded and smiled all the way home.",
    "In the end, the {c} learned that patience matters more than luck.",
    "Finally, everyone celebrated together.",
    "At last, the {c} could rest, happy and proud.",
    "From that day on, the {c} was never afraid again.",
]

NAMES = ["Anna", "Ben", "Carla", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jack",
         "Kira", "Leo", "Maya", "Noah", "Olga", "Paul", "Rosa", "Sam", "Tara", "Umar",
         "Vera", "Will", "Yara", "Zoe", "Omar", "Lena", "Ivan", "Nina", "Mateo", "Sofia"]


def fill(rng, tmpl, **kw):
    kw.setdefault("t", rng.choice(W.TIMEFRAMES))
    kw.setdefault("p", rng.choice(W.PERIODS))
    out = tmpl
    for k, v in kw.items():
        out = out.replace("{" + k + "}", v).replace("{" + k.upper() + "}", cap(v))
    return out


def verbosity(rng, n, level="default"):
    """Number of extra sentences per chunk; the prompt can ask for short or detailed points."""
    if level == "short":
        return (1, 2)
    if level == "long":
        return (6, 9) if n <= 4 else (5, 7) if n <= 6 else (3, 5)
    return (4, 7) if n <= 6 else (2, 5)


def length_style(rng, prompt):
    """Optionally append a length instruction to a list prompt; returns (prompt, level)."""
    r = rng.random()
    if r < 0.12:
        return prompt + " " + rng.choice(["Keep each point short.", "Keep it brief.", "Short points, please."]), "short"
    if r < 0.24:
        return prompt + " " + rng.choice(["Explain each point in detail.", "Go into detail on each one.",
                                          "Be thorough."]), "long"
    return prompt, "default"


def body(rng, first, elab_pool, lohi, **kw):
    k = rng.randint(*lohi)
    sents = [fill(rng, first, **kw)]
    for e in rng.sample(elab_pool, min(k, len(elab_pool))):
        sents.append(fill(rng, e, **kw))
    return " ".join(sents)


HEADERS = [
    lambda i, t: f"{i}. {cap(t)}: ",
    lambda i, t: f"{i}) {cap(t)} - ",
    lambda i, t: f"- {cap(t)}: ",
    lambda i, t: f"**{cap(t)}**: ",
    lambda i, t: f"{cap(t)}. ",
]


# ---------------------------------------------------------------------------
# Response assembly helpers
# ---------------------------------------------------------------------------

class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.parts = []
        self.sep = "\n\n" if rng.random() < 0.25 else "\n"

    def text(self, s):
        if not s:
            return
        if self.parts and self.parts[-1][0] == "text":
            self.parts[-1][1] += s
        else:
            self.parts.append(["text", s])

    def fork(self, topic, content):
        assert topic_ok(topic), topic
        self.parts.append(["fork", topic, content])
        self.text(self.sep)

    def sync(self):
        self.parts.append(["sync"])

    def forks_then_outro(self, items, outro, allow_nosync=True):
        for t, c in items:
            self.fork(t, c)
        r = self.rng.random()
        if outro is None or (r < 0.2 and allow_nosync):
            # end right after the forks: implicit sync at the end of the main span
            self._strip_trailing_sep()
            return
        if r < 0.3 and allow_nosync:
            self.text(outro)      # outro that does not depend on the chunks: no sync needed
            return
        self.sync()
        self.text(outro)

    def _strip_trailing_sep(self):
        if self.parts and self.parts[-1][0] == "text":
            self.parts[-1][1] = self.parts[-1][1].rstrip("\n")
            if not self.parts[-1][1]:
                self.parts.pop()


def record(family, parallel, prompt, parts, n_items=None, subject=None):
    return {"family": family, "parallel": parallel, "prompt": prompt, "parts": parts,
            "n_items": n_items, "subject": subject}


def maybe_lower(rng, prompt):
    r = rng.random()
    if r < 0.08:
        prompt = prompt[:1].lower() + prompt[1:]
    if r > 0.95 and prompt.endswith(("?", ".")):
        prompt = prompt[:-1]
    return prompt


# ---------------------------------------------------------------------------
# Parallel families
# ---------------------------------------------------------------------------

def fam_tips(rng, split):
    s, subj = sample_activity(rng, split)
    n = pick_n(rng)
    counted = rng.random() < 0.8
    np_ = num_phrase(rng, n)
    if counted:
        prompt = rng.choice([
            "Give me {n} tips for {s}.", "What are {n} tips for {s}?", "Share {n} tips on {s}.",
            "I need {n} tips for {s}.", "Can you give me {n} practical tips for {s}?",
            "List {n} tips for {s}.", "Any {n} tips to get better at {s}?",
            "Write {n} quick tips about {s}.",
        ]).format(n=np_, s=s)
    else:
        prompt = rng.choice([
            "Give me some tips for {s}.", "I am new to {s}. Any tips?", "How can I get better at {s}?",
            "What tips do you have for {s}?", "Help me improve at {s}.",
        ]).format(s=s)
    b = Builder(rng)
    hdr = rng.choice(HEADERS)
    b.text(rng.choice([
        f"Here are {np_} tips for {s}:" if counted else f"Here are some tips for {s}:",
        f"Sure! Try these {'tips' if not counted else np_ + ' tips'}:",
        f"{cap(s)} gets easier with a few good habits:",
        "Good question. Here is what helps:",
        "",
    ]) + (b.sep if rng.random() < 0.9 else " "))
    if b.parts and b.parts[0][1].strip() == "":
        b.parts = []
    aspects = rng.sample(W.TIP_ASPECTS, n)
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, n, lvl)
    items = []
    for i, a in enumerate(aspects, 1):
        items.append((a, hdr(i, a) + body(rng, rng.choice(TIP_FIRST), ELAB, lohi, a=a, s=s)))
    outro = rng.choice([f"Good luck with {s}!", "Start with one and add the rest over time.",
                        "Pick the ones that fit your life best.", "Have fun!",
                        "Most of all, enjoy the process.", "Which one will you try first?", None])
    if n >= 4 and rng.random() < 0.25:
        k = rng.randint(2, n - 2)
        b.text(rng.choice(["Before you start:", "First, the basics:"]) + b.sep)
        for t, c in items[:k]:
            b.fork(t, c)
        b.sync()
        b.text(rng.choice(["Once you are going:", "After that:", "Later on:"]) + b.sep)
        b.forks_then_outro(items[k:], outro)
    else:
        b.forks_then_outro(items, outro)
    return record("tips", True, maybe_lower(rng, prompt), b.parts, n if counted else None, subj)


def fam_reasons(rng, split):
    s, subj = sample_activity(rng, split)
    n = pick_n(rng, 2, 7)
    np_ = num_phrase(rng, n)
    prompt = rng.choice([
        "Why should I start {s}? Give {n} reasons.", "Give me {n} reasons to try {s}.",
        "What are {n} good reasons for {s}?", "List {n} benefits of {s}.",
        "Convince me to try {s} with {n} reasons.",
    ]).format(n=np_, s=s)
    b = Builder(rng)
    b.text(rng.choice([f"Here are {np_} reasons to try {s}:", f"{cap(s)} is worth it. {cap(np_)} reasons:",
                       "Great idea! Here is why:", f"There are many benefits. {cap(np_)} of them:"]) + b.sep)
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, n, lvl)
    hdr = rng.choice(HEADERS)
    items = []
    for i, bn in enumerate(rng.sample(W.BENEFITS, n), 1):
        items.append((bn, hdr(i, bn) + body(rng, rng.choice(REASON_FIRST), ELAB + REASON_ELAB, lohi, b=bn, s=s)))
    outro = rng.choice(["Give it a try for a month and see for yourself.", "Any one of these is enough to start.",
                        f"That is why so many people love {s}.", None])
    b.forks_then_outro(items, outro)
    return record("reasons", True, maybe_lower(rng, prompt), b.parts, n, subj)


def fam_steps(rng, split):
    s, subj = sample_activity(rng, split)
    n = pick_n(rng, 3, 8)
    np_ = num_phrase(rng, n)
    prompt = rng.choice([
        "How do I get started with {s}? List {n} steps.", "What are the {n} steps to start {s}?",
        "Give me {a_n}-step guide to {s}.", "Break {s} into {n} steps for a beginner.",
    ]).format(n=np_, s=s, a_n=a_an(np_))
    b = Builder(rng)
    b.text(rng.choice([f"Here is a simple {np_}-step path into {s}:", "Follow these steps:",
                       f"Getting started with {s} is easier in steps:"]) + b.sep)
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, n, lvl)
    items = []
    for i, st in enumerate(rng.sample(W.STEP_TOPICS, n), 1):
        topic = strip_article(st)
        items.append((topic, f"Step {i}: " + body(rng, rng.choice(STEP_FIRST), ELAB, lohi, st=st, s=s)))
    outro = rng.choice(["After that, just keep going.", "Take each step at your own pace.",
                        "That is all you need to begin.", None])
    b.forks_then_outro(items, outro)
    return record("steps", True, maybe_lower(rng, prompt), b.parts, n, subj)


def fam_ideas(rng, split):
    th = pick_theme(rng, split)
    n = pick_n(rng)
    np_ = num_phrase(rng, n)
    prompt = rng.choice([
        "Suggest {n} ideas for {th}.", "Give me {n} ideas for {th}.", "I need {n} fun ideas for {th}.",
        "Brainstorm {n} ideas for {th}.", "What are {n} creative ideas for {th}?",
    ]).format(n=np_, th=th)
    b = Builder(rng)
    b.text(rng.choice([f"Here are {np_} ideas for {th}:", "Some ideas to get you started:",
                       f"Fun ideas for {th}:", "Sure, here you go:"]) + b.sep)
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, n, lvl)
    hdr = rng.choice(HEADERS)
    items = []
    for i, it in enumerate(rng.sample(W.IDEA_ITEMS, n), 1):
        items.append((it, hdr(i, it) + body(rng, rng.choice(IDEA_FIRST), IDEA_ELAB + ELAB[:6], lohi,
                                            ia=a_an(it), th=th, s=th)))
    outro = rng.choice(["Mix and match to fit your group.", "Have a wonderful time!",
                        f"Any of these will make {th} special.", None])
    b.forks_then_outro(items, outro)
    return record("ideas", True, maybe_lower(rng, prompt), b.parts, n, th)


def fam_mistakes(rng, split):
    s, subj = sample_activity(rng, split)
    n = pick_n(rng, 2, 7)
    np_ = num_phrase(rng, n)
    prompt = rng.choice([
        "What are {n} common mistakes in {s}?", "List {n} mistakes beginners make in {s}.",
        "Which {n} mistakes should I avoid when {s}?",
    ]).format(n=np_, s=s)
    b = Builder(rng)
    b.text(rng.choice([f"Here are {np_} mistakes to avoid:", "Watch out for these:",
                       f"Beginners in {s} often run into these problems:"]) + b.sep)
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, n, lvl)
    hdr = rng.choice(HEADERS)
    items = []
    for i, m in enumerate(rng.sample(W.MISTAKES, n), 1):
        first = fill(rng, rng.choice(MISTAKE_FIRST), m=m, s=s) + " " + rng.choice(MISTAKE_FIX)
        items.append((m, hdr(i, m) + body(rng, first, ELAB, (lohi[0] - 1, lohi[1] - 1), s=s)))
    outro = rng.choice(["Avoid these and you will move much faster.", "Everyone makes some of them, so relax.", None])
    b.forks_then_outro(items, outro)
    return record("mistakes", True, maybe_lower(rng, prompt), b.parts, n, subj)


def fam_proscons(rng, split):
    th, g = sample_thing(rng, split)
    npro, ncon = rng.randint(1, 4), rng.randint(1, 4)
    if npro + ncon < 3:
        npro += 1
    counted = rng.random() < 0.5
    if counted:
        prompt = "Give me {a} pros and {b} cons of {th}.".format(
            a=num_phrase(rng, npro) if npro > 1 else "one", b=num_phrase(rng, ncon) if ncon > 1 else "one", th=th)
    else:
        prompt = rng.choice(["What are the pros and cons of {th}?", "Pros and cons of {th}?",
                             "Should I consider {th}? Weigh the pros and cons."]).format(th=th)
    b = Builder(rng)
    b.text(rng.choice([f"Here is a balanced look at {th}." + b.sep, "", "Sure." + b.sep]))
    asp = rng.sample(W.THING_ASPECTS, npro + ncon)
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, npro + ncon, lvl)
    pros = [(a, f"+ {cap(a)}: " + body(rng, rng.choice(PRO_FIRST), THING_ELAB, lohi, a=a, th=th)) for a in asp[:npro]]
    cons = [(a, f"- {cap(a)}: " + body(rng, rng.choice(CON_FIRST), THING_ELAB, lohi, a=a, th=th)) for a in asp[npro:]]
    b.text("Pros:" + b.sep)
    for t, c in pros:
        b.fork(t, c)
    if rng.random() < 0.25:
        b.sync()
    b.text("Cons:" + b.sep)
    for t, c in cons:
        b.fork(t, c)
    b.sync()
    b.text(rng.choice([
        f"Overall, {th} make sense if {asp[0]} matters more to you than {asp[npro]}." if is_plural(th)
        else f"Overall, {th} makes sense if {asp[0]} matters more to you than {asp[npro]}.",
        f"In short: strong on {asp[0]}, weaker on {asp[npro]}.",
        "It comes down to what you value most.",
    ]))
    return record("proscons", True, maybe_lower(rng, prompt), b.parts, (npro + ncon) if counted else None, th)


def fam_compare(rng, split):
    g = rng.choice([k for k, v in POOLS["things"].items() if len(v[split]) >= 2])
    x, y = rng.sample(POOLS["things"][g][split], 2)
    if split == "train" and rng.random() < NOVEL_P:
        x = pick_thing(rng, split, g) if rng.random() < 0.5 else novel_word(rng) + "s"
        if rng.random() < 0.5:
            y = novel_word(rng) + "s"
        if x == y:
            y = novel_word(rng, 3) + "s"
    b = Builder(rng)
    if rng.random() < 0.7:
        k = rng.randint(2, 5)
        asp = rng.sample(W.THING_ASPECTS, k)
        listed = rng.random() < 0.6
        if listed:
            alist = ", ".join(asp[:-1]) + " and " + asp[-1]
            prompt = rng.choice(["Compare {x} and {y} in terms of {al}.",
                                 "How do {x} and {y} differ on {al}?"]).format(x=x, y=y, al=alist)
        else:
            prompt = rng.choice(["Compare {x} and {y}.", "{X} or {y}: how do they compare?",
                                 "What is the difference between {x} and {y}?"]).format(x=x, y=y, X=cap(x))
        b.text(rng.choice([f"Here is how {x} and {y} compare." + b.sep, "Let us look at it point by point." + b.sep]))
        prompt, lvl = length_style(rng, prompt)
        lohi = verbosity(rng, k, lvl)
        items = []
        for a in asp:
            xx, yy = (x, y) if rng.random() < 0.5 else (y, x)
            items.append((a, f"{cap(a)}: " + body(rng, rng.choice(COMPARE_ASPECT), THING_ELAB, lohi, a=a, x=xx, y=yy)))
        for t, c in items:
            b.fork(t, c)
        b.sync()
        b.text(rng.choice([f"In short, it depends on whether you care more about {asp[0]} or {asp[-1]}.",
                           f"Overall, both are solid; let {asp[0]} decide.",
                           f"So the choice between {x} and {y} comes down to {asp[1]}."]))
        return record("compare", True, maybe_lower(rng, prompt), b.parts, k if listed else None, x)
    prompt = rng.choice(["Compare {x} and {y}.", "{X} vs {y}?", "Should I pick {x} or {y}?"]).format(x=x, y=y, X=cap(x))
    a1, a2, a3, a4 = rng.sample(W.THING_ASPECTS, 4)
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, 2, lvl)
    lohi = (lohi[0] + 1, lohi[1] + 2)
    b.text(rng.choice(["Both have their place." + b.sep, f"Here is a quick look at {x} and {y}." + b.sep, ""]))
    items = [(x, f"{cap(x)}: " + body(rng, rng.choice(COMPARE_ITEM), THING_ELAB, lohi, x=x, a1=a1, a2=a2, a3=a3)),
             (y, f"{cap(y)}: " + body(rng, rng.choice(COMPARE_ITEM), THING_ELAB, lohi, x=y, a1=a3, a2=a4, a3=a1))]
    for t, c in items:
        b.fork(t, c)
    b.sync()
    b.text(f"In short, choose {x} for {a1}, and {y} for {a3}.")
    return record("compare", True, maybe_lower(rng, prompt), b.parts, None, x)


def _sub_question(rng, split, idx):
    """A small non-parallel question and its answer, for multi-part prompts."""
    kind = rng.choice(["def", "add", "mul", "opp", "yes"])
    if kind == "def":
        np_, k, _, key, _ = sample_definable(rng, split)
        return f"What {be(np_)} {np_}?", key, f"{cap(np_)} {be(np_)} {k}."
    if kind == "add":
        a, b_ = rng.randint(2, 99), rng.randint(2, 99)
        return f"What is {a} + {b_}?", f"{a} + {b_}", f"{a} + {b_} = {a + b_}."
    if kind == "mul":
        a, b_ = rng.randint(2, 12), rng.randint(2, 12)
        return f"What is {a} times {b_}?", f"{a} times {b_}", f"{a} times {b_} is {a * b_}."
    if kind == "opp":
        w, o = rng.choice(POOLS["opposites"][split])
        return f"What is the opposite of {w}?", f"opposite of {w}", f"The opposite of {w} is {o}."
    np_, k, _, key, _ = sample_definable(rng, split)
    k2 = rng.choice(ALL_KINDS)
    q = f"{cap(be(np_))} {np_} {kind_for(np_, k2)}?"
    if k2 == k:
        ans = f"Yes, {np_} {be(np_)} {kind_for(np_, k)}."
    else:
        ans = f"No, {np_} {be(np_)} not {kind_for(np_, k2)}; {'they are' if is_plural(np_) else 'it is'} {kind_for(np_, k)}."
    return q, key, ans


def fam_multipart(rng, split):
    n = pick_n(rng, 3, 6)
    qs = [_sub_question(rng, split, i) for i in range(n)]
    style = rng.choice(["num", "paren", "letter"])
    lab = (lambda i: f"{i}) ") if style == "num" else (lambda i: f"({i}) ") if style == "paren" else (lambda i: f"({'abcdef'[i - 1]}) ")
    qtext = " ".join(lab(i) + q for i, (q, _, _) in enumerate(qs, 1))
    prompt = rng.choice(["Please answer {n} questions: ", "Answer these {n} questions. ", "{N} quick questions: "]).format(
        n=num_phrase(rng, n), N=cap(W.NUM_WORDS[n])) + qtext
    b = Builder(rng)
    b.text(rng.choice(["Here are the answers:", "Sure, one by one:", "Answers:"]) + b.sep)
    items = []
    for i, (q, key, ans) in enumerate(qs, 1):
        extra = ""
        if rng.random() < 0.7:
            extra = " " + " ".join(rng.sample(["That one is easy to remember.", "I hope that helps.",
                                               "You can check it quickly yourself.", "This comes up often.",
                                               "Many people get this one wrong at first.",
                                               "It is a good one to practice.", "Write it down if it helps.",
                                               "Take a second to check it again."], rng.randint(1, 3)))
        items.append((key, lab(i) + ans + extra))
    outro = rng.choice(["Let me know if you have more questions.", None, None])
    b.forks_then_outro(items, outro)
    return record("multipart", True, maybe_lower(rng, prompt), b.parts, n, qs[0][1])


def fam_plan(rng, split):
    kind = rng.choice(["trip", "trip", "week", "study", "event"])
    b = Builder(rng)
    items = []
    if kind == "trip":
        city = pick_city(rng, split)
        n = pick_n(rng, 2, 6)
        prompt = rng.choice(["Plan a {n}-day trip to {c}.", "Make a {n}-day itinerary for {c}.",
                             "I have {n} days in {c}. What should I do each day?"]).format(n=n, c=city)
        b.text(rng.choice([f"Here is a {n}-day plan for {city}:", f"{n} days in {city}, one day at a time:",
                           "Here is a relaxed itinerary:"]) + b.sep)
        acts = rng.sample(W.TRIP_ACTIVITIES, n * 2)
        prompt, lvl = length_style(rng, prompt)
        lo, hi = verbosity(rng, n, lvl)
        for i in range(1, n + 1):
            a1, a2 = acts[2 * i - 2], acts[2 * i - 1]
            topic = f"day {i}: {a1}"
            sents = [fill(rng, rng.choice(TRIP_SENT[:3]), act=a1, city=city),
                     fill(rng, rng.choice(TRIP_SENT[3:]), act=a2, city=city)]
            sents += rng.sample(TRIP_ELAB, min(len(TRIP_ELAB), rng.randint(max(0, lo - 1), hi - 1)))
            items.append((topic, f"Day {i}: " + " ".join(sents)))
        subj = city
        outro = rng.choice([f"Enjoy {city}!", "Have a great trip!", None])
    elif kind == "week":
        s, subj = sample_activity(rng, split)
        n = pick_n(rng, 2, 6)
        prompt = rng.choice(["Make a {n}-week plan for {s}.", "Give me a {n}-week plan to get better at {s}."]).format(n=n, s=s)
        b.text(rng.choice([f"Here is a {n}-week plan for {s}:", "A simple plan, week by week:"]) + b.sep)
        prompt, lvl = length_style(rng, prompt)
        lohi = verbosity(rng, n, lvl)
        for i, a in enumerate(rng.sample(W.TIP_ASPECTS, n), 1):
            items.append((f"week {i}: {a}", f"Week {i}: " + body(rng, rng.choice(WEEK_FIRST), ELAB, lohi, a=a, s=s)))
        outro = rng.choice(["After that, repeat the plan with harder goals.", "Stick with it and you will see progress.", None])
    elif kind == "study":
        obj = pick_object(rng, split, "study")
        subj = obj
        n = pick_n(rng, 2, 6)
        prompt = rng.choice(["Make a {n}-day study plan for {o}.", "How should I study {o} over {n} days?"]).format(n=n, o=obj)
        b.text(rng.choice([f"Here is a {n}-day study plan for {obj}:", "Plan it day by day:"]) + b.sep)
        prompt, lvl = length_style(rng, prompt)
        lohi = verbosity(rng, n, lvl)
        for i, sub in enumerate(rng.sample(STUDY_SUBTOPICS, n), 1):
            items.append((f"day {i}: {sub}", f"Day {i}: " + body(rng, rng.choice(STUDY_SENT), ELAB, lohi, sub=sub, subj=obj, s=obj)))
        outro = rng.choice(["Sleep well before the exam.", "Good luck!", None])
    else:
        th = pick_theme(rng, split)
        subj = th
        n = pick_n(rng, 2, 7)
        prompt = rng.choice(["I am organizing {th}. What are the {n} main things to prepare?",
                             "Help me plan {th}: list {n} things to take care of."]).format(n=num_phrase(rng, n), th=th)
        b.text(rng.choice([f"Here are the main things to prepare for {th}:", "Here is what to take care of:"]) + b.sep)
        prompt, lvl = length_style(rng, prompt)
        lohi = verbosity(rng, n, lvl)
        hdr = rng.choice(HEADERS)
        for i, task in enumerate(rng.sample(W.EVENT_TASKS, n), 1):
            items.append((task, hdr(i, task) + body(rng, rng.choice(TASK_FIRST), ELAB + IDEA_ELAB[:4], lohi, task=task, s=th)))
        outro = rng.choice(["With these done, the day will run smoothly.", "Have fun planning!", None])
    b.forks_then_outro(items, outro)
    return record("plan", True, maybe_lower(rng, prompt), b.parts, n, subj)


def fam_features(rng, split):
    th, g = sample_thing(rng, split)
    n = pick_n(rng, 2, 6)
    np_ = num_phrase(rng, n)
    prompt = rng.choice(["Describe {n} key features of {th}.", "What are {n} important things to know about {th}?",
                         "Name {n} aspects to consider about {th}, with a short explanation each."]).format(n=np_, th=th)
    b = Builder(rng)
    b.text(rng.choice([f"Here are {np_} things that define {th}:", "Here is what to look at:", ""]) + b.sep)
    if b.parts and not b.parts[0][1].strip():
        b.parts = []
    prompt, lvl = length_style(rng, prompt)
    lohi = verbosity(rng, n, lvl)
    hdr = rng.choice(HEADERS)
    items = [(a, hdr(i, a) + body(rng, rng.choice(FEATURE_FIRST), THING_ELAB, lohi, a=a, th=th,
                                  fit="fit" if is_plural(th) else "fits"))
             for i, a in enumerate(rng.sample(W.THING_ASPECTS, n), 1)]
    b.forks_then_outro(items, rng.choice(["Keep these in mind before you decide.", None]))
    return record("features", True, maybe_lower(rng, prompt), b.parts, n, th)


# ---------------------------------------------------------------------------
# Non-parallel families (the model must NOT fork)
# ---------------------------------------------------------------------------

def single(family, prompt, text, rng, subject=None):
    return record(family, False, maybe_lower(rng, prompt), [["text", text]], None, subject)


def fam_definition(rng, split):
    np_, k, extra, key, _ = sample_definable(rng, split)
    prompt = rng.choice(["What {be} {np}?", "Define {np}.", "Can you tell me what {np} {be}?",
                         "Explain {np} in one sentence.", "What exactly {be} {np}?"]).format(np=np_, be=be(np_))
    text = f"{cap(np_)} {be(np_)} {kind_for(np_, k)}."
    if rng.random() < 0.6:
        text += " " + " ".join(agree(x, is_plural(np_)) for x in rng.sample(extra, rng.randint(1, min(2, len(extra)))))
    return single("definition", prompt, text, rng, key)


_TO_PLURAL = [(r"\bIt is\b", "They are"), (r"\bIt has\b", "They have"), (r"\bIt suits\b", "They suit"),
              (r"\bIt\b", "They"), (r"\bit\b", "them"), (r"\bits\b", "their")]
_TO_SINGULAR = [(r"\bThey need\b", "It needs"), (r"\bThey differ\b", "It differs"),
                (r"\bThey come\b", "It comes"), (r"\bThey can\b", "It can"), (r"\bThey\b", "It"),
                (r"\bthem\b", "it"), (r"\bMost of it\b", "It usually"), (r"\bEach one offers\b", "It offers")]


def agree(sentence, plural):
    """An extra sentence about the subject with its pronouns and verbs in the subject's number."""
    if plural and sentence.startswith("It takes "):  # impersonal: "It takes practice to play them well."
        return "It takes " + re.sub(r"\bit\b", "them", sentence[len("It takes "):])
    for pat, rep in (_TO_PLURAL if plural else _TO_SINGULAR):
        sentence = re.sub(pat, rep, sentence)
    return sentence


def _plural_noun(w):
    if w.endswith(("s", "sh", "ch", "x")):
        return w + "es"
    if w.endswith("y") and w[-2:-1] not in "aeiou":
        return w[:-1] + "ies"
    return w + "s"


def kind_for(np_, k):
    """'a musical instrument' -> 'musical instruments' when the subject is plural ('Are canaries pets?')."""
    if not is_plural(np_):
        return k
    k = strip_article(k)
    if k.startswith("kind of "):  # "Guinea pigs are a kind of pet."
        return "a " + k
    m = re.match(r"^(.*?)(\w+)( (?:of|to) .*)?$", k)
    return m.group(1) + _plural_noun(m.group(2)) + (m.group(3) or "")


def fam_yesno(rng, split):
    np_, k, _, key, _ = sample_definable(rng, split)
    k2 = k if rng.random() < 0.45 else rng.choice([x for x in ALL_KINDS if x != k])
    prompt = f"{cap(be(np_))} {np_} {kind_for(np_, k2)}?"
    if k2 == k:
        text = f"Yes, {np_} {be(np_)} {kind_for(np_, k)}."
    else:
        text = (f"No, {np_} {be(np_)} not {kind_for(np_, k2)}. "
                f"{'They are' if is_plural(np_) else 'It is'} {kind_for(np_, k)}.")
    return single("yesno", prompt, text, rng, key)


def fam_arith(rng, split):
    r = rng.random()
    if r < 0.45:
        op = rng.choice(["+", "-", "*"])
        if op == "*":
            a, b_ = rng.randint(2, 20), rng.randint(2, 20)
            c = a * b_
            word = "times"
        else:
            a, b_ = rng.randint(1, 500), rng.randint(1, 500)
            if op == "-" and b_ > a:
                a, b_ = b_, a
            c = a + b_ if op == "+" else a - b_
            word = "plus" if op == "+" else "minus"
        sym = "x" if op == "*" else op
        prompt = rng.choice([f"What is {a} {sym} {b_}?", f"What is {a} {word} {b_}?", f"Calculate {a} {sym} {b_}.",
                             f"{a} {sym} {b_} = ?"])
        text = rng.choice([f"{a} {sym} {b_} = {c}.", f"The answer is {c}.", f"{a} {word} {b_} is {c}."])
        return single("arithmetic", prompt, text, rng)
    if r < 0.75:
        a, b_, c = rng.randint(2, 60), rng.randint(2, 60), rng.randint(2, 40)
        s = a + b_
        res = s - c if rng.random() < 0.5 else s * 2
        if res == s - c:
            prompt = f"Compute {a} + {b_} - {c}."
            text = f"First, {a} + {b_} = {s}. Then, {s} - {c} = {res}. The answer is {res}."
        else:
            prompt = f"Compute ({a} + {b_}) x 2."
            text = f"First, {a} + {b_} = {s}. Then, {s} x 2 = {res}. The answer is {res}."
        return single("arithmetic", prompt, text, rng)
    name = rng.choice(NAMES)
    thing = rng.choice(["apples", "stamps", "marbles", "books", "coins", "stickers", "cookies", "pencils"])
    a, b_ = rng.randint(3, 40), rng.randint(2, 30)
    c = rng.randint(1, a + b_ - 1)
    prompt = f"{name} has {a} {thing}, gets {b_} more, and then gives away {c}. How many {thing} does {name} have now?"
    text = (f"{name} starts with {a} {thing}. After getting {b_} more, {name} has {a} + {b_} = {a + b_}. "
            f"After giving away {c}, {name} has {a + b_} - {c} = {a + b_ - c} {thing}.")
    return single("arithmetic", prompt, text, rng)


def fam_story(rng, split):
    ch = pick_character(rng, split)
    goal = rng.choice(W.STORY_GOALS)
    place = rng.choice(W.STORY_PLACES)
    c = strip_article(ch)
    prompt = rng.choice([f"Write a short story about {ch}.", f"Tell me a story about {ch} who {goal}.",
                         f"Write a tiny bedtime story about {ch}.", f"Can you write a short story where {ch} {goal}?"])
    sents = [f"Once upon a time, {ch} lived {place}.", f"The {c} {goal}."]
    for m in rng.sample(STORY_MIDDLE, rng.randint(1, 5)):
        sents.append(m.format(c=c))
    sents.append(rng.choice(STORY_END).format(c=c))
    sep = " " if rng.random() < 0.7 else "\n"
    return single("story", prompt, sep.join(sents), rng, ch)


def fam_count(rng, split):
    a = rng.randint(0, 60)
    b_ = a + rng.randint(3, 14)
    if rng.random() < 0.6:
        prompt = rng.choice([f"Count from {a} to {b_}.", f"List the numbers from {a} to {b_}."])
        text = ", ".join(str(i) for i in range(a, b_ + 1)) + "."
    else:
        prompt = f"Count down from {b_} to {a}."
        text = ", ".join(str(i) for i in range(b_, a - 1, -1)) + "."
    return single("count", prompt, text, rng)


def fam_namelist(rng, split):
    if rng.random() < 0.6:
        cat = rng.choice(list(W.ACTIVITY_CATEGORIES))
        objs, plural = POOLS["cat_objects"][cat][split], W.ACTIVITY_CATEGORIES[cat]["plural"]
    else:
        g = rng.choice(list(W.THING_GROUPS))
        objs, plural = POOLS["things"][g][split], {"vehicle": "ways to get around", "device": "devices",
                                                   "pet": "pets", "home": "kinds of homes",
                                                   "energy": "ways to heat or power a home",
                                                   "material": "materials", "work": "ways of working",
                                                   "drink": "drinks", "media": "kinds of media",
                                                   "place": "places to live"}[g]
    n = rng.randint(2, min(6, len(objs)))
    picks = rng.sample(objs, n)
    prompt = rng.choice([f"Name {num_phrase(rng, n)} {plural}.", f"Can you name {num_phrase(rng, n)} {plural}?",
                         f"Quickly list {num_phrase(rng, n)} {plural}, just the names."])
    text = rng.choice(["Sure: ", "Here you go: ", ""]) + ", ".join(picks[:-1]) + " and " + picks[-1] + "."
    return single("namelist", prompt, cap(text), rng, picks[0])


def fam_onetip(rng, split):
    s, subj = sample_activity(rng, split)
    a = rng.choice(W.TIP_ASPECTS)
    prompt = rng.choice([f"Give me one tip for {s}.", f"What is your best tip for {s}?",
                         f"Share a single tip for {s}.", f"What is the most important thing in {s}?"])
    text = body(rng, rng.choice(TIP_FIRST), ELAB, (0, 3), a=a, s=s)
    return single("onetip", prompt, text, rng, subj)


def fam_paragraph(rng, split):
    s, subj = sample_activity(rng, split)
    bs = rng.sample(W.BENEFITS, 3)
    prompt = rng.choice([f"In one sentence, why should I try {s}?",
                         f"Explain in a short paragraph why {s} is worth it.",
                         f"Write a short paragraph about {s}."])
    if prompt.startswith("In one sentence"):
        text = f"{cap(s)} is worth trying because it brings {bs[0]} and {bs[1]}."
    else:
        sents = [f"{cap(s)} is worth the effort for many reasons.",
                 fill(rng, rng.choice(REASON_FIRST), b=bs[0], s=s),
                 f"It also helps with {bs[1]} and {bs[2]}."]
        sents += [fill(rng, e, s=s) for e in rng.sample(ELAB, rng.randint(1, 3))]
        sents.append(rng.choice(["That is why it is worth a try.", "Give it a chance.", "You will not regret it."]))
        text = " ".join(sents)
    return single("paragraph", prompt, text, rng, subj)


def fam_opposite(rng, split):
    w, o = rng.choice(POOLS["opposites"][split])
    prompt = rng.choice([f"What is the opposite of {w}?", f"Give me the opposite of '{w}'.",
                         f"What word means the opposite of {w}?"])
    return single("opposite", prompt, rng.choice([f"The opposite of {w} is {o}.", f"{cap(o)}."]), rng, w)


def fam_spell(rng, split):
    cat = rng.choice(list(W.ACTIVITY_CATEGORIES))
    words = [o for o in POOLS["cat_objects"][cat][split] if o.isalpha() and len(o) <= 10]
    w = rng.choice(words)
    prompt = rng.choice([f"Spell the word {w} letter by letter.", f"How do you spell {w}? Separate the letters."])
    return single("spell", prompt, "-".join(w.upper()) + ".", rng, w)


# ---------------------------------------------------------------------------
# Families with real content (World Factbook, WordNet, GCIDE; see sources.py)
# ---------------------------------------------------------------------------

SOURCES_DIR = os.environ.get("PASTA_SOURCES") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "work", "sources")
_REAL = {}


def use_sources(path):
    """Read the parsed sources from path (None: generate without the real-content families)."""
    global SOURCES_DIR
    SOURCES_DIR = path
    _REAL.clear()


def _word_re(names):
    names = sorted(names, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b") if names else None


def _split_real(names, old_train, old_test):
    """Hold out one in seven names; a name that is already a subject of the other families keeps its split,
    and a training name that contains a held-out name as a word moves out of training."""
    sp = _split_list(sorted(names))
    train = [n for n in sp["train"] if n.lower() not in old_test] + [n for n in sp["test"] if n.lower() in old_train]
    test = [n for n in sp["test"] if n.lower() not in old_train] + [n for n in sp["train"] if n.lower() in old_test]
    rx = _word_re([t.lower() for t in test])
    train = [n for n in train if not (rx and rx.search(n.lower()))]
    return {"train": sorted(train), "test": sorted(test)}


def real():
    """The real-content pools (built once per process), or None without sources."""
    if "pools" not in _REAL:
        import sources as S
        src = S.load(SOURCES_DIR) if SOURCES_DIR else None
        if src is None:
            _REAL["pools"] = None
            return None
        old_tr = {x.lower() for x in _old_subjects("train")}
        old_te = {x.lower() for x in _old_subjects("test")}
        P = {"src": src,
             "country": {c["name"]: c for c in src["factbook"]},
             "category": {c["name"]: c for c in src["wordnet"]},
             "word": {w["word"]: w for w in src["gcide"]}}
        for k in ("country", "category", "word"):  # each list respects the splits made before it
            P[k + "_split"] = sp = _split_real(list(P[k]), old_tr, old_te)
            old_tr |= {x.lower() for x in sp["train"]}
            old_te |= {x.lower() for x in sp["test"]}
        # a training answer never names a held-out country
        P["leak"] = _word_re(P["country_split"]["test"])
        _REAL["pools"] = P
    return _REAL["pools"]


def real_subjects(split):
    P = real()
    if P is None:
        return set()
    return set(P["country_split"][split]) | set(P["category_split"][split]) | set(P["word_split"][split])


def and_list(xs):
    xs = list(xs)
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]


def _year(y):
    return f" in {y}" if y else ""


def country_section(c, sec):
    """Sentences about one section of a Factbook country entry; every fact comes from the entry."""
    n = c["name"]
    N = cap(n)
    out = []
    if sec == "geography":
        out.append(f"{N} is located in {c['location']}.")
        out.append(f"It covers {c['area']} square kilometres"
                   + (f", {c['area_comparative']}." if c["area_comparative"] else "."))
        if c["climate"]:
            parts = [x.strip() for x in c["climate"].split(";") if x.strip()]
            verbs = [x for x in parts[1:4] if x.split()[0].endswith("ed")]
            rest = [x for x in parts[1:4] if x not in verbs]
            out.append(f"The climate is {parts[0]}" + (f", with {and_list(rest)}." if rest else "."))
            out += [f"It is {x}." for x in verbs]
        if c["terrain"]:
            out.append(f"Its landscape includes {c['terrain'].replace(';', ',').replace(' ,', ',')}.")
        if c["highest"]:
            out.append(f"The highest point is {c['highest']['name']}, at {c['highest']['m']} metres.")
        if c["resources"]:
            out.append(f"Natural resources include {and_list(c['resources'])}.")
        if c["hazards"]:
            out.append(f"Natural hazards include {and_list(c['hazards'])}.")
    elif sec == "economy":
        g = c["gdp_ppp"]
        out.append(f"Its gross domestic product at purchasing power parity was about {g['value']}{_year(g['year'])}.")
        if c["gdp_pc"]:
            out.append(f"That is roughly {c['gdp_pc']['value']} per person{_year(c['gdp_pc']['year'])}.")
        if c["growth"]:
            v = c["growth"]["value"]
            out.append(f"The economy shrank by {v[1:]}{_year(c['growth']['year'])}." if v.startswith("-")
                       else f"The economy grew by {v}{_year(c['growth']['year'])}.")
        if c["sectors"]:
            s = c["sectors"]
            out.append(f"Services make up {s['services']} of the economy, industry {s['industry']} "
                       f"and agriculture {s['agriculture']}.")
        if c["industries"]:
            out.append(f"Major industries include {and_list(c['industries'])}.")
        if c["agri"]:
            out.append(f"Farm products include {and_list(c['agri'])}.")
        if c["exports"]:
            out.append(f"The main exports are {and_list(c['exports'])}.")
        if c["unemployment"]:
            out.append(f"Unemployment was {c['unemployment']['value']}{_year(c['unemployment']['year'])}.")
    elif sec == "government":
        out.append(f"{N} is {a_an(c['gov_type'])}.")
        out.append(f"Its capital is {c['capital']}.")
        if c["long_name"] and c["long_name"] != n and c["long_name"].lower() != "none":
            ln = c["long_name"]
            out.append(f"Its official name is {ln if ln.startswith(('The ', 'the ')) else 'the ' + ln}.")
        if c["independence"]:
            d = c["independence"]["date"]
            out.append(f"It became independent from {c['independence']['from']} {'on' if d[:1].isdigit() and len(d) > 4 else 'in'} {d}.")
        if c["legislature"]:
            out.append(f"The legislature is the {c['legislature']['chambers']} {c['legislature']['name']}.")
        if c["suffrage"]:
            out.append(f"Citizens can vote from the age of {c['suffrage']}.")
    elif sec == "people":
        p = c["population"]
        out.append(f"The population was {p['value']}{_year(p['year'])}." if p["year"]
                   else f"The population is about {p['value']}.")
        if c["languages"]:
            off = c["languages"]["official"]
            out.append(f"The official language is {off[0]}." if len(off) == 1
                       else f"The official languages are {and_list(off)}.")
        if c["religion"]:
            out.append(f"The largest religious group is {c['religion']['name']}, "
                       f"at {c['religion']['pct']} of the population.")
    elif sec == "history" and c["background"]:
        out.append(c["background"])
    return out


COUNTRY_SECTIONS = ["geography", "economy", "government", "people", "history"]


def _no_leak(P, split, sents):
    if split != "train" or P["leak"] is None:
        return sents
    return [x for x in sents if not P["leak"].search(x)]


def fam_factbook(rng, split):
    P = real()
    name = rng.choice(P["country_split"][split])
    c = P["country"][name]
    avail = [s for s in COUNTRY_SECTIONS if _no_leak(P, split, country_section(c, s))]
    k = min(len(avail), rng.choice([2, 3, 3, 4, 4, 5]))
    secs = rng.sample(avail, k)
    secs.sort(key=COUNTRY_SECTIONS.index)
    words = {"people": "people", "history": "history"}
    lst = and_list([words.get(s, s) for s in secs])
    prompt = rng.choice([
        "Tell me about the {l} of {c}.", "Describe the {l} of {c}.", "What should I know about the {l} of {c}?",
        "Give me an overview of {c}: its {l}.", "I am reading up on {c}. Summarize its {l}.",
    ]).format(l=lst, c=name)
    b = Builder(rng)
    b.text(rng.choice([f"Here is an overview of {name}, one part at a time:", f"{cap(name)} at a glance:",
                       f"Here is what the World Factbook says about {name}:", ""]) + b.sep)
    if b.parts and not b.parts[0][1].strip():
        b.parts = []
    prompt, lvl = length_style(rng, prompt)
    hdr = rng.choice(HEADERS)
    items = []
    for i, s in enumerate(secs, 1):
        sents = _no_leak(P, split, country_section(c, s))
        if lvl == "short":
            sents = sents[:2]
        elif lvl == "default" and len(sents) > 5:
            sents = sents[:2] + sorted(rng.sample(sents[2:], 3), key=sents.index)
        items.append((s, hdr(i, s) + " ".join(sents)))
    pop = c["population"]["value"]
    outro = rng.choice([f"In short, {name} is {a_an(c['gov_type'])} with its capital in {c['capital']}.",
                        f"In short, {name} is home to about {pop} people, and its capital is {c['capital']}.",
                        "These figures come from the 2015 edition of the World Factbook, so some may have changed.",
                        None])
    b.forks_then_outro(items, outro)
    return record("factbook", True, maybe_lower(rng, prompt), b.parts, k, name)


def fam_countryfact(rng, split):
    P = real()
    name = rng.choice(P["country_split"][split])
    c = P["country"][name]
    qs = [("What is the capital of {c}?", f"The capital of {name} is {c['capital']}."),
          ("How big is {c}?", f"{cap(name)} covers {c['area']} square kilometres."),
          ("What kind of government does {c} have?", f"{cap(name)} is {a_an(c['gov_type'])}."),
          ("Where is {c}?", f"{cap(name)} is located in {c['location']}.")]
    p = c["population"]
    qs.append(("What is the population of {c}?", f"The population of {name} was {p['value']}{_year(p['year'])}."))
    if c["highest"]:
        qs.append(("What is the highest point in {c}?",
                   f"The highest point in {name} is {c['highest']['name']}, at {c['highest']['m']} metres."))
    if c["languages"]:
        off = c["languages"]["official"]
        qs.append(("What is the official language of {c}?",
                   f"The official language of {name} is {off[0]}." if len(off) == 1
                   else f"{cap(name)} has {len(off)} official languages: {and_list(off)}."))
    qs = [(q, a) for q, a in qs if _no_leak(P, split, [a])]
    q, a = rng.choice(qs)
    return single("countryfact", q.format(c=name), a, rng, name)


def kind_chunk(k, cat):
    g = k["gloss"]
    if not g.startswith(("a ", "an ", "any ", "the ", "one ", "some ")):
        g = a_an(g)
    sents = [f"{cap(a_an(k['name']))} is {g}."]
    if k["synonyms"]:
        sents.append(f"It is also called \"{k['synonyms'][0]}\".")
    if k["examples"]:
        sents.append(f"An example of the word in use: \"{k['examples'][0]}\".")
    if k["kinds"]:
        sents.append(f"Kinds of {k['name']} include {and_list(k['kinds'])}.")
    return " ".join(sents)


def fam_kinds(rng, split):
    P = real()
    cat = rng.choice(P["category_split"][split])
    kinds = P["category"][cat]["kinds"]
    n = min(pick_n(rng, 3, 8), len(kinds))
    np_ = num_phrase(rng, n)
    prompt = rng.choice([
        "Name {n} kinds of {c} and say what each one is.", "What are {n} types of {c}? Describe each briefly.",
        "List {n} kinds of {c}, with a short definition of each.", "Explain {n} different kinds of {c}.",
        "Give me {n} examples of kinds of {c} and explain each one.",
    ]).format(n=np_, c=cat)
    b = Builder(rng)
    b.text(rng.choice([f"Here are {np_} kinds of {cat}:", f"Sure. {cap(np_)} kinds of {cat}, each with a short definition:",
                       "Here they are:"]) + b.sep)
    hdr = rng.choice(HEADERS)
    picks = sorted(rng.sample(kinds, n), key=lambda k: k["name"])
    items = [(k["name"], hdr(i, k["name"]) + kind_chunk(k, cat)) for i, k in enumerate(picks, 1)]
    outro = rng.choice([f"Each of these is a kind of {cat}.", f"All of them are kinds of {cat}.", None])
    b.forks_then_outro(items, outro)
    return record("kinds", True, maybe_lower(rng, prompt), b.parts, n, cat)


def _lower_first(s):
    return s[:1].lower() + s[1:] if len(s) > 1 and not s[1:2].isupper() else s


def _gcide_def(d):
    return _lower_first(re.sub(r"^Hence[:,] ", "", d))


def fam_meaning(rng, split):
    P = real()
    w = rng.choice(P["word_split"][split])
    senses = P["word"][w]["senses"]
    prompt = rng.choice(["What does {w} mean?", "Define the word {w}.", "What is the meaning of \"{w}\"?",
                         "Give me the dictionary definition of {w}.", "What does the word {w} mean?"]).format(w=w)
    out = []
    for j, s in enumerate(senses):
        d, ex = s["defs"][0]
        d = _gcide_def(d)
        if s["pos"] == "verb":
            d = re.sub(r"^to ", "", d)
            out.append(f"{'As a verb, to' if j else 'To'} {w} means to {d}.")
        elif s["pos"] == "noun":
            out.append(f"As a noun, {w} means {d}." if j or rng.random() < 0.5 else f"{cap(w)} is a noun meaning {d}.")
        else:
            out.append(f"As {a_an(s['pos'])}, {w} means {d}.")
        if ex:
            out.append(f"For example: {ex}.")
        if j == 0 and len(s["defs"]) > 1 and rng.random() < 0.6:
            d2 = _gcide_def(s["defs"][1][0])
            out.append(f"It can also mean {('to ' + re.sub(r'^to ', '', d2)) if s['pos'] == 'verb' else d2}.")
    return single("meaning", prompt, " ".join(out), rng, w)


def _real_family(fn):
    """Real-content families draw nothing when the sources are absent (see FAMILIES / make_record)."""
    fn.real = True
    return fn


for _f in (fam_factbook, fam_countryfact, fam_kinds, fam_meaning):
    _real_family(_f)


FAMILIES = [
    (fam_tips, 10), (fam_reasons, 6), (fam_steps, 6), (fam_ideas, 6), (fam_mistakes, 5),
    (fam_proscons, 6), (fam_compare, 5), (fam_multipart, 3), (fam_plan, 8), (fam_features, 4),
    (fam_definition, 7), (fam_yesno, 4), (fam_arith, 7), (fam_story, 6), (fam_count, 3),
    (fam_namelist, 4), (fam_onetip, 4), (fam_paragraph, 4), (fam_opposite, 2), (fam_spell, 2),
    (fam_factbook, 9), (fam_countryfact, 3), (fam_kinds, 9), (fam_meaning, 5),
]


def make_record(seed, split, i):
    rng = random.Random(zlib.crc32(f"{seed}/{split}/{i}".encode()))
    have_real = real() is not None
    fam = [(f, w) for f, w in FAMILIES if have_real or not getattr(f, "real", False)]
    fn = rng.choices([f for f, _ in fam], [w for _, w in fam])[0]
    rec = fn(rng, split)
    rec = {"id": f"{split}-{i}", "split": split, **rec}
    return rec


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

def tokens_attr(count, multiple=5):
    return int(math.ceil(count / multiple) * multiple)


def render_flat(rec, count=None):
    """FLAT TRANSCRIPT. count(text) -> number of tokens; if None, tokens= is omitted."""
    out = []
    for p in rec["parts"]:
        if p[0] == "text":
            out.append(p[1])
        elif p[0] == "sync":
            out.append("<sync/>")
        else:
            _, topic, content = p
            if count is None:
                out.append(f'<promise topic="{topic}"/>')
            else:
                out.append(f'<promise topic="{topic}" tokens="{tokens_attr(count(content))}"/>')
            out.append(f'<async topic="{topic}">{content}</async>')
    return "".join(out)


def render_assembled(rec):
    return "".join(p[1] if p[0] == "text" else (p[2] if p[0] == "fork" else "") for p in rec["parts"])


def forks_of(rec):
    return [p for p in rec["parts"] if p[0] == "fork"]


def escape_line(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n")


def unescape_line(s):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def approx_tokens(s):
    """Rough token count (used only for corpus statistics without a tokenizer)."""
    return len(re.findall(r"\w+|[^\w\s]", s))


def _gen_chunk(args):
    seed, split, lo, hi = args
    return [json.dumps(make_record(seed, split, i), ensure_ascii=False) for i in range(lo, hi)]


def generate(seed, split, n, workers=1):
    chunk = 5000
    tasks = [(seed, split, lo, min(n, lo + chunk)) for lo in range(0, n, chunk)]
    if workers > 1 and len(tasks) > 1:
        import multiprocessing as mp
        with mp.Pool(workers) as pool:
            for lines in pool.imap(_gen_chunk, tasks):
                yield from lines
    else:
        for t in tasks:
            yield from _gen_chunk(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--train", type=int, default=300000)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--stats", action="store_true", help="print corpus statistics")
    ap.add_argument("--sources", default=SOURCES_DIR,
                    help="parsed real-content sources (training/fetch_sources.sh writes them)")
    ap.add_argument("--no-sources", action="store_true",
                    help="generate only the template families (a different corpus for the same seed)")
    a = ap.parse_args()
    use_sources(None if a.no_sources else a.sources)
    if not a.no_sources and real() is None:
        sys.exit(f"no parsed sources in {a.sources}: run training/fetch_sources.sh (or pass --no-sources)")
    os.makedirs(a.out, exist_ok=True)
    for split, n in (("train", a.train), ("test", a.test)):
        path = os.path.join(a.out, f"{split}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for line in generate(a.seed, split, n, a.workers):
                f.write(line + "\n")
        print(f"wrote {n} records to {path}")
    overlap = all_subjects("train") & all_subjects("test")
    assert not overlap, overlap
    if a.stats:
        print_stats(os.path.join(a.out, "test.jsonl"))


def ideal_speedup_parts(parts, count, promise_cost):
    """Ideal speedup of a reference answer: decoded tokens / critical path (see evaluate.py)."""
    t = 0
    total = 0
    finishes = []
    outstanding = []
    for p in parts:
        if p[0] == "text":
            k = count(p[1]); t += k; total += k
        elif p[0] == "sync":
            t += 1; total += 1
            t = max([t] + outstanding); outstanding = []
        else:
            t += promise_cost; total += promise_cost
            d = count(p[2]) + 1
            total += d
            outstanding.append(t + d); finishes.append(t + d)
    t += 1; total += 1  # eos
    crit = max([t] + finishes)
    return total / crit


def print_stats(path):
    from collections import Counter
    recs = [json.loads(l) for l in open(path, encoding="utf-8")]
    fam = Counter(r["family"] for r in recs)
    par = [r for r in recs if r["parallel"]]
    print("families:", dict(fam))
    print("parallel fraction: %.3f" % (len(par) / len(recs)))
    ch = [approx_tokens(p[2]) for r in par for p in forks_of(r)]
    print("approx chunk tokens: min %d mean %.1f max %d" % (min(ch), sum(ch) / len(ch), max(ch)))
    sp = [ideal_speedup_parts(r["parts"], approx_tokens, 8) for r in par]
    print("approx reference ideal speedup (parallel): mean %.2f" % (sum(sp) / len(sp)))
    ln = [approx_tokens(r["prompt"]) + approx_tokens(render_flat(r)) for r in recs]
    print("approx total tokens: mean %.1f max %d" % (sum(ln) / len(ln), max(ln)))


if __name__ == "__main__":
    main()
