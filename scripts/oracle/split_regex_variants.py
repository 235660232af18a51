#!/usr/bin/env python3
"""Tokenizers with regex `Split`, `Whitespace`, `WhitespaceSplit`, `Punctuation` and `Metaspace`-after-a-split
pre-tokenizers and regex `Replace` normalizers, and the ids `tokenizers` gives for a corpus.

    python split_regex_variants.py BYTE_LEVEL_TOKENIZER.json CORPUS.txt OUT

Writes OUT/caseN/tokenizer.json for each variant on the byte-level tokenizer (its pre-tokenizer replaced by the
step under test followed by a regex-free ByteLevel; for the regex Replace normalizers, its normalizer replaced
and the pre-tokenizer a regex-free ByteLevel), and OUT/expected.json:
[{"folder", "step", "ids": [ids per corpus line]}] where "step" is the component under test.
"""
import copy
import json
import os
import sys

from tokenizers import Tokenizer

BEHAVIORS = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]
# Regexes as real checkpoints and their neighbours write them: whitespace runs, punctuation runs, digit
# groups, a case-insensitive alternative, a lookahead, and a Unicode script class.
REGEXES = [r"\s+", r"\p{P}+", r"\p{N}{1,3}", r"(?i:the|and)", r" ?[^\s\p{L}\p{N}]+[\r\n]*", r"\s+(?!\S)",
           r"\p{Han}+|\p{Hiragana}+|\p{Katakana}+", r"[A-Z][a-z]+"]


def main():
    byte_level, corpus, out = sys.argv[1:4]
    lines = open(corpus, encoding="utf-8", newline="").read().split("\n")
    base = json.load(open(byte_level, encoding="utf-8"))
    steps = []
    for regex in REGEXES:
        for behavior in BEHAVIORS:
            for invert in [False, True]:
                steps.append({"type": "Split", "pattern": {"Regex": regex}, "behavior": behavior, "invert": invert})
    steps.append({"type": "Whitespace"})
    steps.append({"type": "WhitespaceSplit"})
    for behavior in BEHAVIORS:
        steps.append({"type": "Punctuation", "behavior": behavior})
    # Metaspace after another step, with each prepend scheme and with and without its split.
    for scheme in ["always", "first", "never"]:
        for split in [True, False]:
            steps.append({"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": r"\p{P}"}, "behavior": "Isolated", "invert": False},
                {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": scheme, "split": split}]})
    # As BERT-style checkpoints chain them.
    steps.append({"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
                                                        {"type": "Punctuation", "behavior": "Isolated"}]})
    # Regex Replace normalizers (the pre-tokenizer then only maps bytes).
    normalizers = [{"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
                   {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": "\u2581"},
                   {"type": "Sequence", "normalizers": [{"type": "NFKC"},
                                                        {"type": "Replace", "pattern": {"Regex": r"\p{N}"},
                                                         "content": "0"}]}]
    steps += [{"normalizer": n} for n in normalizers]
    results = []
    for k, step in enumerate(steps):
        d = copy.deepcopy(base)
        byte = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
        if "normalizer" in step:
            d["normalizer"] = step["normalizer"]
            d["pre_tokenizer"] = byte
        else:
            d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [step, byte]}
        folder = os.path.join(out, f"case{k}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(d, f, ensure_ascii=False)
        t = Tokenizer.from_str(json.dumps(d))
        results.append({"folder": folder, "step": json.dumps(step),
                        "ids": [t.encode(line, add_special_tokens=False).ids for line in lines]})
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
