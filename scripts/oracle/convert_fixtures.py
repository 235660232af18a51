#!/usr/bin/env python3
"""Run the oracle (llama.cpp's convert_hf_to_gguf.py via convert.py) on every fixture and outtype.

usage: python scripts/oracle/convert_fixtures.py --llama-cpp DIR [--python PY] [--out DIR]
                                                 [--outtypes f32,f16,bf16,q8_0] [--write-summaries | --check]
                                                 [NAME ...]

- Reads fixtures/fixtures.json for each fixture's `pre` name.
- Converts fixtures/NAME with PY (default: this interpreter) into OUT/NAME-OUTTYPE.gguf and prints the
  exact command line, the exit status and the time taken.
- --write-summaries writes fixtures/oracle/NAME/OUTTYPE.json (compare_gguf.py --json format), so tests
  can check Kiln's output without the oracle's Python environment.
- --check compares each output with the committed summary and fails on the first difference.
Exit status: 0 when every conversion (and check) succeeded.
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llama-cpp", required=True, type=Path)
    ap.add_argument("--python", default=sys.executable, help="interpreter with torch/transformers/sentencepiece")
    ap.add_argument("--fixtures", type=Path, default=ROOT / "fixtures")
    ap.add_argument("--out", type=Path, default=Path("/tmp/kiln-oracle"))
    ap.add_argument("--outtypes", default="f32,f16,bf16,q8_0")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--write-summaries", action="store_true")
    g.add_argument("--check", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()

    manifest = json.loads((args.fixtures / "fixtures.json").read_text(encoding="utf-8"))
    fixtures = {f["name"]: f for f in manifest["fixtures"]}
    names = args.names or list(fixtures)
    outtypes = [t for t in args.outtypes.split(",") if t]
    args.out.mkdir(parents=True, exist_ok=True)

    summarize = compare_golden = None
    if args.write_summaries or args.check:
        import compare_gguf as cg
        mods = cg._import_gguf(str(args.llama_cpp / "gguf-py"))
        summarize = lambda p: cg.summarize(cg.Gguf(str(p), mods))  # noqa: E731
        compare_golden = cg.compare_golden

    failures = 0
    for name in names:
        fx = fixtures[name]
        for t in outtypes:
            out = args.out / f"{name}-{t}.gguf"
            cmd = [args.python, str(HERE / "convert.py"), "--llama-cpp", str(args.llama_cpp),
                   str(args.fixtures / name), "--outfile", str(out), "--outtype", t]
            if fx.get("pre"):
                cmd += ["--pre", fx["pre"]]
            t0 = time.monotonic()
            p = subprocess.run(cmd, capture_output=True, text=True)
            dt = time.monotonic() - t0
            (args.out / f"{name}-{t}.log").write_text(p.stdout + p.stderr, encoding="utf-8")
            status = "ok" if p.returncode == 0 else f"FAILED rc={p.returncode}"
            print(f"{status:>8} {dt:6.2f}s  {shlex.join(cmd)}")
            if p.returncode != 0:
                failures += 1
                print("\n".join((p.stdout + p.stderr).splitlines()[-15:]), file=sys.stderr)
                continue
            if summarize is not None:
                s = summarize(out)
                golden_path = args.fixtures / "oracle" / name / f"{t}.json"
                if args.write_summaries:
                    golden_path.parent.mkdir(parents=True, exist_ok=True)
                    golden_path.write_text(json.dumps(s, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
                else:
                    golden = json.loads(golden_path.read_text(encoding="utf-8"))
                    diff = compare_golden(golden, s)
                    if diff is not None:
                        failures += 1
                        print(f"    DIFFERS from {golden_path}: {diff}")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
