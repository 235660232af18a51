#!/usr/bin/env python3
"""Run llama.cpp's real convert_hf_to_gguf.py on a checkpoint (the cross-tool oracle).

usage: python scripts/oracle/convert.py --llama-cpp DIR CKPT --outfile OUT
                                        --outtype f32|f16|bf16|q8_0[,...] [--pre NAME] [-- EXTRA CONVERTER ARGS]

- Several outtypes (comma-separated) are converted in one process, paying torch's import once; OUT must
  then hold `{outtype}`, replaced by each type.

- DIR is a llama.cpp source tree (it must hold convert_hf_to_gguf.py, conversion/ and gguf-py/).
  The tree's gguf-py is put first on sys.path, exactly as the converter itself does.
- --pre NAME replaces TextModel.get_vocab_base_pre (conversion/base.py) with one that returns NAME.
  Tiny byte-level BPE vocabularies never hash to an entry of the converter's table of known
  pre-tokenizers, so without it the converter raises NotImplementedError. Nothing else is touched;
  SentencePiece checkpoints never call get_vocab_base_pre and need no --pre.
- Runs offline: HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1 are forced before anything is imported.

The Python running this needs torch (CPU is enough), transformers, sentencepiece, numpy, safetensors,
the dependencies of llama.cpp's requirements/requirements-convert_hf_to_gguf.txt.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llama-cpp", required=True, type=Path, help="llama.cpp source tree")
    ap.add_argument("checkpoint", type=Path, help="Hugging Face checkpoint directory")
    ap.add_argument("--outfile", required=True, type=Path)
    ap.add_argument("--outtype", required=True, help="f32, f16, bf16, q8_0, tq1_0, tq2_0 or auto; or a comma list")
    ap.add_argument("--pre", default=None, help="value forced into tokenizer.ggml.pre for BPE vocabularies")
    ap.add_argument("--verbose", action="store_true", help="pass --verbose to the converter")
    argv_in = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv_in:  # everything after a bare -- goes to the converter unchanged
        cut = argv_in.index("--")
        argv_in, extra = argv_in[:cut], argv_in[cut + 1:]
    args = ap.parse_args(argv_in)
    outtypes = [t for t in args.outtype.split(",") if t]
    known = {"f32", "f16", "bf16", "q8_0", "tq1_0", "tq2_0", "auto"}
    if not outtypes or any(t not in known for t in outtypes):
        ap.error(f"--outtype: {args.outtype!r} is not a comma list of {sorted(known)}")
    if len(outtypes) > 1 and "{outtype}" not in str(args.outfile):
        ap.error("--outfile must contain {outtype} when several outtypes are given")

    tree = args.llama_cpp.resolve()
    script = tree / "convert_hf_to_gguf.py"
    if not script.is_file() or not (tree / "conversion").is_dir():
        print(f"error: {tree} is not a llama.cpp tree with convert_hf_to_gguf.py and conversion/", file=sys.stderr)
        return 2
    if not args.checkpoint.is_dir():
        print(f"error: {args.checkpoint} is not a directory", file=sys.stderr)
        return 2

    # Same import set-up as the converter: the tree's gguf-py wins over any installed gguf.
    sys.path.insert(0, str(tree))
    if "NO_LOCAL_GGUF" not in os.environ:
        sys.path.insert(1, str(tree / "gguf-py"))

    import importlib.util
    spec = importlib.util.spec_from_file_location("convert_hf_to_gguf", script)
    assert spec is not None and spec.loader is not None
    converter = importlib.util.module_from_spec(spec)
    sys.modules["convert_hf_to_gguf"] = converter
    spec.loader.exec_module(converter)  # runs the imports only; main() is guarded by __name__

    if args.pre is not None:
        from conversion import base as conversion_base
        pre_name = args.pre
        original = conversion_base.TextModel.get_vocab_base_pre

        def forced_vocab_base_pre(self, tokenizer) -> str:  # noqa: ARG001 - same signature as the original
            conversion_base.logger.info(f"oracle: tokenizer.ggml.pre forced to {pre_name!r}")
            return pre_name

        forced_vocab_base_pre.__wrapped__ = original  # type: ignore[attr-defined]
        conversion_base.TextModel.get_vocab_base_pre = forced_vocab_base_pre
        # Subclasses that define their own get_vocab_base_pre (none of the families Kiln covers) keep theirs.

    for outtype in outtypes:
        outfile = Path(str(args.outfile).replace("{outtype}", outtype))
        argv = [str(script), str(args.checkpoint), "--outfile", str(outfile), "--outtype", outtype]
        if args.verbose:
            argv.append("--verbose")
        sys.argv = argv + extra

        outfile.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        converter.main()
        print(f"oracle: wrote {outfile} in {time.monotonic() - t0:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
