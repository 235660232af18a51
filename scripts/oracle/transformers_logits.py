#!/usr/bin/env python3
"""Logits of a Hugging Face checkpoint computed by `transformers`: the F32 oracle for Kiln's forward pass.

usage: python scripts/oracle/transformers_logits.py [--set KEY=JSON ...] CHECKPOINT_DIR IDS_FILE OUTPUT

- CHECKPOINT_DIR is a local folder (config.json + safetensors); nothing is fetched (offline mode is forced).
- IDS_FILE holds one token sequence per line, token ids separated by spaces. Each sequence is run on its
  own (batch of one, no padding, no cache) from position 0.
- OUTPUT receives, for each sequence in order, the logits of every position as raw little-endian float32,
  row-major [positions][vocab].
- --set KEY=JSON overrides a config attribute before the model is built (e.g. `--set
  final_logit_softcapping=0.5`, `--set 'layer_types=["sliding_attention","full_attention"]'`), so a
  feature a fixture leaves idle can be exercised; the caller alters its own model's metadata to match.
- stdout is one JSON line: {"vocab_size": V, "sequences": N, "model_type": "..."}.

The model is loaded with torch_dtype=float32 and attn_implementation="eager" on the CPU, so the
reference is plain F32 arithmetic without fused attention kernels. When the checkpoint's embedding has
more rows than config.vocab_size (tiny-gemma3 stores 640 rows for a vocab_size of 576), the config is
loaded with vocab_size set to the stored row count: the logits of the first rows are unchanged, and the
converter keeps (at most) those.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM  # noqa: E402


def embedding_rows(checkpoint: str) -> int | None:
    """Rows of the stored token embedding (any `*embed_tokens.weight`), or None if not found."""
    for name in sorted(os.listdir(checkpoint)):
        if not name.endswith(".safetensors"):
            continue
        with safe_open(os.path.join(checkpoint, name), framework="pt") as f:
            for key in f.keys():
                if key.endswith("embed_tokens.weight"):
                    return int(f.get_slice(key).get_shape()[0])
    return None


def read_sequences(path: str) -> list[list[int]]:
    sequences = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ids = [int(tok) for tok in line.split()]
            if ids:
                sequences.append(ids)
    return sequences


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument("checkpoint")
    parser.add_argument("ids")
    parser.add_argument("output")
    args = parser.parse_args(argv[1:])
    checkpoint, ids_path, output = args.checkpoint, args.ids, args.output
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    config = AutoConfig.from_pretrained(checkpoint, local_files_only=True)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    rows = embedding_rows(checkpoint)
    if rows is not None and rows != text_config.vocab_size:
        text_config.vocab_size = rows
    for assignment in args.set:
        key, sep, value = assignment.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=JSON, got {assignment!r}")
        setattr(text_config, key, json.loads(value))
    model = AutoModelForCausalLM.from_pretrained(
        checkpoint, config=config, dtype=torch.float32, attn_implementation="eager", local_files_only=True
    )
    model.eval()
    sequences = read_sequences(ids_path)
    vocab = None
    with open(output, "wb") as out, torch.no_grad():
        for ids in sequences:
            input_ids = torch.tensor([ids], dtype=torch.long)
            logits = model(input_ids=input_ids, use_cache=False).logits[0].to(torch.float32).numpy()
            vocab = logits.shape[-1]
            out.write(np.ascontiguousarray(logits, dtype="<f4").tobytes())
    print(json.dumps({"vocab_size": vocab, "sequences": len(sequences), "model_type": model.config.model_type}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
