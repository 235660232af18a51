#!/usr/bin/env python3
"""Record what llama.cpp's converter + llama-quantize write for synthetic 256-aligned Llama checkpoints.

Kiln's tests rebuild the same checkpoints (`kiln-bench make-checkpoint`, deterministic), quantize them in
one step with `kiln quantize`, and compare against the summaries written here
(`fixtures/oracle-quantize/VARIANT/NAME.json`, the format of compare_gguf.py --json).

usage: quantize_fixtures.py --kiln-bench BIN --llama-cpp DIR --llama-quantize BIN --out DIR [--python PY]

Needs: the oracle Python (torch, transformers, gguf-py from the llama.cpp tree) to run the converter;
llama-quantize built from the same llama.cpp tree (x86-64; ggml-base compiled without FMA).
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> make-checkpoint arguments. Rows are multiples of 256, so real K-quants are chosen.
VARIANTS = {
    "untied-gqa4": ["--layers", "8", "--hidden", "256", "--intermediate", "512", "--heads", "8", "--kv-heads", "2", "--layers-per-shard", "4"],
    "tied-gqa4": ["--layers", "8", "--hidden", "256", "--intermediate", "512", "--heads", "8", "--kv-heads", "2", "--layers-per-shard", "8", "--tied"],
    "tied-mha": ["--layers", "16", "--hidden", "256", "--intermediate", "256", "--heads", "4", "--kv-heads", "4", "--layers-per-shard", "16", "--tied"],
}

ALL_TYPES = ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L",
             "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "TQ1_0", "TQ2_0"]

# (case name, variant, type, extra llama-quantize options before the positional arguments)
def cases():
    for t in ALL_TYPES:
        yield t, "untied-gqa4", t, []
        yield t, "tied-gqa4", t, []
    for t in ["Q2_K", "Q3_K_M", "Q4_K_M", "Q4_K_S", "Q5_K_M"]:
        yield t, "tied-mha", t, []
    v = "untied-gqa4"
    yield "Q4_K_M-pure", v, "Q4_K_M", ["--pure"]
    yield "Q4_K_M-output-q8_0-embd-q4_0", v, "Q4_K_M", ["--output-tensor-type", "q8_0", "--token-embedding-type", "q4_0"]
    yield "Q4_K_M-tensor-type", v, "Q4_K_M", ["--tensor-type", "attn_v=q8_0", "--tensor-type", "ffn_up=q5_k"]
    yield "Q4_K_M-leave-output", v, "Q4_K_M", ["--leave-output-tensor"]
    yield "Q4_K_M-override-kv", v, "Q4_K_M", ["--override-kv", "kiln.test.int=int:-7", "--override-kv", "kiln.test.str=str:hello",
                                             "--override-kv", "kiln.test.float=float:0.25", "--override-kv", "kiln.test.bool=bool:true"]
    for t in ["Q4_K_M", "Q2_K", "Q3_K_S", "Q5_K_S", "Q6_K", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K_S"]:
        yield f"{t}-imatrix-gguf", v, t, ["--imatrix", "IMATRIX_GGUF"]
    yield "Q4_K_M-imatrix-dat", v, "Q4_K_M", ["--imatrix", "IMATRIX_DAT"]
    yield "Q4_K_M-imatrix-dat-exclude", v, "Q4_K_M", ["--imatrix", "IMATRIX_DAT", "--exclude-weights", "ffn_down"]
    yield "Q4_K_M-imatrix-dat-include", v, "Q4_K_M", ["--imatrix", "IMATRIX_DAT", "--include-weights", "attn_"]


def imatrix_values(name: str, n: int) -> list[float]:
    """Deterministic positive importance values for one tensor."""
    h = sum(name.encode()) % 97
    return [float(((i * 7919 + h * 31) % 997) + 1) / 64.0 for i in range(n)]


def write_imatrix(f32_gguf: Path, out_gguf: Path, out_dat: Path, gguf_mod) -> None:
    reader = gguf_mod.GGUFReader(str(f32_gguf))
    weights = [(t.name, int(t.shape[0])) for t in reader.tensors if len(t.shape) == 2 and t.name != "token_embd.weight"]
    weights.sort()
    # legacy .dat: values = mean * ncall
    ncall = 3
    with open(out_dat, "wb") as f:
        f.write(struct.pack("<i", len(weights)))
        for name, n in weights:
            b = name.encode()
            f.write(struct.pack("<i", len(b)) + b + struct.pack("<ii", ncall, n))
            f.write(struct.pack(f"<{n}f", *[v * ncall for v in imatrix_values(name, n)]))
        f.write(struct.pack("<i", 5))
        d = b"synthetic-calibration.txt"
        f.write(struct.pack("<i", len(d)) + d)
    # GGUF: in_sum2 = mean * count, counts = count
    import numpy as np
    w = gguf_mod.GGUFWriter(str(out_gguf), arch="imatrix")
    w.add_type("imatrix")
    w.add_array("imatrix.datasets", ["synthetic-calibration.txt"])
    w.add_uint32("imatrix.chunk_count", 5)
    w.add_uint32("imatrix.chunk_size", 512)
    count = 2560.0
    for name, n in weights:
        w.add_tensor(name + ".in_sum2", np.array([imatrix_values(name, n)], dtype=np.float32) * np.float32(count))
        w.add_tensor(name + ".counts", np.array([[count]], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiln-bench", required=True)
    ap.add_argument("--llama-cpp", required=True, type=Path)
    ap.add_argument("--llama-quantize", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--tokenizer-from", default="fixtures/tiny-llama")
    args = ap.parse_args()
    sys.path.insert(0, str(args.llama_cpp / "gguf-py"))
    import gguf as gguf_mod

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        f32 = {}
        for v, vargs in VARIANTS.items():
            ckpt = tmp / v
            subprocess.run([args.kiln_bench, "make-checkpoint", str(ckpt), "--tokenizer-from", args.tokenizer_from] + vargs, check=True, stdout=subprocess.DEVNULL)
            f32[v] = tmp / f"{v}-f32.gguf"
            subprocess.run([args.python, str(HERE / "convert.py"), "--llama-cpp", str(args.llama_cpp), str(ckpt),
                            "--outfile", str(f32[v]), "--outtype", "f32", "--pre", "smollm"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        imatrix_gguf, imatrix_dat = args.out / "imatrix.gguf", args.out / "imatrix.dat"
        write_imatrix(f32["untied-gqa4"], imatrix_gguf, imatrix_dat, gguf_mod)
        index = []
        for name, v, t, extra in cases():
            opts = [str(imatrix_gguf) if o == "IMATRIX_GGUF" else str(imatrix_dat) if o == "IMATRIX_DAT" else o for o in extra]
            out = tmp / f"{v}-{name}.gguf"
            r = subprocess.run([args.llama_quantize] + opts + [str(f32[v]), str(out), t, "2"], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{v} {name}: llama-quantize failed:\n{r.stderr[-2000:]}", file=sys.stderr)
                return 1
            summary = subprocess.run([sys.executable, str(HERE / "compare_gguf.py"), "--gguf-py", str(args.llama_cpp / "gguf-py"), "--json", str(out)],
                                     capture_output=True, text=True, check=True).stdout
            (args.out / v).mkdir(exist_ok=True)
            (args.out / v / f"{name}.json").write_text(summary)
            index.append({"name": name, "variant": v, "type": t,
                          "options": [("IMATRIX_GGUF" if o == str(imatrix_gguf) else "IMATRIX_DAT" if o == str(imatrix_dat) else o) for o in opts]})
            print(f"{v} {name}: ok")
        (args.out / "cases.json").write_text(json.dumps({"variants": VARIANTS, "cases": index}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
