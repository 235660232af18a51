// Q6_K × Q8_K and Q3_K × Q8_K matrix products that reproduce, bit for bit,
// what llama.cpp's CPU backend (0.3.36's tree built with GCC 12, -O3
// -march=native, on an AVX-512 VNNI machine) computes for MUL_MAT with these
// weight types (part of ``GGMLOrder``).
//
// Standard library only, no intrinsics: the reference arithmetic is
// reproduced with portable SIMD types.
//
// ─── Which ggml code path is being matched ─────────────────────────────────
// This llama.cpp tree has a "tiled" K-quant matmul (ggml-cpu/tiled/) that
// ggml_compute_forward_mul_mat tries FIRST. It takes Q6_K and Q3_K (and other
// K/IQ types) whenever the activation matrix has ≥ 8 rows (tokens), unless the
// environment sets GGML_CPU_TILED_MM=0. With < 8 rows the op falls through to
// the classic per-output `ggml_vec_dot_q{6,3}_K_q8_K` (x86 AVX2 branch).
// Both are reproduced here (`KQuantArithmetic`); the default follows ggml's
// rule on the `tokens` count. llama-perplexity (512-token batches) uses `.tiled`.
//
// In both paths the activations are first quantized to Q8_K by
// `quantize_row_q8_K`, which on x86 is the plain C reference routine in
// ggml-base (built without -march, hence no FMA contraction).
//
// ─── Q8_K activation quantization (per 256 columns) ────────────────────────
// amax = max |x|; max = the FIRST x with |x| == amax. If amax == 0: d = 0 and
// all quants 0. Else iscale = −127/max (float divide), q = min(127, v) where
// v = iscale·x rounded to float, then rounded to an integer half-to-even
// (the +1.5·2^23 trick); bsums = sums of 16 consecutive q; d = 1/iscale.
// Our buffer is byte-identical to ggml's block_q8_K (292 bytes: Float d,
// Int8 qs[256], Int16 bsums[16]).
//
// ─── `.tiled` arithmetic (ggml-cpu/tiled, AVX-512 VNNI microkernel) ─────────
// Per output (weight row r, token t), for super-blocks i = 0, 1, … in order:
//     S_i = Σ over the 256 columns of  sc(sub-block) · (q − B) · a        (exact int32)
//           with q the UNSIGNED code (Q6_K: 0…63, B = 32; Q3_K: low2 | hbit<<2 ∈ 0…7, B = 4;
//           Q3_K scales already have 32 subtracted), a the Int8 activation;
//     acc = fma(Float(S_i) · wd_i, ad_i, acc)     acc starts at +0
//           Float(S_i) is one round-to-nearest-even conversion of the whole
//           super-block integer, · wd_i is a rounded float multiply by the
//           weight's half-precision d (widened), and GCC contracted the
//           following "acc + result·ad_i" into one FMA (verified in the
//           disassembly of libggml-cpu.so: vmulps {1to16} then vfmadd213ps).
// Output = acc. No lane structure: only the whole-block integer matters.
//
// ─── `.vecDot` arithmetic (ggml_vec_dot_q6_K_q8_K / _q3_K_q8_K, AVX2 branch) ─
// Per output, 8 float lanes acc[0…7] = 0; for super-blocks i in order:
//     L_k = Σ_{c<8, m<4} sc·(q − V)·a at column 32c + 4k + m
//           − O·(sc[2k]·bsum[2k] + sc[2k+1]·bsum[2k+1])              (exact int32)
//           Q6_K: V = 0 (unsigned q), O = 32.  Q3_K: V = 4, O = 0.
//           (lane k collects columns 4k…4k+3 of every 32-column chunk because
//           the reference multiplies byte pairs into 16-bit lanes and then
//           pairs of those into 32-bit lanes; Q6_K's offset term is grouped by
//           sub-block instead, so it is NOT the same as using q − 32 per column.)
//     d_i = ad_i · wd_i (rounded float multiply)
//     acc_k = fma(d_i, Float(L_k), acc_k)
// Output = ((acc0+acc4) + (acc2+acc6)) + ((acc1+acc5) + (acc3+acc7)).
//
// ─── How we get the exact integers with float FMAs ─────────────────────────
// Weights and activations are expanded to floats holding small integers. A
// float FMA whose operands and running sum are integers of magnitude < 2^24
// is exact, so we arrange every partial sum to stay below 2^24:
//   .tiled : |sc·(q−B)| ≤ 128·32 (Q6_K) or 32·4 (Q3_K), |a| ≤ 127, so each of
//            8 lanes (32 products) stays ≤ 16 646 144 < 2^24. The 8 lanes are
//            then added in Double (exact) and rounded once to Float, which is
//            the same rounding as the reference's int32 → float.
//   .vecDot: Q6_K |sc·q| ≤ 8064 → 16 products per lane ≤ 16 386 048, so each
//            lane is accumulated as two halves (columns 0…127, 128…255);
//            halves and the offset term are combined in Double, then rounded
//            once to Float. Q3_K fits comfortably in the same scheme.

import VNNIKernels

// MARK: - Arithmetic selection

enum KQuantArithmetic: Sendable {
    /// ggml-cpu "tiled" K-quant matmul (MUL_MAT with ≥ 8 activation rows).
    case tiled
    /// Per-output ggml_vec_dot_q*_K_q8_K (fewer than 8 rows, or GGML_CPU_TILED_MM=0).
    case vecDot

    /// ggml's own choice for a MUL_MAT whose activation matrix has `tokens` rows.
    static func ggmlDefault(tokens: Int) -> KQuantArithmetic { tokens >= 8 ? .tiled : .vecDot }
}

// MARK: - Q8_K activations

enum Q8KActivations {
    /// ggml block_q8_K: Float d, Int8 qs[256], Int16 bsums[16].
    static let blockBytes = 292

    /// Buffer size for `tokens` rows of `columns` (multiple of 256) values.
    static func bytes(tokens: Int, columns: Int) -> Int {
        precondition(columns % 256 == 0, "columns must be a multiple of 256")
        return tokens * (columns / 256) * blockBytes
    }

    /// Bytes of one token's quantized row.
    @inline(__always)
    static func rowBytes(columns: Int) -> Int { (columns / 256) * blockBytes }

    /// Quantize rows `tokens` of the token-major matrix `x` (`columns` floats per
    /// token) into `into` (laid out for all tokens: row t at t·rowBytes).
    /// Disjoint token ranges may be prepared concurrently.
    static func prepare(
        _ x: UnsafePointer<Float>, columns: Int, tokens: Range<Int>,
        into: UnsafeMutableRawPointer
    ) {
        precondition(columns % 256 == 0, "columns must be a multiple of 256")
        let nb = columns / 256
        let rb = rowBytes(columns: columns)
        for t in tokens {
            let src = x + t * columns
            let dst = into + t * rb
            for i in 0..<nb {
                quantizeBlock(src + i * 256, dst + i * blockBytes)
            }
        }
    }

    @inline(__always)
    static func quantizeBlock(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let xv = UnsafeRawPointer(x)
        var m8 = SIMD8<Float>(repeating: 0)
        for g in 0..<32 {
            m8 = ActivationGrid.max8(
                m8, ActivationGrid.abs8(xv.loadUnaligned(fromByteOffset: g * 32, as: SIMD8<Float>.self)))
        }
        let h4 = m8.lowHalf.replacing(with: m8.highHalf, where: m8.lowHalf .< m8.highHalf)
        let amax = Swift.max(Swift.max(h4[0], h4[1]), Swift.max(h4[2], h4[3]))
        let qs = (y + 4).assumingMemoryBound(to: Int8.self)
        let bs = y + 260
        if !(amax > 0) {
            // Reference: d = 0, quants zeroed, bsums left as they were. They only
            // ever meet d = 0 (product 0), so zeros are equivalent.
            y.storeBytes(of: Float(0), as: Float.self)
            for j in 0..<256 { qs[j] = 0 }
            for j in 0..<16 { bs.storeBytes(of: Int16(0), toByteOffset: 2 * j, as: Int16.self) }
            return
        }
        // The reference scans with a strict '>' and so keeps the first maximal |x|.
        var maxv: Float = 0
        for j in 0..<256 where Swift.abs(x[j]) == amax { maxv = x[j]; break }
        let iscale: Float = -127 / maxv
        let isv = SIMD8<Float>(repeating: iscale)
        let magic = SIMD8<Float>(repeating: 12582912)  // 1.5·2^23
        let bias = SIMD8<Int32>(repeating: 0x4B40_0000)  // its bit pattern
        let cap = SIMD8<Int32>(repeating: 127)
        for g in 0..<32 {
            let v = xv.loadUnaligned(fromByteOffset: g * 32, as: SIMD8<Float>.self)
            let p = v * isv  // rounded product (no contraction in Swift)
            let s = p + magic  // rounds to an integer, ties to even
            let q = pointwiseMin(unsafeBitCast(s, to: SIMD8<Int32>.self) &- bias, cap)
            for k in 0..<8 { qs[g * 8 + k] = Int8(truncatingIfNeeded: q[k]) }
        }
        for j in 0..<16 {
            var s: Int32 = 0
            for l in 0..<16 { s &+= Int32(qs[j * 16 + l]) }
            bs.storeBytes(of: Int16(truncatingIfNeeded: s), toByteOffset: 2 * j, as: Int16.self)
        }
        y.storeBytes(of: 1 / iscale, as: Float.self)
    }
}

// MARK: - Internal float forms
//
// A "record" is one 256-column super-block expanded to 32 vectors of 8 floats,
// followed by 2 vectors of side data (vec_dot offset term only). Two orders:
//   natural    : vector g lane k = column 8g + k                 (tiled)
//   lane-major : vector 4c + m lane k = column 32c + 4k + m       (vecDot; summing any
//                subset of vectors lane-wise reproduces the reference's lane membership)

@usableFromInline let recordFloats = 256 + 16
@usableFromInline let tokenTile = 64
@usableFromInline let rowGroup = 4

@inline(__always)
func alignedFloats(_ n: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64).bindMemory(to: Float.self, capacity: n)
}

@inline(__always)
func vec(_ p: UnsafeMutablePointer<Float>) -> UnsafePointer<SIMD8<Float>> {
    UnsafeRawPointer(p).assumingMemoryBound(to: SIMD8<Float>.self)
}

/// Expands 256 byte codes `codes` (natural column order), minus `bias`, times
/// the per-16-column scale `scales[col/16]`, into a record in either order.
@inline(__always)
func expandCodes(
    _ codes: UnsafeRawPointer, signed: Bool, bias: Int32, scales: UnsafePointer<Float>,
    laneMajor: Bool, into rec: UnsafeMutablePointer<Float>
) {
    let out = UnsafeMutableRawPointer(rec)
    let b = SIMD8<Int32>(repeating: bias)
    if laneMajor {
        for c in 0..<8 {
            let w = codes.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Int32>.self)  // lane k = cols 4k…4k+3
            let s0 = scales[2 * c], s1 = scales[2 * c + 1]
            let sv = SIMD8<Float>(s0, s0, s0, s0, s1, s1, s1, s1)
            for m in 0..<4 {
                let q = signed ? (w &<< Int32(24 - 8 * m)) &>> 24 : (w &>> Int32(8 * m)) & 0xFF
                out.storeBytes(of: SIMD8<Float>(q &- b) * sv, toByteOffset: (4 * c + m) * 32, as: SIMD8<Float>.self)
            }
        }
    } else {
        for g in 0..<32 {
            let q: SIMD8<Int32>
            if signed {
                q = SIMD8<Int32>(truncatingIfNeeded: codes.loadUnaligned(fromByteOffset: 8 * g, as: SIMD8<Int8>.self))
            } else {
                q = SIMD8<Int32>(truncatingIfNeeded: codes.loadUnaligned(fromByteOffset: 8 * g, as: SIMD8<UInt8>.self))
            }
            out.storeBytes(
                of: SIMD8<Float>(q &- b) * SIMD8<Float>(repeating: scales[g >> 1]),
                toByteOffset: g * 32, as: SIMD8<Float>.self)
        }
    }
}

/// Converts a tile of Q8_K activation rows into records (+ d per record).
/// For lane-major records the side vectors hold bsums[0,2,…,14] and bsums[1,3,…,15].
@inline(__always)
func expandActivations(
    _ act: UnsafeRawPointer, columns: Int, tokens: Range<Int>, laneMajor: Bool,
    rec: UnsafeMutablePointer<Float>, d: UnsafeMutablePointer<Float>
) {
    let nb = columns / 256
    let rb = Q8KActivations.rowBytes(columns: columns)
    var one = SIMD16<Float>(repeating: 1)
    var slot = 0
    for t in tokens {
        let row = act + t * rb
        for i in 0..<nb {
            let blk = row + i * Q8KActivations.blockBytes
            d[slot] = blk.loadUnaligned(as: Float.self)
            let r = rec + slot * recordFloats
            withUnsafePointer(to: &one) {
                expandCodes(
                    blk + 4, signed: true, bias: 0,
                    scales: UnsafeRawPointer($0).assumingMemoryBound(to: Float.self),
                    laneMajor: laneMajor, into: r)
            }
            if laneMajor {
                var ev = SIMD8<Float>(), od = SIMD8<Float>()
                for k in 0..<8 {
                    ev[k] = Float(blk.loadUnaligned(fromByteOffset: 260 + 4 * k, as: Int16.self))
                    od[k] = Float(blk.loadUnaligned(fromByteOffset: 262 + 4 * k, as: Int16.self))
                }
                UnsafeMutableRawPointer(r).storeBytes(of: ev, toByteOffset: 1024, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(r).storeBytes(of: od, toByteOffset: 1056, as: SIMD8<Float>.self)
            }
            slot += 1
        }
    }
}

@inline(__always)
func halfToFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

/// Exact sum of 8 integer-valued float lanes (each |·| < 2^24), rounded once
/// to Float (round-to-nearest-even) — equals Float(Int32 sum).
@inline(__always)
func exactLaneSum(_ v: SIMD8<Float>) -> Float {
    let d = SIMD4<Double>(v.lowHalf) + SIMD4<Double>(v.highHalf)
    let e = d.lowHalf + d.highHalf
    return Float(e[0] + e[1])
}

/// ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)) — the vec_dot 8→1 fold.
@inline(__always)
func foldLanes(_ a: SIMD8<Float>) -> Float {
    let r = a.highHalf + a.lowHalf
    return (r[0] + r[2]) + (r[1] + r[3])
}

// MARK: - Weight formats

/// What distinguishes the two weight types: block size and how to turn a
/// block into unsigned byte codes + per-16-column signed scales + d.
protocol KWeightFormat {
    static var blockBytes: Int { get }
    /// Bias subtracted per column by the tiled path (sc·(q − B)).
    static var tiledBias: Int32 { get }
    /// Bias subtracted per column in the vec_dot lanes, and the weight of the
    /// sub-block-grouped offset term (−O·(sc·bsum) per lane pair).
    static var vecDotBias: Int32 { get }
    static var vecDotOffset: Float { get }
    /// codes: 256 unsigned bytes, natural column order; scales: 16 floats.
    static func unpack(
        _ b: UnsafeRawPointer, codes: UnsafeMutableRawPointer, scales: UnsafeMutablePointer<Float>
    ) -> Float
}

enum Q6KFormat: KWeightFormat {
    static var blockBytes: Int { 210 }  // ql[128], qh[64], scales[16] (Int8), d (half)
    static var tiledBias: Int32 { 32 }
    static var vecDotBias: Int32 { 0 }
    static var vecDotOffset: Float { 32 }

    @inline(__always)
    static func unpack(
        _ b: UnsafeRawPointer, codes: UnsafeMutableRawPointer, scales: UnsafeMutablePointer<Float>
    ) -> Float {
        // column 128j + 32v + l: low nibble of ql[64j + l] (v=0), ql[64j+32+l] (v=1),
        // high nibbles of the same (v=2,3); high 2 bits = (qh[32j + l] >> 2v) & 3.
        // Byte-wise bit manipulation done on 32-bit words (shift, then mask per byte).
        let m4 = SIMD8<UInt32>(repeating: 0x0F0F_0F0F), m2 = SIMD8<UInt32>(repeating: 0x0303_0303)
        for j in 0..<2 {
            let l1 = b.loadUnaligned(fromByteOffset: 64 * j, as: SIMD8<UInt32>.self)
            let l2 = b.loadUnaligned(fromByteOffset: 64 * j + 32, as: SIMD8<UInt32>.self)
            let h = b.loadUnaligned(fromByteOffset: 128 + 32 * j, as: SIMD8<UInt32>.self)
            let c0 = (l1 & m4) | ((h & m2) &<< 4)
            let c1 = (l2 & m4) | (((h &>> 2) & m2) &<< 4)
            let c2 = ((l1 &>> 4) & m4) | (((h &>> 4) & m2) &<< 4)
            let c3 = ((l2 &>> 4) & m4) | (((h &>> 6) & m2) &<< 4)
            codes.storeBytes(of: c0, toByteOffset: 128 * j, as: SIMD8<UInt32>.self)
            codes.storeBytes(of: c1, toByteOffset: 128 * j + 32, as: SIMD8<UInt32>.self)
            codes.storeBytes(of: c2, toByteOffset: 128 * j + 64, as: SIMD8<UInt32>.self)
            codes.storeBytes(of: c3, toByteOffset: 128 * j + 96, as: SIMD8<UInt32>.self)
        }
        for s in 0..<16 { scales[s] = Float(b.load(fromByteOffset: 192 + s, as: Int8.self)) }
        return halfToFloat(b.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
    }
}

enum Q3KFormat: KWeightFormat {
    static var blockBytes: Int { 110 }  // hmask[32], qs[64], scales[12] (6-bit packed), d (half)
    static var tiledBias: Int32 { 4 }
    static var vecDotBias: Int32 { 4 }
    static var vecDotOffset: Float { 0 }

    @inline(__always)
    static func unpack(
        _ b: UnsafeRawPointer, codes: UnsafeMutableRawPointer, scales: UnsafeMutablePointer<Float>
    ) -> Float {
        // column 128j + 32v + l: low 2 bits = (qs[32j + l] >> 2v) & 3,
        // high bit = (hmask[l] >> (4j + v)) & 1; code = low | high << 2 (signed value code − 4).
        let m2 = SIMD8<UInt32>(repeating: 0x0303_0303), m1 = SIMD8<UInt32>(repeating: 0x0101_0101)
        let hm = b.loadUnaligned(fromByteOffset: 0, as: SIMD8<UInt32>.self)
        for j in 0..<2 {
            let q = b.loadUnaligned(fromByteOffset: 32 + 32 * j, as: SIMD8<UInt32>.self)
            for v in 0..<4 {
                let low = (q &>> UInt32(2 * v)) & m2
                let hb = (hm &>> UInt32(4 * j + v)) & m1
                codes.storeBytes(of: low | (hb &<< 2), toByteOffset: 128 * j + 32 * v, as: SIMD8<UInt32>.self)
            }
        }
        // 16 six-bit scales: low nibbles from bytes 0…7 (sub-blocks 0…7) and their
        // high nibbles (8…15); the top two bits from bytes 8…11, two bits per group.
        let a0 = b.loadUnaligned(fromByteOffset: 96, as: UInt32.self)
        let a1 = b.loadUnaligned(fromByteOffset: 100, as: UInt32.self)
        let a2 = b.loadUnaligned(fromByteOffset: 104, as: UInt32.self)
        let lo: UInt32 = 0x0F0F_0F0F, hi2: UInt32 = 0x0303_0303
        let words = SIMD4<UInt32>(
            (a0 & lo) | ((a2 & hi2) << 4),
            (a1 & lo) | (((a2 >> 2) & hi2) << 4),
            ((a0 >> 4) & lo) | (((a2 >> 4) & hi2) << 4),
            ((a1 >> 4) & lo) | (((a2 >> 6) & hi2) << 4))
        let six = unsafeBitCast(words, to: SIMD16<UInt8>.self)  // little-endian byte order
        for s in 0..<16 { scales[s] = Float(Int32(six[s]) - 32) }
        return halfToFloat(b.loadUnaligned(fromByteOffset: 108, as: UInt16.self))
    }
}

// MARK: - Driver

/// Shared tiling: token tiles of 64 (activations expanded once per tile),
/// groups of 4 weight rows (expanded once per token tile), 4×2 register kernel.
@inline(__always)
func kquantMultiply<F: KWeightFormat>(
    _: F.Type, weights: UnsafeRawPointer, rows: Range<Int>, columns: Int,
    activations: UnsafeRawPointer, tokens: Int,
    out: UnsafeMutablePointer<Float>, ldo: Int, arithmetic: KQuantArithmetic
) {
    precondition(columns % 256 == 0, "columns must be a multiple of 256")
    if rows.isEmpty || tokens <= 0 { return }
    let laneMajor = arithmetic == .vecDot
    let nb = columns / 256
    let rowBytes = nb * F.blockBytes
    let actRec = alignedFloats(tokenTile * nb * recordFloats)
    let actD = alignedFloats(tokenTile * nb)
    let wRec = alignedFloats(rowGroup * nb * recordFloats)
    let wD = alignedFloats(rowGroup * nb)
    let codes = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 64)
    let scales = alignedFloats(16)
    let res = alignedFloats(2 * rowGroup)
    defer {
        for p in [actRec, actD, wRec, wD, scales, res] { UnsafeMutableRawPointer(p).deallocate() }
        codes.deallocate()
    }
    var t0 = 0
    while t0 < tokens {
        let tn = Swift.min(tokenTile, tokens - t0)
        expandActivations(
            activations, columns: columns, tokens: t0..<(t0 + tn), laneMajor: laneMajor, rec: actRec, d: actD)
        var r0 = rows.lowerBound
        while r0 < rows.upperBound {
            let rn = Swift.min(rowGroup, rows.upperBound - r0)
            for r in 0..<rowGroup {
                let src = r < rn ? r0 + r : r0  // pad a short group by repeating a row
                for i in 0..<nb {
                    let rec = wRec + (r * nb + i) * recordFloats
                    wD[r * nb + i] = F.unpack(weights + src * rowBytes + i * F.blockBytes, codes: codes, scales: scales)
                    if laneMajor {
                        expandCodes(
                            codes, signed: false, bias: F.vecDotBias, scales: scales, laneMajor: true, into: rec)
                        var ev = SIMD8<Float>(), od = SIMD8<Float>()
                        for k in 0..<8 { ev[k] = scales[2 * k]; od[k] = scales[2 * k + 1] }
                        let off = SIMD8<Float>(repeating: F.vecDotOffset)
                        UnsafeMutableRawPointer(rec).storeBytes(of: ev * off, toByteOffset: 1024, as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(rec).storeBytes(of: od * off, toByteOffset: 1056, as: SIMD8<Float>.self)
                    } else {
                        expandCodes(
                            codes, signed: false, bias: F.tiledBias, scales: scales, laneMajor: false, into: rec)
                    }
                }
            }
            var tp = 0
            while tp < tn {
                let tb = Swift.min(tp + 1, tn - 1)  // pad an odd tail by repeating a token
                let a0 = actRec + tp * nb * recordFloats, a1 = actRec + tb * nb * recordFloats
                if laneMajor {
                    vecDotKernel4x2(
                        nb: nb, w: wRec, wd: wD, a0: a0, a1: a1, ad0: actD + tp * nb, ad1: actD + tb * nb, res: res)
                } else {
                    tiledKernel4x2(
                        nb: nb, w: wRec, wd: wD, a0: a0, a1: a1, ad0: actD + tp * nb, ad1: actD + tb * nb, res: res)
                }
                for r in 0..<rn {
                    out[(t0 + tp) * ldo + r0 + r] = res[2 * r]
                    if tb != tp { out[(t0 + tb) * ldo + r0 + r] = res[2 * r + 1] }
                }
                tp += 2
            }
            r0 += rn
        }
        t0 += tn
    }
}

/// Tiled arithmetic, 4 rows × 2 tokens: per super-block the exact integer S is
/// formed (8 exact float lanes, summed in Double, one rounding), then
/// acc = fma(S·wd, ad, acc). res[2r + t] receives the outputs.
@inline(__always)
func tiledKernel4x2(
    nb: Int, w: UnsafeMutablePointer<Float>, wd: UnsafeMutablePointer<Float>,
    a0: UnsafeMutablePointer<Float>, a1: UnsafeMutablePointer<Float>,
    ad0: UnsafeMutablePointer<Float>, ad1: UnsafeMutablePointer<Float>,
    res: UnsafeMutablePointer<Float>
) {
    for k in 0..<8 { res[k] = 0 }
    let zero = SIMD8<Float>()
    for i in 0..<nb {
        let x0 = vec(a0 + i * recordFloats), x1 = vec(a1 + i * recordFloats)
        let w0 = vec(w + (0 * nb + i) * recordFloats), w1 = vec(w + (1 * nb + i) * recordFloats)
        let w2 = vec(w + (2 * nb + i) * recordFloats), w3 = vec(w + (3 * nb + i) * recordFloats)
        var p00 = zero, p01 = zero, p10 = zero, p11 = zero
        var p20 = zero, p21 = zero, p30 = zero, p31 = zero
        for g in 0..<32 {
            let xa = x0[g], xb = x1[g]
            var v = w0[g]; p00 = p00.addingProduct(v, xa); p01 = p01.addingProduct(v, xb)
            v = w1[g]; p10 = p10.addingProduct(v, xa); p11 = p11.addingProduct(v, xb)
            v = w2[g]; p20 = p20.addingProduct(v, xa); p21 = p21.addingProduct(v, xb)
            v = w3[g]; p30 = p30.addingProduct(v, xa); p31 = p31.addingProduct(v, xb)
        }
        let da = ad0[i], db = ad1[i]
        let e0 = wd[i], e1 = wd[nb + i], e2 = wd[2 * nb + i], e3 = wd[3 * nb + i]
        res[0] = res[0].addingProduct(exactLaneSum(p00) * e0, da);
        res[1] = res[1].addingProduct(exactLaneSum(p01) * e0, db)
        res[2] = res[2].addingProduct(exactLaneSum(p10) * e1, da);
        res[3] = res[3].addingProduct(exactLaneSum(p11) * e1, db)
        res[4] = res[4].addingProduct(exactLaneSum(p20) * e2, da);
        res[5] = res[5].addingProduct(exactLaneSum(p21) * e2, db)
        res[6] = res[6].addingProduct(exactLaneSum(p30) * e3, da);
        res[7] = res[7].addingProduct(exactLaneSum(p31) * e3, db)
    }
}

/// vec_dot arithmetic, 4 rows × 2 tokens: per super-block the 8 reference
/// lanes L_k (two exact float halves + offset term, combined in Double, one
/// rounding), acc = fma(ad·wd, L, acc) lane-wise; final reference fold.
@inline(__always)
func vecDotKernel4x2(
    nb: Int, w: UnsafeMutablePointer<Float>, wd: UnsafeMutablePointer<Float>,
    a0: UnsafeMutablePointer<Float>, a1: UnsafeMutablePointer<Float>,
    ad0: UnsafeMutablePointer<Float>, ad1: UnsafeMutablePointer<Float>,
    res: UnsafeMutablePointer<Float>
) {
    let zero = SIMD8<Float>()
    var c00 = zero, c01 = zero, c10 = zero, c11 = zero
    var c20 = zero, c21 = zero, c30 = zero, c31 = zero
    for i in 0..<nb {
        let x0 = vec(a0 + i * recordFloats), x1 = vec(a1 + i * recordFloats)
        let w0 = vec(w + (0 * nb + i) * recordFloats), w1 = vec(w + (1 * nb + i) * recordFloats)
        let w2 = vec(w + (2 * nb + i) * recordFloats), w3 = vec(w + (3 * nb + i) * recordFloats)
        var p00 = zero, p01 = zero, p10 = zero, p11 = zero
        var p20 = zero, p21 = zero, p30 = zero, p31 = zero
        for g in 0..<16 {
            let xa = x0[g], xb = x1[g]
            var v = w0[g]; p00 = p00.addingProduct(v, xa); p01 = p01.addingProduct(v, xb)
            v = w1[g]; p10 = p10.addingProduct(v, xa); p11 = p11.addingProduct(v, xb)
            v = w2[g]; p20 = p20.addingProduct(v, xa); p21 = p21.addingProduct(v, xb)
            v = w3[g]; p30 = p30.addingProduct(v, xa); p31 = p31.addingProduct(v, xb)
        }
        var q00 = zero, q01 = zero, q10 = zero, q11 = zero
        var q20 = zero, q21 = zero, q30 = zero, q31 = zero
        for g in 16..<32 {
            let xa = x0[g], xb = x1[g]
            var v = w0[g]; q00 = q00.addingProduct(v, xa); q01 = q01.addingProduct(v, xb)
            v = w1[g]; q10 = q10.addingProduct(v, xa); q11 = q11.addingProduct(v, xb)
            v = w2[g]; q20 = q20.addingProduct(v, xa); q21 = q21.addingProduct(v, xb)
            v = w3[g]; q30 = q30.addingProduct(v, xa); q31 = q31.addingProduct(v, xb)
        }
        // offset term per lane k: O·(sc[2k]·bs[2k] + sc[2k+1]·bs[2k+1]); O is folded
        // into the weight side vectors (exact: |·| ≤ 32·520 192 < 2^24).
        let be0 = x0[32], bo0 = x0[33], be1 = x1[32], bo1 = x1[33]
        @inline(__always) func lanes(
            _ h0: SIMD8<Float>, _ h1: SIMD8<Float>, _ wv: UnsafePointer<SIMD8<Float>>,
            _ be: SIMD8<Float>, _ bo: SIMD8<Float>
        ) -> SIMD8<Float> {
            let off = (wv[32] * be).addingProduct(wv[33], bo)
            let lo = SIMD4<Double>(h0.lowHalf) + SIMD4<Double>(h1.lowHalf) - SIMD4<Double>(off.lowHalf)
            let hi = SIMD4<Double>(h0.highHalf) + SIMD4<Double>(h1.highHalf) - SIMD4<Double>(off.highHalf)
            return SIMD8<Float>(lowHalf: SIMD4<Float>(lo), highHalf: SIMD4<Float>(hi))
        }
        let da = ad0[i], db = ad1[i]
        let e0 = wd[i], e1 = wd[nb + i], e2 = wd[2 * nb + i], e3 = wd[3 * nb + i]
        c00 = c00.addingProduct(SIMD8(repeating: da * e0), lanes(p00, q00, w0, be0, bo0))
        c01 = c01.addingProduct(SIMD8(repeating: db * e0), lanes(p01, q01, w0, be1, bo1))
        c10 = c10.addingProduct(SIMD8(repeating: da * e1), lanes(p10, q10, w1, be0, bo0))
        c11 = c11.addingProduct(SIMD8(repeating: db * e1), lanes(p11, q11, w1, be1, bo1))
        c20 = c20.addingProduct(SIMD8(repeating: da * e2), lanes(p20, q20, w2, be0, bo0))
        c21 = c21.addingProduct(SIMD8(repeating: db * e2), lanes(p21, q21, w2, be1, bo1))
        c30 = c30.addingProduct(SIMD8(repeating: da * e3), lanes(p30, q30, w3, be0, bo0))
        c31 = c31.addingProduct(SIMD8(repeating: db * e3), lanes(p31, q31, w3, be1, bo1))
    }
    res[0] = foldLanes(c00); res[1] = foldLanes(c01); res[2] = foldLanes(c10); res[3] = foldLanes(c11)
    res[4] = foldLanes(c20); res[5] = foldLanes(c21); res[6] = foldLanes(c30); res[7] = foldLanes(c31)
}

// MARK: - Products

/// Q6_K and Q3_K weights (``Q6KFormat``, ``Q3KFormat``) times Q8_K activations: `out[t·ldo + r]` for
/// every t < `tokens` and r in `rows`, exactly as ggml's CPU backend computes it. `weights` points at the
/// start of the GGUF tensor data (row r at r·(columns/256)·blockBytes) and is read in place; `activations`
/// were filled by ``Q8KActivations/prepare(_:columns:tokens:into:)`` for all `tokens` rows. Disjoint row
/// ranges may run concurrently. `arithmetic` defaults to ggml's choice for a product with `tokens` rows
/// (tiled from 8, vec_dot below).
///
/// Tiled: acc = 0; per super-block i: acc = fma(Float(S_i)·wd_i, ad_i, acc), S_i = Σ sc·(q − B)·a over the
/// block (an exact integer; Q6_K: q ∈ 0…63, B = 32; Q3_K: q = low2 | hbit<<2, B = 4, scales minus 32).
/// vec_dot: 8 lanes L_k over columns 32c + 4k + {0…3} (Q6_K unsigned, less 32·(sc[2k]·bsum[2k] +
/// sc[2k+1]·bsum[2k+1])); acc_k = fma(ad_i·wd_i, Float(L_k), acc_k); fold ((0+4)+(2+6))+((1+5)+(3+7)).
enum KQuantProduct {
    static func multiply<F: KWeightFormat>(
        _ format: F.Type, weights: UnsafeRawPointer, rows: Range<Int>, columns: Int,
        activations: UnsafeRawPointer, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int,
        arithmetic: KQuantArithmetic? = nil
    ) {
        kquantMultiply(
            format, weights: weights, rows: rows, columns: columns,
            activations: activations, tokens: tokens, out: out, ldo: ldo,
            arithmetic: arithmetic ?? .ggmlDefault(tokens: tokens))
    }
}

// MARK: - AVX-512 VNNI route (tiled arithmetic)

extension KQuantProduct {
    /// Repacks rows `firstRow ..< firstRow + 16` (rows past `rows` repeat the last) into the panel layout of
    /// ``VNNIKernels/kTiledBlockBytes``: 16-bit weights sc·(q − B), B the format's tiled bias.
    static func repack16<F: KWeightFormat>(
        _: F.Type, weights: UnsafeRawPointer, firstRow: Int, rows: Int, columns: Int,
        into panel: UnsafeMutableRawPointer
    ) {
        let nb = columns / 256, rowBytes = nb * F.blockBytes
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { codes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scales in
                for lane in 0..<16 {
                    let row = weights + min(firstRow + lane, rows - 1) * rowBytes
                    for b in 0..<nb {
                        let out = panel + b * VNNIKernels.kTiledBlockBytes
                        let d = F.unpack(
                            row + b * F.blockBytes, codes: UnsafeMutableRawPointer(codes.baseAddress!),
                            scales: scales.baseAddress!)
                        out.storeBytes(of: d, toByteOffset: 8192 + lane * 4, as: Float.self)
                        let w = out.assumingMemoryBound(to: Int16.self)
                        for k in 0..<256 {
                            let value = Int32(scales[k / 16]) * (Int32(codes[k]) - F.tiledBias)
                            w[(k / 2) * 32 + lane * 2 + k % 2] = Int16(value)
                        }
                    }
                }
            }
        }
    }

    /// Converts one token of ``Q8KActivations`` to the layout of ``VNNIKernels/kTiledActivationBytes``.
    static func pack(_ activations: UnsafeRawPointer, columns: Int, token t: Int, into packed: UnsafeMutableRawPointer)
    {
        let nb = columns / 256
        for b in 0..<nb {
            let block = activations + (t * nb + b) * Q8KActivations.blockBytes
            let out = packed + (t * nb + b) * VNNIKernels.kTiledActivationBytes
            let codes = (block + 4).assumingMemoryBound(to: Int8.self), wide = out.assumingMemoryBound(to: Int16.self)
            for k in 0..<256 { wide[k] = Int16(codes[k]) }
            out.storeBytes(of: block.loadUnaligned(as: Float.self), toByteOffset: 512, as: Float.self)
        }
    }
}
