#!/usr/bin/env python3
"""Tokenizers with `Split` pre-tokenizers on literal strings, and the ids `tokenizers` gives for a corpus.

    python split_variants.py BYTE_LEVEL_TOKENIZER.json SPM_STYLE_TOKENIZER.json CORPUS.txt OUT

Writes OUT/caseN/tokenizer.json for every pattern × behaviour × invert on the byte-level tokenizer (its
pre-tokenizer replaced by the Split followed by a regex-free ByteLevel), plus Gemma's configuration on the
SentencePiece-style one (`Split(" ", MergedWithPrevious)` after its normalizer), and OUT/expected.json:
[{"folder", "pattern", "behavior", "invert", "ids": [ids per corpus line]}].
"""
import copy
import json
import os
import sys

from tokenizers import Tokenizer


def main():
    byte_level, spm_style, corpus, out = sys.argv[1:5]
    lines = open(corpus, encoding="utf-8", newline="").read().split("\n")
    variants = []
    base = json.load(open(byte_level, encoding="utf-8"))
    for pattern in [" ", "th", "\u2581", "\n"]:
        for behavior in ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]:
            for invert in [False, True]:
                d = copy.deepcopy(base)
                split = {"type": "Split", "pattern": {"String": pattern}, "behavior": behavior, "invert": invert}
                byte = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
                d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [split, byte]}
                variants.append((d, pattern, behavior, invert))
    gemma = json.load(open(spm_style, encoding="utf-8"))
    gemma["pre_tokenizer"] = {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious",
                              "invert": False}
    variants.append((gemma, " ", "MergedWithPrevious", False))
    results = []
    for k, (d, pattern, behavior, invert) in enumerate(variants):
        folder = os.path.join(out, f"case{k}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(d, f, ensure_ascii=False)
        t = Tokenizer.from_str(json.dumps(d))
        results.append({"folder": folder, "pattern": pattern, "behavior": behavior, "invert": invert,
                        "ids": [t.encode(line, add_special_tokens=False).ids for line in lines]})
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
