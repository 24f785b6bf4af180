#!/usr/bin/env python3
"""Write the held-out benchmark prompts and their reference flat transcripts.

heldout-prompts.txt      one prompt per line
heldout-transcripts.txt  the reference FLAT TRANSCRIPT of the prompt on the same
                         line; a newline inside a transcript is written as the two
                         characters \\n and a backslash as \\\\ (corpus.escape_line)

  python3 training/heldout.py --test training/work/corpus/test.jsonl \
      --tokenizer models/pasta-tiny/tokenizer.json --out models/pasta-tiny --n 40
"""
import argparse
import json
import os
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402


def pick(records, n, parallel_share=0.6, per_family=3):
    """n records in corpus order (each prompt once, at most per_family of a family, parallel_share of them
    parallel), the parallel ones first: tests and benchmarks that take the first few get answers that fork."""
    want_par = round(n * parallel_share)
    fam = Counter()
    out = []
    seen = set()
    npar = 0
    for r in records:
        if len(out) >= n:
            break
        if fam[r["family"]] >= per_family or r["prompt"] in seen:
            continue
        if r["parallel"] and npar >= want_par:
            continue
        if not r["parallel"] and len(out) - npar >= n - want_par:
            continue
        if "\n" in r["prompt"]:
            continue
        fam[r["family"]] += 1
        seen.add(r["prompt"])
        npar += r["parallel"]
        out.append(r)
    return sorted(out, key=lambda r: not r["parallel"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--test", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=40)
    a = ap.parse_args()
    from pasta_tok import Tok
    tok = Tok(a.tokenizer)
    recs = [json.loads(l) for l in open(a.test, encoding="utf-8")]
    chosen = pick(recs, a.n)
    with open(os.path.join(a.out, "heldout-prompts.txt"), "w", encoding="utf-8") as fp, \
            open(os.path.join(a.out, "heldout-transcripts.txt"), "w", encoding="utf-8") as ft:
        for r in chosen:
            fp.write(r["prompt"] + "\n")
            ft.write(corpus.escape_line(corpus.render_flat(r, tok.count)) + "\n")
    print(f"wrote {len(chosen)} held-out prompts ({sum(r['parallel'] for r in chosen)} parallel) to {a.out}")


if __name__ == "__main__":
    main()
