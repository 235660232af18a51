#!/usr/bin/env python3
"""Self-test of compare_gguf.py: mutate copies of a real GGUF file and check the reported difference.

usage: python scripts/oracle/test_compare_gguf.py X.gguf [--gguf-py DIR]
Needs a converter output with a tokenizer.ggml.tokens array and at least two tensors
(e.g. /tmp/kiln-oracle/tiny-qwen2-bf16.gguf from convert_fixtures.py).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str) -> tuple[int, str]:
    p = subprocess.run([sys.executable, str(HERE / "compare_gguf.py"), *args], capture_output=True, text=True)
    return p.returncode, p.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf", type=Path)
    ap.add_argument("--gguf-py")
    a = ap.parse_args()
    extra = ["--gguf-py", a.gguf_py] if a.gguf_py else []
    sys.path.insert(0, str(HERE))
    import compare_gguf as cg
    GGUFReader, VT, _ = cg._import_gguf(a.gguf_py)
    r = GGUFReader(str(a.gguf))
    src = a.gguf.read_bytes()
    tmp = Path(tempfile.mkdtemp(prefix="cmpgguf-"))
    fails = 0

    last: list[Path] = []

    def check(label: str, data: bytes | None, expect_rc: int, expect_sub: str, mode: str = "pair") -> None:
        """data None: reuse the previous case's file (to check it in --golden mode)."""
        nonlocal fails
        if data is not None:
            path = tmp / f"{label}.gguf"
            path.write_bytes(data)
            last[:] = [path]
        else:
            path = last[0]
        if mode == "pair":
            rc, out = run(*extra, str(a.gguf), str(path))
        else:
            golden = tmp / "golden.json"
            golden.write_text(run(*extra, "--json", str(a.gguf))[1], encoding="utf-8")
            rc, out = run(*extra, "--golden", str(golden), str(path))
        ok = rc == expect_rc and expect_sub in out
        fails += not ok
        print(f"{'PASS' if ok else 'FAIL'} {label}: rc={rc} {out}")

    check("same", src, 0, "identical")
    # tensor data: flip one bit at byte 7 of the second tensor
    t = r.tensors[1]
    b = bytearray(src); b[t.data_offset + 7] ^= 1
    check("tensor-bit", bytes(b), 1, f"tensor {t.name} (#1): data differs at byte 7")
    check("tensor-bit-golden", None, 1, f"tensor {t.name} (#1): data differs", mode="golden")
    # a scalar KV value: general.quantization_version (u32)
    f = r.fields["general.quantization_version"]
    idx = [k for k in r.fields if not k.startswith("GGUF.")].index("general.quantization_version")
    b = bytearray(src); b[f.offset + f.parts[0].nbytes + f.parts[1].nbytes + 4] ^= 1
    check("kv-value", bytes(b), 1, f"key {idx}: A has general.quantization_version UINT32 2, B has general.quantization_version UINT32 3")
    # one element of the token array
    f = r.fields["tokenizer.ggml.tokens"]
    idx = [k for k in r.fields if not k.startswith("GGUF.")].index("tokenizer.ggml.tokens")
    j = 5
    part = f.parts[f.data[j]]
    tok_bytes = bytes(part)
    pos = src.find(tok_bytes, f.offset)  # first occurrence at or after the field start
    while pos != -1 and not (src[pos - 8:pos] == len(tok_bytes).to_bytes(8, "little")):
        pos = src.find(tok_bytes, pos + 1)
    b = bytearray(src); b[pos] = ord("#") if b[pos] != ord("#") else ord("$")
    check("token", bytes(b), 1, f"key {idx} tokenizer.ggml.tokens ARRAY[STRING]: element")
    check("token-golden", None, 1, f"key {idx} tokenizer.ggml.tokens ARRAY[STRING]: element values differ", mode="golden")
    # padding byte just before the data section
    b = bytearray(src); b[r.data_offset - 1] ^= 0x20
    check("padding", bytes(b), 1, "outside KV values and tensor data")
    # truncated file
    check("truncated", src[: len(src) - 64], 2, "not a readable GGUF file")
    # JSON summary round trip: identical against itself
    rc, out = run(*extra, "--json", str(a.gguf))
    s = json.loads(out)
    ok = rc == 0 and len(s["tensors"]) == len(r.tensors) and s["tensors"][0]["offset"] == r.tensors[0].data_offset
    fails += not ok
    print(f"{'PASS' if ok else 'FAIL'} json-summary")
    print(f"{fails} failure(s)")
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
