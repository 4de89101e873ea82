#!/usr/bin/env python3
"""Split golden_input.json's inputs with Python's `regex` module.

Writes golden.json: for every pre-tokenizer type, the byte offsets where
each input's chunks end, splitting the way llama.cpp's unicode_regex_split
and Hugging Face's Split(behavior="Isolated") do: patterns in sequence,
each applied to every chunk of the one before; matches and the text
between them are chunks; empty matches only mark split points.

Regenerate (from tokenizer/pretok):
    go test -run TestGolden -update   # writes testdata/golden_input.json
    python3 testdata/gen_golden.py    # needs the `regex` module
"""
import json
import os

import regex

HERE = os.path.dirname(os.path.abspath(__file__))


def split(patterns, text):
    chunks = [text] if text else []
    for pat in patterns:
        rx = regex.compile(pat)
        out = []
        for c in chunks:
            prev = 0
            for m in rx.finditer(c):
                s, e = m.span()
                if s > prev:
                    out.append(c[prev:s])
                if e > s:
                    out.append(c[s:e])
                prev = e
            if prev < len(c):
                out.append(c[prev:])
        chunks = out
    return chunks


def main():
    with open(os.path.join(HERE, "golden_input.json"), encoding="utf-8") as f:
        spec = json.load(f)
    # Types with the same patterns share one list of splits, stored under
    # the first of them by name.
    splits, same = {}, {}
    first = {}
    for typ, pats in sorted(spec["types"].items()):
        py = tuple(p["py"] for p in pats)
        if py in first:
            same[typ] = first[py]
            continue
        first[py] = typ
        rows = []
        for text in spec["inputs"]:
            ends, n = [], 0
            for c in split(py, text):
                n += len(c.encode("utf-8"))
                ends.append(str(n))
            rows.append(" ".join(ends))
        splits[typ] = rows
    out = {
        "generator": "gen_golden.py, regex " + regex.__version__,
        "types": spec["types"],
        "inputs": spec["inputs"],
        "splits": splits,
        "same": same,
    }
    with open(os.path.join(HERE, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=0, sort_keys=True)
        f.write("\n")
    os.remove(os.path.join(HERE, "golden_input.json"))


if __name__ == "__main__":
    main()
