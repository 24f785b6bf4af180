#!/usr/bin/env python3
"""Checks for the real-content corpus families (stdlib only).

Run: python3 training/test_corpus_sources.py
The parser checks run on small inline samples.  The corpus checks need the parsed sources
(bash training/fetch_sources.sh) and FAIL when they are missing, so that a pipeline without them
cannot pass silently.  They check that the Factbook, WordNet and GCIDE families write well-formed
PASTA-LANG, that the number of chunks matches what the prompt asks for, that every fact of a Factbook
answer comes from the country's entry, that WordNet and GCIDE answers quote their source, and that
held-out countries, categories and words never reach the training split.
"""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import pasta_views as V  # noqa: E402
import sources as S  # noqa: E402
import test_pasta_views as T  # noqa: E402

REAL = ("factbook", "countryfact", "kinds", "meaning")
SEED = 4321
N_TRAIN, N_TEST = 6000, 1500

_TAG = re.compile(r'<promise topic="([^"]*)"(?: tokens="\d+")?/>|<async topic="([^"]*)">|</async>|<sync/>')


def pasta_errors(flat):
    """Well-formedness of a flat transcript: every promise is directly followed by its async chunk with
    the same topic, chunks close before the next tag, no stray tags.  Returns a list of problems."""
    errs = []
    tags = list(_TAG.finditer(flat))
    i = 0
    while i < len(tags):
        m = tags[i]
        if m.group(0).startswith("<promise"):
            nxt = tags[i + 1] if i + 1 < len(tags) else None
            end = tags[i + 2] if i + 2 < len(tags) else None
            if nxt is None or nxt.group(2) is None or nxt.start() != m.end():
                errs.append(f"promise {m.group(1)!r} not followed by its async chunk")
            elif nxt.group(2) != m.group(1):
                errs.append(f"promise {m.group(1)!r} opens chunk {nxt.group(2)!r}")
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


NUM = {w: i for i, w in corpus.W.NUM_WORDS.items()}


def asked_number(prompt):
    m = re.search(r"\b(\d+|" + "|".join(NUM) + r")\b (?:kinds|types|examples|different)", prompt, re.I)
    return None if m is None else int(m.group(1)) if m.group(1).isdigit() else NUM[m.group(1).lower()]


def has_sources():
    corpus.use_sources(corpus.SOURCES_DIR)
    return corpus.real() is not None


class ParserTest(unittest.TestCase):
    """The source parsers on inline samples (no installed data needed)."""

    CHILE = {
        "Introduction": {"Background": {"text": "Prior to the arrival of the Spanish in the 16th century, the Inca "
                                                "ruled northern Chile. Chile declared its independence in 1810."}},
        "Geography": {"Location": {"text": "Southern South America, bordering the South Pacific Ocean, between "
                                           "Argentina and Peru"},
                      "Area": {"total": {"text": "756,102 sq km"}},
                      "Area - comparative": {"text": "slightly smaller than twice the size of Montana"},
                      "Climate": {"text": "temperate; desert in north; cool and damp in south"},
                      "Elevation extremes": {"highest point": {"text": "Nevado Ojos del Salado 6,880 m"}},
                      "Natural resources": {"text": "copper, timber, iron ore, nitrates"}},
        "Economy": {"GDP (purchasing power parity)": {"text": "$409.3 billion (2014 est.) ++ $401.9 billion (2013 est.)"},
                    "Industries": {"text": "copper, lithium, other minerals, foodstuffs"}},
        "Government": {"Country name": {"conventional short form": {"text": "Chile"},
                                        "conventional long form": {"text": "Republic of Chile"}},
                       "Government type": {"text": "republic"},
                       "Capital": {"name": {"text": "Santiago; note - Valparaiso is the seat of the national legislature"}},
                       "Independence": {"text": "18 September 1810 (from Spain)"}},
        "People and Society": {"Population": {"text": "17,508,260 (July 2015 est.)"}},
    }

    def test_country(self):
        c = S.parse_country(self.CHILE)
        self.assertEqual(c["name"], "Chile")
        self.assertEqual(c["capital"], "Santiago")
        self.assertEqual(c["area"], "756,102")
        self.assertEqual(c["gdp_ppp"], {"value": "$409.3 billion", "year": 2014})
        self.assertEqual(c["population"], {"value": "17,508,260", "year": 2015})
        self.assertEqual(c["highest"], {"name": "Nevado Ojos del Salado", "m": "6,880"})
        self.assertEqual(c["independence"], {"date": "18 September 1810", "from": "Spain"})
        self.assertEqual(c["industries"], ["copper", "lithium", "foodstuffs"])
        self.assertTrue(c["location"].startswith("southern South America"))
        gov = " ".join(corpus.country_section(dict(c, legislature=None, suffrage=None), "government"))
        self.assertIn("Chile is a republic.", gov)
        self.assertIn("Its capital is Santiago.", gov)
        self.assertIn("It became independent from Spain on 18 September 1810.", gov)

    def test_country_without_government_is_skipped(self):
        d = json.loads(json.dumps(self.CHILE))
        del d["Government"]["Government type"]
        self.assertIsNone(S.parse_country(d))

    def test_france_and_united_states(self):
        """Entries with overseas regions or long fields: the total area is the first figure, a long climate or
        terrain keeps its part before the first ';', descriptions are not listed as industries."""
        fr = json.loads(json.dumps(self.CHILE))
        fr["Government"]["Country name"] = {"conventional short form": {"text": "France"}}
        fr["Geography"]["Area"] = {"total": {"text": "643,801 sq km; 551,500 sq km (metropolitan France)"}}
        del fr["Geography"]["Location"], fr["Geography"]["Climate"]
        fr["Geography"]["Location"] = {"metropolitan France": {"text": "Western Europe, between Belgium and Spain"}}
        fr["Geography"]["Climate"] = {"metropolitan France": {"text": "generally cool winters and mild summers, "
                                      "but mild winters and hot summers along the Mediterranean; occasional "
                                      "strong, cold, dry, north-to-northwesterly wind known as mistral"}}
        c = S.parse_country(fr)
        self.assertIsNotNone(c)
        self.assertEqual(c["area"], "643,801")
        self.assertEqual(c["climate"], "generally cool winters and mild summers, but mild winters and hot "
                                        "summers along the Mediterranean")
        us = json.loads(json.dumps(self.CHILE))
        us["Government"]["Country name"] = {"conventional short form": {"text": "United States"}}
        us["Economy"]["Industries"] = {"text": "highly diversified, world leading, high-technology innovator, "
                                                "second-largest industrial output in the world; petroleum, steel, "
                                                "motor vehicles, aerospace"}
        us["Geography"]["Terrain"] = {"text": "vast central plain, mountains in west, hills and low mountains in "
                                              "east; rugged mountains and broad river valleys in Alaska; rugged, "
                                              "volcanic topography in Hawaii"}
        c = S.parse_country(us)
        self.assertEqual(c["name"], "United States")
        self.assertEqual(c["industries"], ["petroleum", "steel", "motor vehicles", "aerospace"])
        self.assertEqual(c["terrain"], "vast central plain, mountains in west, hills and low mountains in east")

    def test_hazards_are_noun_phrases(self):
        self.assertEqual(S._hazards("dry, dusty, northeastern harmattan winds occur from January to March; droughts"),
                         ["droughts"])
        self.assertEqual(S._hazards("earthquakes and volcanic activity; flash floods are common; typhoons "
                                    "(June to December); but generally mild; periodic droughts"),
                         ["typhoons", "periodic droughts"])

    def test_gcide_entry(self):
        text = ('Abate \\A*bate"\\ ([.a]*b[=a]t"), v. t. [imp. & p. p. {Abated}.] [OF. abatre.]\n'
                "   1. To beat down; to overthrow. [Obs.]\n      [1913 Webster]\n\n"
                "   2. To bring down or reduce from a higher to a lower state,\n"
                "      number, or degree; to lessen; as, to abate a demand.\n      [1913 Webster]\n")
        e = S._gcide_entry(text, "abate")
        self.assertEqual(e["pos"], "verb")
        self.assertEqual(e["defs"][0], ["To bring down or reduce from a higher to a lower state, number, or degree; "
                                        "to lessen", "to abate a demand"])

    def test_gloss(self):
        self.assertEqual(S._split_gloss('a deciduous tree of the genus Quercus; "great oaks grow from little acorns"'),
                         ("a deciduous tree of the genus Quercus", ["great oaks grow from little acorns"]))

    def test_checker_catches_broken_pasta(self):
        ok = '<promise topic="a"/><async topic="a">x</async><sync/>y'
        self.assertEqual(pasta_errors(ok), [])
        self.assertTrue(pasta_errors('<promise topic="a"/>x<async topic="a">x</async>'))
        self.assertTrue(pasta_errors('<promise topic="a"/><async topic="b">x</async>'))
        self.assertTrue(pasta_errors('<promise topic="a"/><async topic="a">x'))
        self.assertTrue(pasta_errors('x</async>'))


class CorpusSourcesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not has_sources():
            raise AssertionError(f"no parsed sources in {corpus.SOURCES_DIR}: run bash training/fetch_sources.sh")
        cls.P = corpus.real()
        cls.recs = {sp: [r for r in (corpus.make_record(SEED, sp, i) for i in range(n)) if r["family"] in REAL]
                    for sp, n in (("train", N_TRAIN), ("test", N_TEST))}

    def all_recs(self):
        return self.recs["train"] + self.recs["test"]

    def test_large_countries_present(self):
        names = {c["name"] for c in json.load(open(os.path.join(corpus.SOURCES_DIR, "factbook.json")))}
        for n in ("France", "United States", "China", "India", "Germany", "Brazil"):
            self.assertIn(n, names)

    def test_every_family_occurs(self):
        for sp in ("train", "test"):
            fams = {r["family"] for r in self.recs[sp]}
            self.assertEqual(fams, set(REAL), sp)

    def test_well_formed(self):
        for r in self.all_recs():
            flat = corpus.render_flat(r, lambda s: len(s.split()))
            self.assertEqual(pasta_errors(flat), [], (r["id"], flat[:300]))
            self.assertEqual(bool(corpus.forks_of(r)), r["parallel"], r["id"])
        # and through the view builder that training uses
        for r in self.recs["train"][:300]:
            P, ids = T.encode_record(r)
            tr = V.build_example(ids, len(P), T.TAGS, T.TOK.decode, lambda t: T.TOK.encode(V.opener_text(t)))
            self.assertTrue(tr.well_formed(), r["id"])
            self.assertEqual(len(tr.forks), len(corpus.forks_of(r)), r["id"])

    def test_counts_match(self):
        for r in self.all_recs():
            forks = corpus.forks_of(r)
            if r["family"] == "kinds":
                self.assertEqual(len(forks), r["n_items"], r["id"])
                self.assertEqual(asked_number(r["prompt"]), r["n_items"], r["prompt"])
            elif r["family"] == "factbook":
                self.assertEqual(len(forks), r["n_items"], r["id"])
                asked = [s for s in corpus.COUNTRY_SECTIONS if re.search(r"\b" + s + r"\b", r["prompt"].lower())]
                self.assertEqual(asked, [f[1] for f in forks], r["prompt"])
            else:
                self.assertEqual(forks, [], r["id"])

    def test_factbook_facts_match_source(self):
        n = 0
        for r in self.all_recs():
            if r["family"] not in ("factbook", "countryfact"):
                continue
            c = self.P["country"][r["subject"]]
            src = json.dumps(c) + " 2015"  # the outro may name the Factbook edition
            text = corpus.render_assembled(r)
            # every number in the answer (list numbering aside) is a number of the country's entry
            plain = " ".join(p[1] if p[0] == "text" else re.sub(r"^\d+[.)] ", "", p[2])
                             for p in r["parts"] if p[0] != "sync")
            for num in re.findall(r"\d[\d,.]*\d|\d", plain):
                if num not in src:
                    self.fail(f"{r['id']}: {num} is not in the entry of {c['name']}: {text[:300]}")
            for _, topic, content in corpus.forks_of(r):
                self.assertIn(topic, content.lower(), r["id"])
                if topic == "government":
                    self.assertIn(f"Its capital is {c['capital']}.", content)
                    self.assertIn(f"is {corpus.a_an(c['gov_type'])}.", content)
                if topic == "geography" and f"covers " in content:
                    self.assertIn(f"covers {c['area']} square kilometres", content)
                if topic == "economy":
                    self.assertIn(f"was about {c['gdp_ppp']['value']}", content)
                if topic == "people":
                    self.assertIn(c["population"]["value"], content)
            if "capital of" in r["prompt"]:
                self.assertEqual(text, f"The capital of {c['name']} is {c['capital']}.")
            n += 1
        self.assertGreater(n, 100)

    def test_kinds_and_meanings_quote_source(self):
        for r in self.all_recs():
            if r["family"] == "kinds":
                kinds = {k["name"]: k for k in self.P["category"][r["subject"]]["kinds"]}
                for _, topic, content in corpus.forks_of(r):
                    self.assertIn(topic, kinds, r["id"])
                    self.assertIn(kinds[topic]["gloss"], content, r["id"])
            elif r["family"] == "meaning":
                first = self.P["word"][r["subject"]]["senses"][0]["defs"][0][0]
                body = corpus._gcide_def(first)
                body = re.sub(r"^to ", "", body)
                self.assertIn(body, r["parts"][0][1], r["id"])

    def test_holdout(self):
        for k in ("country", "category", "word"):
            sp = self.P[k + "_split"]
            self.assertFalse(set(sp["train"]) & set(sp["test"]), k)
            self.assertGreater(len(sp["test"]), 5, k)
        tr, te = corpus.all_subjects("train"), corpus.all_subjects("test")
        self.assertFalse({x.lower() for x in tr} & {x.lower() for x in te})
        held = self.P["country_split"]["test"] + self.P["category_split"]["test"]
        rx = re.compile(r"\b(?:" + "|".join(re.escape(x) for x in held) + r")\b", re.I)
        held_countries = re.compile(r"\b(?:" + "|".join(re.escape(x) for x in self.P["country_split"]["test"]) + r")\b")
        for r in self.recs["train"]:
            self.assertNotIn(r["subject"], te, r["id"])
            self.assertIsNone(rx.search(r["prompt"]), (r["id"], r["prompt"]))
            if r["family"] in ("factbook", "countryfact"):
                self.assertIsNone(held_countries.search(corpus.render_assembled(r)), r["id"])
        for r in self.recs["test"]:
            self.assertIn(r["subject"], te, r["id"])

    def test_deterministic(self):
        a = [corpus.make_record(SEED, "train", i) for i in range(200)]
        corpus._REAL.clear()
        b = [corpus.make_record(SEED, "train", i) for i in range(200)]
        self.assertEqual(a, b)


if __name__ == "__main__":
    unittest.main(verbosity=2)
