#!/usr/bin/env python3
"""Renders a conversation corpus with Hugging Face transformers' `apply_chat_template`, as the oracle for Kiln's
chat-template engine (docs: ../shared/spec/chat-templates.md, section 6).

    python chat_templates.py --corpus conversations.json --out RESULTS_DIR TEMPLATE_SOURCE...

A TEMPLATE_SOURCE is a `.jinja` file (special tokens default to `<s>` and `</s>`) or a checkpoint folder (its
chat template and named special tokens, loaded as `transformers` loads a tokenizer's). Writes
`RESULTS_DIR/<name>.jsonl` per source, one line per conversation in corpus order:
`{"conversation": id, "output": text}` or `{"conversation": id, "error": "<ExceptionType>: <message>"}`.

Rendering goes through `transformers` itself: a minimal `PreTrainedTokenizerFast` over a `tokenizers` WordLevel
model whose vocabulary is the special tokens, so every step of `apply_chat_template` (template selection, null
keys, reasoning aliases, special tokens, `continue_final_message`) is the library's own. The clock that
`strftime_now` reads is frozen at 2025-03-07 09:05:03 local time.
"""

import argparse
import datetime as _datetime
import json
import os
import sys
import time
import types
from pathlib import Path

FROZEN_NOW = _datetime.datetime(2025, 3, 7, 9, 5, 3)

# The named special tokens transformers passes to templates, in the order it passes them.
SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
DEFAULT_SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}


class FrozenDateTime(_datetime.datetime):
    """`datetime` whose `now()` is FROZEN_NOW, a naive local time (so `now(tz)` converts from local time)."""

    @classmethod
    def now(cls, tz=None):
        local = cls(*FROZEN_NOW.timetuple()[:6])
        return local if tz is None else local.astimezone(tz)


def freeze_clock():
    """Replaces the `datetime` that `transformers.utils.chat_template_utils` reads for `strftime_now`.

    transformers 4.4x and 5.x import the class (`from datetime import datetime`); an older layout imported the
    module, which is handled by swapping in a module whose `datetime` is the frozen class.
    """
    from transformers.utils import chat_template_utils

    current = getattr(chat_template_utils, "datetime", None)
    if isinstance(current, types.ModuleType):
        shim = types.ModuleType("datetime")
        shim.__dict__.update(current.__dict__)
        shim.datetime = FrozenDateTime
        chat_template_utils.datetime = shim
    elif current is not None:
        chat_template_utils.datetime = FrozenDateTime
    else:
        raise RuntimeError("transformers.utils.chat_template_utils has no `datetime` to freeze")


def make_tokenizer(chat_template, special_tokens):
    """A `PreTrainedTokenizerFast` that only knows its special tokens, carrying `chat_template`."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {}
    for value in special_tokens.values():
        vocab.setdefault(value, len(vocab))
    unk = special_tokens.get("unk_token")
    if unk is None:
        unk = "[KILN-ORACLE-UNK]"
        vocab.setdefault(unk, len(vocab))
    backend = Tokenizer(WordLevel(vocab=vocab, unk_token=unk))
    return PreTrainedTokenizerFast(tokenizer_object=backend, chat_template=chat_template, **special_tokens)


def token_text(value):
    """A special token from tokenizer_config.json: a string, or an AddedToken dict with `content`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def load_source(path):
    """Returns (name, chat_template, special_tokens) for a `.jinja` file or a checkpoint folder.

    For a folder, `chat_template.jinja` and `additional_chat_templates/*.jinja` take priority over
    tokenizer_config.json's `chat_template` (a string, or a list of {name, template}), as in transformers'
    tokenizer loading (which reads those files with universal newlines, as `read_text` does here); a processor's
    legacy `chat_template.json` is the last resort.
    """
    path = Path(path)
    if path.is_file():
        # Exactly the file's text (no newline translation), as Kiln reads a template it is given.
        with open(path, encoding="utf-8", newline="") as f:
            return path.name.removesuffix(".jinja"), f.read(), dict(DEFAULT_SPECIAL_TOKENS)
    if not path.is_dir():
        raise FileNotFoundError(f"no such template file or checkpoint folder: {path}")

    config_path = path / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    special_tokens = {}
    for key in SPECIAL_TOKEN_NAMES:
        text = token_text(config.get(key))
        if text is not None:
            special_tokens[key] = text

    files = {}
    if (path / "chat_template.jinja").is_file():
        files["default"] = (path / "chat_template.jinja").read_text(encoding="utf-8")
    extra_dir = path / "additional_chat_templates"
    if extra_dir.is_dir():
        for file in sorted(extra_dir.glob("*.jinja")):
            files[file.name.removesuffix(".jinja")] = file.read_text(encoding="utf-8")
    if files:
        template = files["default"] if list(files) == ["default"] else files
    elif config.get("chat_template") is not None:
        template = config["chat_template"]
        if isinstance(template, list):
            template = {entry["name"]: entry["template"] for entry in template}
    elif (path / "chat_template.json").is_file():
        template = json.loads((path / "chat_template.json").read_text(encoding="utf-8"))["chat_template"]
    else:
        raise ValueError(f"{path} has no chat template")
    return path.name, template, special_tokens


def render(tokenizer, conversation):
    """One conversation rendered as `apply_chat_template(..., tokenize=False)` does."""
    return tokenizer.apply_chat_template(
        conversation["messages"],
        tools=conversation.get("tools"),
        documents=conversation.get("documents"),
        add_generation_prompt=conversation.get("add_generation_prompt", False),
        continue_final_message=conversation.get("continue_final_message", False),
        tokenize=False,
        **conversation.get("kwargs", {}),
    )


def describe(error):
    return f"{type(error).__name__}: {error}"


def check_clock():
    """Fails loudly if the clock freeze did not reach `strftime_now`."""
    tokenizer = make_tokenizer("{{ strftime_now('%Y-%m-%d %H:%M:%S') }}", dict(DEFAULT_SPECIAL_TOKENS))
    got = tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False)
    want = FROZEN_NOW.strftime("%Y-%m-%d %H:%M:%S")
    if got != want:
        raise SystemExit(f"chat_templates.py: clock freeze failed: strftime_now gave {got!r}, expected {want!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="conversations.json (spec section 6 format)")
    parser.add_argument("--out", required=True, help="results directory (created if missing)")
    parser.add_argument("sources", nargs="+", metavar="TEMPLATE_SOURCE", help=".jinja file or checkpoint folder")
    args = parser.parse_args()

    started = time.monotonic()
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    freeze_clock()
    check_clock()

    with open(args.corpus, encoding="utf-8") as f:
        conversations = json.load(f)["conversations"]
    ids = [c["id"] for c in conversations]
    if len(set(ids)) != len(ids):
        raise SystemExit("chat_templates.py: conversation ids are not unique")
    os.makedirs(args.out, exist_ok=True)

    names = set()
    outputs = errors = 0
    for source in args.sources:
        try:
            name, template, special_tokens = load_source(source)
            tokenizer = make_tokenizer(template, special_tokens)
            setup_error = None
        except Exception as error:  # an unreadable source fails every conversation, not the run
            name = Path(source).name.removesuffix(".jinja")
            setup_error = describe(error)
        if name in names:
            raise SystemExit(f"chat_templates.py: two sources are named {name!r}")
        names.add(name)

        lines = []
        for conversation in conversations:
            record = {"conversation": conversation["id"]}
            if setup_error is not None:
                record["error"] = setup_error
            else:
                try:
                    # apply_chat_template copies what it edits, but a fresh copy keeps runs independent anyway.
                    record["output"] = render(tokenizer, json.loads(json.dumps(conversation)))
                except Exception as error:
                    record["error"] = describe(error)
            if "output" in record:
                outputs += 1
            else:
                errors += 1
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        with open(os.path.join(args.out, name + ".jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)

    elapsed = time.monotonic() - started
    print(
        f"chat_templates.py: {len(names)} templates x {len(conversations)} conversations: {outputs} outputs, "
        f"{errors} errors in {elapsed:.1f} s (transformers {transformers.__version__})"
    )


if __name__ == "__main__":
    main()
