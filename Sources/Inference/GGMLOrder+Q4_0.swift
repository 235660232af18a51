// Q4_0 × F32 matrix product, bit-exact with llama.cpp's CPU backend on x86-64
// (AVX2 / AVX-512 builds with the "repack" extra buffer: Q4_0 weights with a row
// count divisible by 8 are repacked to q4_0_8x8 and multiplied by
// ggml_gemm_q4_0_8x8_q8_0 / ggml_gemv_q4_0_8x8_q8_0).
//
// Written from a reading of the arithmetic, not from the ggml code.  What has to be
// reproduced, per output y[t][r] = Σ_k W[r][k] · x[t][k]:
//
// 1. Activation quantization (one token row, one 32-wide block at a time; identical for
//    the 4-token interleaved quantizer used for the GEMM and the single-row quantizer used
//    for leftover tokens):
//       amax  = max_i |x_i|                           (exact; order does not matter)
//       d     = amax / 127                            (one f32 division, RNE)
//       dx    = f32(f16(d))                           (f32 -> f16 round-to-nearest-even, back exact)
//       inv   = amax != 0 ? 127 / amax : 0            (one f32 division — NOT 1/d, NOT 1/dx)
//       q_i   = roundToNearestEven(x_i * inv)         (one f32 multiply, then rint; |q_i| <= 127)
//
// 2. Weights: Q4_0 block = f16 scale dw + 32 nibbles, w_i = nibble - 8.  The repack
//    only moves bytes (and flips bit 3 of each nibble, which with a signed-nibble lookup
//    gives the same value nibble - 8), so the values are unchanged.
//
// 3. Per block b (32 columns) an exact integer dot product
//       s_b = Σ_{i<32} w_i · q_i                      (|s_b| <= 8·127·32 = 32512, exact in
//                                                      any order, exactly representable in f32)
//
// 4. Float accumulation, per output lane, strictly in block order b = 0, 1, …, nb-1,
//    starting from +0:
//       scale_b = f32(dw_b) * dx_b                    (one f32 multiply; both factors are f16
//                                                      values, so the product is in fact exact)
//       acc     = fma(f32(s_b), scale_b, acc)         (one fused multiply-add, single rounding;
//                                                      a separate mul + add does NOT match)
//    and y = acc with no further reduction.  The AVX-512 16-lane GEMM, the AVX2 8-lane
//    GEMM (column tails) and the AVX2 GEMV (token tails, tokens % 4) all perform exactly
//    this per-lane sequence; they differ only in how lanes are laid out.  Consequently
//    the leftover-token (GEMV) path gives bit-identical results to the GEMM path here,
//    and this implementation uses one code path for all tokens (the last partial group
//    of 4 tokens is zero-padded and the padding rows are not stored).
//
// Implementation: the integer dot products are done with 16-bit lanes (w·q fits in
// 11 bits, 32 of them in 16 bits, so wrapping Int16 arithmetic is exact), vectorised over
// 32 weight rows × 4 tokens; each 32-row tile of weights is decoded once per `multiply`
// call into a small heap scratch (Int16, [block][column][row], ≈ 2.1 KiB per block) and
// reused for all token groups.  The GGUF bytes are read in place; no persistent repacked
// copy is kept (the per-call decode costs ≈ 0.4 ms for a 1536 × 576 matrix, i.e. it
// dominates only for very small token counts).  No AVX-512/VNNI is used: only the
// standard-library SIMD types, so the code is portable; only the operation order above
// matters for the result.

enum Q4_0Product {
    /// Bytes per Q4_0 block in the GGUF (f16 scale + 16 bytes of nibbles).
    static let weightBlockBytes = 18

    // Activation buffer layout (opaque to callers): groups of 4 tokens; per group, per
    // 32-column block: 4 × Float32 scales dx (token-slot order), then 4 × 32 quants
    // ([token slot][column k]), each stored as a UInt32 holding the Int16 value twice so the
    // kernel can broadcast it to 16 Int16 lanes with a plain 32-bit broadcast load.
    @usableFromInline static let actBlockBytes = 16 + 32 * 4 * 4

    @inlinable static func groupBytes(columns: Int) -> Int { (columns / 32) * actBlockBytes }

    /// Size of the buffer `prepare` fills for `tokens` token rows of `columns` activations
    /// (allocate it with at least 16-byte alignment).
    static func activationBytes(tokens: Int, columns: Int) -> Int {
        ((tokens + 3) / 4) * groupBytes(columns: columns)
    }

    /// Quantizes activation rows `tokens` (token t at `x + t * columns`; `x` is the base of the
    /// whole token-major activation matrix) exactly as ggml does
    /// before the Q4_0 kernels (Q8_0 with a f16 scale, see the file header).  `tokens.lowerBound`
    /// must be a multiple of 4 and `tokens.upperBound` a multiple of 4 or `totalTokens`;
    /// slots of the last group at or beyond `totalTokens` are zero-filled.  Disjoint ranges may
    /// be prepared concurrently.
    static func prepare(
        _ x: UnsafePointer<Float>, columns: Int, tokens: Range<Int>, totalTokens: Int,
        into: UnsafeMutableRawPointer
    ) {
        precondition(columns % 32 == 0 && tokens.lowerBound % 4 == 0)
        precondition(tokens.upperBound % 4 == 0 || tokens.upperBound == totalTokens)
        let nb = columns / 32
        let gBytes = groupBytes(columns: columns)
        var g = tokens.lowerBound / 4
        while 4 * g < tokens.upperBound {
            let group = into + g * gBytes
            for slot in 0..<4 {
                let t = 4 * g + slot
                if t >= totalTokens {
                    for b in 0..<nb {
                        let blk = group + b * actBlockBytes
                        blk.storeBytes(of: Float(0), toByteOffset: 4 * slot, as: Float.self)
                        for k in 0..<32 {
                            blk.storeBytes(of: UInt32(0), toByteOffset: 16 + 128 * slot + 4 * k, as: UInt32.self)
                        }
                    }
                    continue
                }
                let row = x + t * columns
                for b in 0..<nb {
                    let blk = group + b * actBlockBytes
                    let src = UnsafeRawPointer(row + 32 * b)
                    let v0 = src.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
                    let v1 = src.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                    let v2 = src.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                    let v3 = src.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                    let m = ActivationGrid.max8(
                        ActivationGrid.max8(ActivationGrid.abs8(v0), ActivationGrid.abs8(v1)),
                        ActivationGrid.max8(ActivationGrid.abs8(v2), ActivationGrid.abs8(v3)))
                    var amax = m[0]
                    for i in 1..<8 where m[i] > amax { amax = m[i] }
                    let d = amax / 127
                    let dx = Float(Float16(d))
                    let inv: Float = amax != 0 ? 127 / amax : 0
                    blk.storeBytes(of: dx, toByteOffset: 4 * slot, as: Float.self)
                    let qs = blk + 16 + 128 * slot
                    store8(v0 * inv, qs)
                    store8(v1 * inv, qs + 32)
                    store8(v2 * inv, qs + 64)
                    store8(v3 * inv, qs + 96)
                }
            }
            g += 1
        }
    }

    /// Round half to even (like roundps/cvtps2dq) and clamp to the Int8 range (the packs
    /// saturate; for finite inputs |v| <= 127 anyway — NaN/Inf activations are not a goal,
    /// NaN is mapped to -128 as cvtps2dq + packs would).  Stores each value as UInt32 (v, v).
    @inline(__always) static func store8(_ v: SIMD8<Float>, _ q: UnsafeMutableRawPointer) {
        var r = v.rounded(.toNearestOrEven)
        r.replace(with: -128, where: .!(r .== r) .| (r .< -128))
        r.replace(with: 127, where: r .> 127)
        // r is an integer in [-128, 127]: adding 1.5·2^23 puts (r mod 2^16) in the low 16 bits
        let bits = unsafeBitCast(r + SIMD8<Float>(repeating: 12582912), to: SIMD8<UInt32>.self) & 0xffff
        q.storeBytes(of: bits | (bits &<< 16), as: SIMD8<UInt32>.self)
    }

    // Weight tile scratch: per block, 32 columns × 32 rows Int16 (2 KiB), then 32 Float scales.
    static let tileRows = 32
    static let wTileBlockBytes = 32 * 32 * 2 + 32 * 4

    /// out[t * ldo + r] = Σ_k W[r][k] x[t][k] for t in 0..<tokens, r in `rows`
    /// (`rows.lowerBound` and `rows.count` multiples of 8).  `weights` points at row 0 of the
    /// tensor's raw GGUF Q4_0 data (row-major blocks, read in place); `activations` was filled
    /// by `prepare` for all `tokens` tokens (totalTokens == tokens).  Any row split (multiples of
    /// 8, ideally of 32 — rows are processed in tiles of 32, a shorter tail tile is zero-padded)
    /// gives identical results, so disjoint row ranges can run on different threads.
    static func multiply(
        weights: UnsafeRawPointer, rows: Range<Int>, columns: Int, activations: UnsafeRawPointer,
        tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        precondition(columns % 32 == 0 && rows.lowerBound % 8 == 0 && rows.count % 8 == 0)
        let nb = columns / 32
        let rowBytes = nb * weightBlockBytes
        let gBytes = groupBytes(columns: columns)
        let groups = (tokens + 3) / 4

        let wTile = UnsafeMutableRawPointer.allocate(byteCount: nb * wTileBlockBytes, alignment: 64)
        defer { wTile.deallocate() }
        // 4 token slots × 32 rows of f32 accumulators, and the per-block Int16 sums
        let accF = UnsafeMutablePointer<Float>.allocate(capacity: 128)
        defer { accF.deallocate() }
        let sums = UnsafeMutablePointer<Int16>.allocate(capacity: 128)
        defer { sums.deallocate() }

        var r0 = rows.lowerBound
        while r0 < rows.upperBound {
            let nr = min(tileRows, rows.upperBound - r0)
            decodeTile(weights + r0 * rowBytes, rowBytes: rowBytes, rows: nr, nb: nb, into: wTile)
            for g in 0..<groups {
                let grp = activations + g * gBytes
                accF.initialize(repeating: 0, count: 128)
                for b in 0..<nb {
                    blockKernel(wTile + b * wTileBlockBytes, grp + b * actBlockBytes, accF, sums)
                }
                let nt = min(4, tokens - 4 * g)
                for s in 0..<nt {
                    let o = out + (4 * g + s) * ldo + r0
                    for r in 0..<nr { o[r] = accF[32 * s + r] }
                }
            }
            r0 += nr
        }
    }

    /// Decode up to 32 rows × nb blocks into the tile scratch: Int16 weights at
    /// [block][column k][row], Float scales after each block's values. Missing rows are zero.
    /// Four rows are handled at a time, their four Int16 values packed into one UInt64 store.
    static func decodeTile(
        _ w: UnsafeRawPointer, rowBytes: Int, rows nr: Int, nb: Int, into tile: UnsafeMutableRawPointer
    ) {
        // a Q4_0 block whose nibbles are all 8 (value 0): stands in for rows past `nr`
        let zeroBlock: (UInt64, UInt64, UInt64) = (0x8888_8888_8888_0000, 0x8888_8888_8888_8888, 0x8888)
        withUnsafeBytes(of: zeroBlock) { zb in
            let zero = zb.baseAddress!
            for b in 0..<nb {
                let dst = tile + b * wTileBlockBytes
                for r4 in 0..<8 {
                    let r = 4 * r4
                    let p0 = r < nr ? w + r * rowBytes + b * weightBlockBytes : zero
                    let p1 = r + 1 < nr ? w + (r + 1) * rowBytes + b * weightBlockBytes : zero
                    let p2 = r + 2 < nr ? w + (r + 2) * rowBytes + b * weightBlockBytes : zero
                    let p3 = r + 3 < nr ? w + (r + 3) * rowBytes + b * weightBlockBytes : zero
                    let sc = dst + 2048 + 4 * r  // row scales as Float
                    sc.storeBytes(
                        of: Float(Float16(bitPattern: p0.loadUnaligned(as: UInt16.self))), toByteOffset: 0,
                        as: Float.self)
                    sc.storeBytes(
                        of: Float(Float16(bitPattern: p1.loadUnaligned(as: UInt16.self))), toByteOffset: 4,
                        as: Float.self)
                    sc.storeBytes(
                        of: Float(Float16(bitPattern: p2.loadUnaligned(as: UInt16.self))), toByteOffset: 8,
                        as: Float.self)
                    sc.storeBytes(
                        of: Float(Float16(bitPattern: p3.loadUnaligned(as: UInt16.self))), toByteOffset: 12,
                        as: Float.self)
                    for j in 0..<16 {
                        let b0 = UInt64(p0.load(fromByteOffset: 2 + j, as: UInt8.self))
                        let b1 = UInt64(p1.load(fromByteOffset: 2 + j, as: UInt8.self))
                        let b2 = UInt64(p2.load(fromByteOffset: 2 + j, as: UInt8.self))
                        let b3 = UInt64(p3.load(fromByteOffset: 2 + j, as: UInt8.self))
                        let lo = (b0 & 15) | (b1 & 15) << 16 | (b2 & 15) << 32 | (b3 & 15) << 48
                        let hi = (b0 >> 4) | (b1 >> 4) << 16 | (b2 >> 4) << 32 | (b3 >> 4) << 48
                        // per 16-bit lane n in 0...15: (n + 0x7ff8) ^ 0x8000 == n - 8 (mod 2^16), no carries
                        // Int16 values of rows r...r+3 at column j and j+16
                        dst.storeBytes(
                            of: (lo &+ 0x7ff8_7ff8_7ff8_7ff8) ^ 0x8000_8000_8000_8000,
                            toByteOffset: 64 * j + 8 * r4, as: UInt64.self)
                        dst.storeBytes(
                            of: (hi &+ 0x7ff8_7ff8_7ff8_7ff8) ^ 0x8000_8000_8000_8000,
                            toByteOffset: 64 * (j + 16) + 8 * r4, as: UInt64.self)
                    }
                }
            }
        }
    }

    /// One 32-column block for 4 token slots × 32 rows: exact Int16 dot products, then per
    /// lane acc = fma(Float(s), dw * dx, acc).  `sums` is a 128-lane Int16 scratch.
    @inline(__always)
    static func blockKernel(
        _ wb: UnsafeRawPointer, _ ab: UnsafeRawPointer, _ acc: UnsafeMutablePointer<Float>,
        _ sums: UnsafeMutablePointer<Int16>
    ) {
        var a0l = SIMD16<Int16>(), a0h = SIMD16<Int16>()
        var a1l = SIMD16<Int16>(), a1h = SIMD16<Int16>()
        var a2l = SIMD16<Int16>(), a2h = SIMD16<Int16>()
        var a3l = SIMD16<Int16>(), a3h = SIMD16<Int16>()
        for k in 0..<32 {
            let wl = wb.load(fromByteOffset: 64 * k, as: SIMD16<Int16>.self)
            let wh = wb.load(fromByteOffset: 64 * k + 32, as: SIMD16<Int16>.self)
            // token slot s, column k: UInt32 (q, q) broadcast -> 16 lanes of q
            let x0 = unsafeBitCast(
                SIMD8<UInt32>(repeating: ab.load(fromByteOffset: 16 + 4 * k, as: UInt32.self)), to: SIMD16<Int16>.self)
            let x1 = unsafeBitCast(
                SIMD8<UInt32>(repeating: ab.load(fromByteOffset: 144 + 4 * k, as: UInt32.self)), to: SIMD16<Int16>.self)
            let x2 = unsafeBitCast(
                SIMD8<UInt32>(repeating: ab.load(fromByteOffset: 272 + 4 * k, as: UInt32.self)), to: SIMD16<Int16>.self)
            let x3 = unsafeBitCast(
                SIMD8<UInt32>(repeating: ab.load(fromByteOffset: 400 + 4 * k, as: UInt32.self)), to: SIMD16<Int16>.self)
            a0l &+= wl &* x0; a0h &+= wh &* x0
            a1l &+= wl &* x1; a1h &+= wh &* x1
            a2l &+= wl &* x2; a2h &+= wh &* x2
            a3l &+= wl &* x3; a3h &+= wh &* x3
        }
        let sv = UnsafeMutableRawPointer(sums)
        sv.storeBytes(of: a0l, toByteOffset: 0, as: SIMD16<Int16>.self)
        sv.storeBytes(of: a0h, toByteOffset: 32, as: SIMD16<Int16>.self)
        sv.storeBytes(of: a1l, toByteOffset: 64, as: SIMD16<Int16>.self)
        sv.storeBytes(of: a1h, toByteOffset: 96, as: SIMD16<Int16>.self)
        sv.storeBytes(of: a2l, toByteOffset: 128, as: SIMD16<Int16>.self)
        sv.storeBytes(of: a2h, toByteOffset: 160, as: SIMD16<Int16>.self)
        sv.storeBytes(of: a3l, toByteOffset: 192, as: SIMD16<Int16>.self)
        sv.storeBytes(of: a3h, toByteOffset: 224, as: SIMD16<Int16>.self)
        for slot in 0..<4 {
            let dx = ab.load(fromByteOffset: 4 * slot, as: Float.self)
            let a = acc + 32 * slot
            let s = sums + 32 * slot
            for r in 0..<32 {
                let dw = wb.load(fromByteOffset: 2048 + 4 * r, as: Float.self)
                let scale = dw * dx  // rounded f32 product (exact, in fact)
                a[r] = a[r].addingProduct(Float(s[r]), scale)  // single-rounding fma
            }
        }
    }
}
