#!/usr/bin/env python3
"""Compare GGUF files, or a GGUF file and a golden JSON summary, and report the first difference.

usage:
  compare_gguf.py A.gguf B.gguf            prints `identical` (exit 0) or the first difference (exit 1)
  compare_gguf.py --json X.gguf            prints a JSON summary of X (the format of shared/golden/*/*.json)
  compare_gguf.py --golden G.json X.gguf   compares X with the summary G: `identical` (0) or the first difference (1)

What is compared, in file order: version; alignment; the KV list (count, then each KV in order: key,
type, value; arrays element by element); the tensor list (count, then each tensor in order: name,
type, shape (ne0 first), offset within the data section, byte count); then the bytes of each tensor;
last, any other byte of the file (padding, trailing data).

JSON summary fields: file_bytes, file_sha256, version, alignment, metadata (each KV in file order as
{key, type, value}; arrays with more than 16 elements are {key, type, count, sha256_json} where
sha256_json is the SHA-256 of json.dumps(values, ensure_ascii=False)), tensors (in file order:
name, type, shape, offset, bytes, sha256). The summary's `offset` is the tensor's absolute offset in the
file (data-section start + the offset stored in the tensor info), which is what shared/golden holds.

Exit status: 0 identical, 1 different, 2 unreadable input or usage error.
Needs numpy and gguf-py (pip `gguf`, or the llama.cpp tree's gguf-py via --gguf-py DIR / $GGUF_PY).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import sys
from typing import Any

ARRAY_INLINE_MAX = 16


def _import_gguf(gguf_py: str | None):
    path = gguf_py or os.environ.get("GGUF_PY")
    if path:
        sys.path.insert(0, path)
    try:
        import gguf  # noqa: F401
        from gguf import GGUFReader, GGUFValueType, GGMLQuantizationType
    except ImportError as e:  # pragma: no cover
        print(f"error: cannot import gguf-py ({e}); pip install gguf or pass --gguf-py LLAMA_CPP/gguf-py",
              file=sys.stderr)
        sys.exit(2)
    return GGUFReader, GGUFValueType, GGMLQuantizationType


class Unreadable(Exception):
    pass


class Gguf:
    """The parts of one GGUF file that the comparison needs, in file order."""

    def __init__(self, path: str, mods) -> None:
        GGUFReader, self.VT, self.QT = mods
        self.path = path
        try:
            self.reader = GGUFReader(path, "r")
        except Exception as e:  # noqa: BLE001 - any parse failure is reported the same way
            raise Unreadable(f"{path}: not a readable GGUF file: {e}") from e
        r = self.reader
        self.version = int(r.fields["GGUF.version"].parts[0][0])
        self.alignment = int(r.alignment)
        self.data_offset = int(r.data_offset)
        self.file_bytes = int(r.data.nbytes)
        self.kvs = [f for name, f in r.fields.items() if not name.startswith("GGUF.")]
        self.tensors = list(r.tensors)

    # ---- KVs -------------------------------------------------------------------------------
    def kv_type(self, f) -> str:
        main = self.VT(int(f.parts[2][0]))
        if main == self.VT.ARRAY:
            sub = self.VT(int(f.parts[3][0]))
            inner = sub.name
            if sub == self.VT.ARRAY and len(f.types) > 2:  # nested arrays: the reader flattens them
                inner = "ARRAY[" + f.types[-1].name + "]"
            return f"ARRAY[{inner}]"
        return main.name

    def kv_value(self, f) -> Any:
        """Python value of a KV: str/int/float/bool, or a list for arrays (floats from float32/64)."""
        main = self.VT(int(f.parts[2][0]))
        if main == self.VT.ARRAY:
            sub = self.VT(int(f.parts[3][0]))
            if sub == self.VT.STRING:
                return [bytes(f.parts[i]).decode("utf-8", errors="surrogateescape") for i in f.data]
            return [v for i in f.data for v in f.parts[i].tolist()]
        if main == self.VT.STRING:
            return bytes(f.parts[-1]).decode("utf-8", errors="surrogateescape")
        return f.parts[-1].tolist()[0]

    def kv_raw(self, f) -> bytes:
        """The exact bytes of the KV's value (type tag excluded) for bit-level equality."""
        return b"".join(p.tobytes() for p in f.parts[3:])

    # ---- tensors ---------------------------------------------------------------------------
    def t_type(self, t) -> str:
        return t.tensor_type.name

    def t_shape(self, t) -> list[int]:
        return [int(d) for d in t.shape.tolist()]

    def t_offset(self, t) -> int:
        return int(t.field.parts[5][0])

    def t_bytes(self, t) -> int:
        return int(t.n_bytes)

    def t_data(self, t) -> memoryview:
        start = int(t.data_offset)
        return memoryview(self.reader.data[start:start + int(t.n_bytes)])

    def raw(self) -> memoryview:
        return memoryview(self.reader.data)


# ---- formatting -------------------------------------------------------------------------------
def _short(v: Any, limit: int = 120) -> str:
    if isinstance(v, float):
        s = repr(v)
    elif isinstance(v, list):
        s = "[" + ", ".join(_short(x, 40) for x in v[:8]) + (", …" if len(v) > 8 else "") + f"] ({len(v)} items)"
    else:
        s = repr(v)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def _same_scalar(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return struct.pack("<d", a) == struct.pack("<d", b)  # distinguishes -0.0
    return type(a) is type(b) and a == b


def _first_byte_diff(a: memoryview, b: memoryview) -> int | None:
    """Index of the first differing byte (also the end of the shorter one), or None."""
    import numpy as np
    n = min(len(a), len(b))
    if n:
        aa = np.frombuffer(a, dtype=np.uint8, count=n)
        bb = np.frombuffer(b, dtype=np.uint8, count=n)
        # chunked so that huge tensors do not allocate a full boolean mask
        step = 1 << 24
        for s in range(0, n, step):
            ne = np.flatnonzero(aa[s:s + step] != bb[s:s + step])
            if ne.size:
                return s + int(ne[0])
    return None if len(a) == len(b) else n


# ---- GGUF vs GGUF -----------------------------------------------------------------------------
def compare(a: Gguf, b: Gguf) -> str | None:
    if a.version != b.version:
        return f"version: A has {a.version}, B has {b.version}"
    if a.alignment != b.alignment:
        return f"alignment: A has {a.alignment}, B has {b.alignment}"

    for i in range(max(len(a.kvs), len(b.kvs))):
        fa = a.kvs[i] if i < len(a.kvs) else None
        fb = b.kvs[i] if i < len(b.kvs) else None
        if fa is None or fb is None:
            have, f, g, who, other = ("A", fa, a, "B", "no more keys") if fa is not None else ("B", fb, b, "A", "no more keys")
            return (f"key {i}: {have} has {f.name} {g.kv_type(f)} {_short(g.kv_value(f))}, "
                    f"{who} has {other} (A has {len(a.kvs)} keys, B has {len(b.kvs)})")
        ta, tb = a.kv_type(fa), b.kv_type(fb)
        if fa.name != fb.name or ta != tb:
            return (f"key {i}: A has {fa.name} {ta} {_short(a.kv_value(fa))}, "
                    f"B has {fb.name} {tb} {_short(b.kv_value(fb))}")
        if a.kv_raw(fa) == b.kv_raw(fb):
            continue
        va, vb = a.kv_value(fa), b.kv_value(fb)
        if isinstance(va, list) and isinstance(vb, list):
            for j in range(min(len(va), len(vb))):
                if not _same_scalar(va[j], vb[j]):
                    return (f"key {i} {fa.name} {ta}: element {j} differs: A has {_short(va[j])}, "
                            f"B has {_short(vb[j])}")
            return f"key {i} {fa.name} {ta}: A has {len(va)} elements, B has {len(vb)}"
        return f"key {i}: A has {fa.name} {ta} {_short(va)}, B has {fb.name} {tb} {_short(vb)}"

    for i in range(max(len(a.tensors), len(b.tensors))):
        xa = a.tensors[i] if i < len(a.tensors) else None
        xb = b.tensors[i] if i < len(b.tensors) else None
        if xa is None or xb is None:
            have, x, g, who = ("A", xa, a, "B") if xa is not None else ("B", xb, b, "A")
            return (f"tensor {i}: {have} has {x.name} {g.t_type(x)} {g.t_shape(x)}, {who} has no more tensors "
                    f"(A has {len(a.tensors)} tensors, B has {len(b.tensors)})")
        if xa.name != xb.name:
            return f"tensor {i}: A has {xa.name}, B has {xb.name}"
        for what, fa_, fb_ in (("type", a.t_type, b.t_type), ("shape", a.t_shape, b.t_shape),
                               ("offset", a.t_offset, b.t_offset), ("bytes", a.t_bytes, b.t_bytes)):
            va, vb = fa_(xa), fb_(xb)
            if va != vb:
                return f"tensor {xa.name} (#{i}): {what} differs: A has {va}, B has {vb}"

    if a.data_offset != b.data_offset:  # only possible if the info sections differ in an unlisted way
        return f"data section: starts at byte {a.data_offset} in A, {b.data_offset} in B"

    for i, (xa, xb) in enumerate(zip(a.tensors, b.tensors)):
        d = _first_byte_diff(a.t_data(xa), b.t_data(xb))
        if d is not None:
            return f"tensor {xa.name} (#{i}): data differs at byte {d}"

    d = _first_byte_diff(a.raw(), b.raw())
    if d is not None:
        return (f"file bytes differ at byte {d} outside KV values and tensor data "
                f"(A: {a.file_bytes} bytes, B: {b.file_bytes} bytes)")
    return None


# ---- summaries --------------------------------------------------------------------------------
def _sha256_json(values: list[Any]) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode("utf-8")).hexdigest()


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def summarize(g: Gguf) -> dict[str, Any]:
    meta = []
    for f in g.kvs:
        t = g.kv_type(f)
        v = g.kv_value(f)
        if isinstance(v, list) and len(v) > ARRAY_INLINE_MAX:
            meta.append({"key": f.name, "type": t, "count": len(v), "sha256_json": _sha256_json(v)})
        else:
            meta.append({"key": f.name, "type": t, "value": v})
    tensors = []
    for x in g.tensors:
        tensors.append({
            "name": x.name,
            "type": g.t_type(x),
            "shape": g.t_shape(x),
            "offset": int(x.data_offset),  # absolute file offset, as in shared/golden
            "bytes": g.t_bytes(x),
            "sha256": hashlib.sha256(g.t_data(x)).hexdigest(),
        })
    return {
        "file_bytes": g.file_bytes,
        "file_sha256": _file_sha256(g.path),
        "version": g.version,
        "alignment": g.alignment,
        "metadata": meta,
        "tensors": tensors,
    }


def _same_json(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
            return _same_scalar(float(a), float(b)) and type(a) is type(b)
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def compare_golden(golden: dict[str, Any], s: dict[str, Any]) -> str | None:
    """First difference between a golden summary (A) and the summary of a GGUF file (B)."""
    for k in ("version", "alignment"):
        if golden.get(k) != s[k]:
            return f"{k}: golden has {golden.get(k)}, file has {s[k]}"
    gm, sm = golden.get("metadata", []), s["metadata"]
    for i in range(max(len(gm), len(sm))):
        x = gm[i] if i < len(gm) else None
        y = sm[i] if i < len(sm) else None
        if x is None:
            return f"key {i}: golden has no more keys, file has {y['key']} {y['type']} (golden {len(gm)} keys, file {len(sm)})"
        if y is None:
            return f"key {i}: golden has {x['key']} {x['type']}, file has no more keys (golden {len(gm)} keys, file {len(sm)})"
        if x["key"] != y["key"] or x["type"] != y["type"]:
            return (f"key {i}: golden has {x['key']} {x['type']} {_short(x.get('value', x.get('count')))}, "
                    f"file has {y['key']} {y['type']} {_short(y.get('value', y.get('count')))}")
        if "value" in x or "value" in y:
            xv, yv = x.get("value"), y.get("value")
            if "value" not in x or "value" not in y or not _same_json(xv, yv):
                if isinstance(xv, list) and isinstance(yv, list):
                    for j in range(min(len(xv), len(yv))):
                        if not _same_json(xv[j], yv[j]):
                            return (f"key {i} {x['key']} {x['type']}: element {j} differs: golden has "
                                    f"{_short(xv[j])}, file has {_short(yv[j])}")
                    return f"key {i} {x['key']} {x['type']}: golden has {len(xv)} elements, file has {len(yv)}"
                gv = _short(xv) if "value" in x else f"{x.get('count')} elements"
                fv = _short(yv) if "value" in y else f"{y.get('count')} elements"
                return f"key {i}: golden has {x['key']} {x['type']} {gv}, file has {y['key']} {y['type']} {fv}"
        else:
            if x.get("count") != y.get("count"):
                return f"key {i} {x['key']} {x['type']}: golden has {x.get('count')} elements, file has {y.get('count')}"
            if x.get("sha256_json") != y.get("sha256_json"):
                return f"key {i} {x['key']} {x['type']}: element values differ (sha256_json {x.get('sha256_json')} vs {y.get('sha256_json')})"
    gt, st = golden.get("tensors", []), s["tensors"]
    for i in range(max(len(gt), len(st))):
        x = gt[i] if i < len(gt) else None
        y = st[i] if i < len(st) else None
        if x is None:
            return f"tensor {i}: golden has no more tensors, file has {y['name']} (golden {len(gt)}, file {len(st)})"
        if y is None:
            return f"tensor {i}: golden has {x['name']}, file has no more tensors (golden {len(gt)}, file {len(st)})"
        if x["name"] != y["name"]:
            return f"tensor {i}: golden has {x['name']}, file has {y['name']}"
        for what in ("type", "shape", "offset", "bytes"):
            if x.get(what) != y[what]:
                return f"tensor {x['name']} (#{i}): {what} differs: golden has {x.get(what)}, file has {y[what]}"
    for i, (x, y) in enumerate(zip(gt, st)):
        if x.get("sha256") != y["sha256"]:
            return f"tensor {x['name']} (#{i}): data differs (sha256 {x.get('sha256')} vs {y['sha256']})"
    if "file_bytes" in golden and golden["file_bytes"] != s["file_bytes"]:
        return f"file size: golden has {golden['file_bytes']} bytes, file has {s['file_bytes']}"
    if "file_sha256" in golden and golden["file_sha256"] != s["file_sha256"]:
        return "file bytes differ outside KV values and tensor data (whole-file sha256 differs)"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description="Compare GGUF files; print `identical` or the first difference.",
                                 epilog=__doc__.split("\n\n", 1)[1] if "\n\n" in __doc__ else None,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print a JSON summary of the one GGUF file given")
    ap.add_argument("--golden", metavar="FILE.json", help="compare the GGUF file with this golden summary")
    ap.add_argument("--gguf-py", metavar="DIR", help="use this gguf-py (e.g. LLAMA_CPP/gguf-py) instead of the installed one")
    ap.add_argument("files", nargs="+", metavar="FILE.gguf")
    args = ap.parse_args()
    mods = _import_gguf(args.gguf_py)

    try:
        if args.json:
            if len(args.files) != 1 or args.golden:
                ap.error("--json takes exactly one GGUF file")
            s = summarize(Gguf(args.files[0], mods))
            sys.stdout.write(json.dumps(s, indent=1, ensure_ascii=False) + "\n")
            return 0
        if args.golden:
            if len(args.files) != 1:
                ap.error("--golden takes exactly one GGUF file")
            with open(args.golden, encoding="utf-8") as f:
                golden = json.load(f)
            diff = compare_golden(golden, summarize(Gguf(args.files[0], mods)))
        else:
            if len(args.files) != 2:
                ap.error("give two GGUF files (or --json X, or --golden G.json X)")
            diff = compare(Gguf(args.files[0], mods), Gguf(args.files[1], mods))
    except Unreadable as e:
        print(str(e))
        return 2
    except OSError as e:
        print(f"error: {e}")
        return 2

    if diff is None:
        print("identical")
        return 0
    print(diff)
    return 1


if __name__ == "__main__":
    sys.exit(main())
