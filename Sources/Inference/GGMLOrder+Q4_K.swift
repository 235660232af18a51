// Q4_K weight × f32 activation product (part of `GGMLOrder`), bit-exact with llama.cpp's CPU backend
// (x86-64, AVX2/AVX-512 build, "repack" enabled: q4_K_8x8 weights, q8_K activations).
//
// What llama.cpp does for such a product (and what is reproduced here, written from scratch):
//
// ACTIVATION QUANTIZATION (q8_K, one scale per token per 256 columns = one "superblock").
//   Tokens are split into a leading part whose length is a multiple of 4 and a tail of 0–3 tokens.
//   For every superblock of every token:
//     amax   = max |x|
//     iscale = ±127 / amax (one f32 division), or 0 when amax == 0
//     q[j]   = round-half-to-even(x[j] * iscale)   (one f32 multiply, then rounding; clamped to ≤ 127)
//     d      = 1 / iscale (f32 division), 0 when amax == 0
//     bsum   = exact integer sum of q over each 32-column sub-block
//   The sign of iscale is negative when the largest-magnitude value is positive. The two token parts
//   differ only in how a tie between +amax and −amax is broken:
//     * grouped tokens (4 at a time): negative if ANY element equals +amax;
//     * tail tokens (one at a time): the sign of the FIRST element whose magnitude equals amax.
//   (Both rules are reproduced, but the sign never changes a product: rounding half-to-even is symmetric,
//   so flipping it negates q, d, the sub-block sums and every integer below, and the products are equal.)
//
// WEIGHTS. Each Q4_K row holds, per 256 columns, an f16 scale `d`, an f16 `dmin`, eight 6-bit sub-block
//   scales `sc` and mins `mn`, and 256 4-bit values w. The weight value is d·sc·w − dmin·mn.
//
// PRODUCT, grouped tokens (llama.cpp's repacked GEMM). Per output (token t, weight row r), with
//   acc = accMin = +0 (f32), superblocks b in order, and inside each the sub-block pairs p = 0…3
//   (columns 64p…64p+63 of the superblock):
//     isum   = sc[2p]·Σ w·q (sub-block 2p) + sc[2p+1]·Σ w·q (sub-block 2p+1)     exact integer
//     imin   = mn[2p]·bsum[2p] + mn[2p+1]·bsum[2p+1]                           exact integer
//     acc    = fma(f32(isum), f32(d_r) * d_t[b], acc)        (product of scales rounded once, then FMA)
//     accMin = fma(f32(imin), f32(dmin_r) * d_t[b], accMin)
//   out = acc − accMin   (one f32 subtraction at the very end).
//   Both integers are below 2^24, so their f32 conversion is exact.
//
// PRODUCT, tail tokens (llama.cpp's repacked GEMV). Same, but the integers are summed over the whole
//   superblock (all 8 sub-blocks) before one FMA per superblock:
//     isum = Σ_s sc[s]·Σ w·q  (exact int32; can exceed 2^24, so f32(isum) rounds to nearest-even)
//     imin = Σ_s mn[s]·bsum[s]
//     acc = fma(f32(isum), f32(d_r) * d_t[b], acc); accMin = fma(f32(imin), f32(dmin_r) * d_t[b], accMin)
//   out = acc − accMin.
//
// HOW IT IS COMPUTED HERE. Only the float steps above are order-sensitive; the integer sums are exact
// however they are formed. This implementation computes each pair sum `isum` in f32 FMA arithmetic over
// pre-multiplied weights f32(sc·w) (|sc·w·q| ≤ 63·15·128, 64 terms: every partial sum is an integer below
// 2^24, hence exact) with 8 weight rows across the SIMD lanes and 4 tokens at a time, and then applies the
// f32 steps exactly as listed. Weights are read in place from the GGUF row-major Q4_K blocks; for each tile
// of 16 rows they are expanded once into a scratch buffer (about 64·columns bytes, 96 KiB for 1536
// columns) that is then reused for every token, so no load-time repack is needed. NaN/Inf inputs are
// not covered by the exactness claim.

import VNNIKernels

enum Q4_KProduct {
    /// Bytes of one Q4_K block (256 weights).
    static let blockBytes = 144

    /// Floats per token in the prepared activation buffer:
    /// `columns` quantized values (stored as f32 integers), then one scale per superblock,
    /// then one sub-block sum (f32 integer) per 32 columns.
    @inline(__always)
    static func tokenStride(columns: Int) -> Int { columns + (columns / 256) * 9 }

    /// Size in bytes of the buffer `prepare` fills for `tokens` tokens.
    static func activationBytes(tokens: Int, columns: Int) -> Int {
        tokens * tokenStride(columns: columns) * MemoryLayout<Float>.stride
    }

    /// Quantizes activations as llama.cpp does before this kernel.
    /// - `x`: the whole activation matrix, token-major, `x[t*columns + c]`, for t in 0..<totalTokens.
    /// - `into`: the whole prepared buffer (`activationBytes(tokens: totalTokens, …)`, 4-byte aligned).
    /// Only tokens in `tokens` are written, so disjoint ranges may be filled from several threads.
    /// Tokens below `totalTokens - totalTokens % 4` use the grouped rule, the rest the tail rule.
    static func prepare(
        _ x: UnsafePointer<Float>, columns: Int, tokens: Range<Int>, totalTokens: Int,
        into: UnsafeMutableRawPointer
    ) {
        precondition(columns % 256 == 0)
        let nb = columns / 256
        let stride = tokenStride(columns: columns)
        let base = into.assumingMemoryBound(to: Float.self)
        let grouped = totalTokens - totalTokens % 4
        for t in tokens {
            let src = x + t * columns
            let dst = base + t * stride
            let dys = dst + columns
            let bss = dys + nb
            for b in 0..<nb {
                let v = src + b * 256
                let vv = UnsafeRawPointer(v)
                @inline(__always) func chunk(_ i: Int) -> SIMD8<Float> {
                    vv.loadUnaligned(fromByteOffset: i * 32, as: SIMD8<Float>.self)
                }
                var m8 = SIMD8<Float>()  // running max |x|
                var s8 = SIMD8<Float>(repeating: -.infinity)  // running max x (signed)
                for i in 0..<32 {
                    let x = chunk(i)
                    let c = unsafeBitCast(
                        unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff,
                        to: SIMD8<Float>.self)  // |x|
                    m8.replace(with: c, where: m8 .< c)
                    s8.replace(with: x, where: s8 .< x)
                }
                let amax = ActivationGrid.horizontalMax(m8)
                var iscale: Float = 0
                var dy: Float = 0
                if amax != 0 {
                    var positive = false
                    if t < grouped {
                        // grouped rule: any element equal to +amax makes the scale negative
                        // (some x == +amax  ⇔  max x == amax)
                        positive = ActivationGrid.horizontalMax(s8) == amax
                    } else {
                        // tail rule: the first element reaching amax decides
                        for j in 0..<256 where abs(v[j]) == amax { positive = v[j] > 0; break }
                    }
                    iscale = positive ? -127 / amax : 127 / amax
                    dy = 1 / iscale
                }
                dys[b] = dy
                let q = UnsafeMutableRawPointer(dst + b * 256)
                let sv = SIMD8<Float>(repeating: iscale)
                for s in 0..<8 {
                    var sum = SIMD8<Float>()  // exact: integers, |sum| ≤ 32·128
                    for i in (4 * s)..<(4 * s + 4) {
                        // one f32 multiply, then round half to even
                        // |x·iscale| ≤ 127·(1+2^-23) < 127.5, so llama.cpp's clamp to [-128, 127] is a no-op
                        let r = (chunk(i) * sv).rounded(.toNearestOrEven)
                        q.storeBytes(of: r, toByteOffset: i * 32, as: SIMD8<Float>.self)
                        sum += r
                    }
                    bss[b * 8 + s] = sum.sum()
                }
            }
        }
    }

    // MARK: - weights

    /// Per-tile expanded weights for one group of 8 rows (SIMD lanes = rows).
    private struct Group {
        var w: UnsafeMutablePointer<SIMD8<Float>>  // [columns]   f32(sc·w)
        var mn: UnsafeMutablePointer<SIMD8<Float>>  // [nb*8]      f32(min)
        var d: UnsafeMutablePointer<SIMD8<Float>>  // [nb]        f32(d)
        var dmin: UnsafeMutablePointer<SIMD8<Float>>  // [nb]        f32(dmin)
    }

    /// Decodes rows r0..<r0+8 into `g`.
    private static func expand(_ weights: UnsafeRawPointer, firstRow r0: Int, columns: Int, into g: Group) {
        let nb = columns / 256
        let rowBytes = nb * blockBytes
        let w = UnsafeMutableRawPointer(g.w).assumingMemoryBound(to: Float.self)
        let mnp = UnsafeMutableRawPointer(g.mn).assumingMemoryBound(to: Float.self)
        let dp = UnsafeMutableRawPointer(g.d).assumingMemoryBound(to: Float.self)
        let dmp = UnsafeMutableRawPointer(g.dmin).assumingMemoryBound(to: Float.self)
        for lane in 0..<8 {
            let row = weights + (r0 + lane) * rowBytes
            for b in 0..<nb {
                let blk = row + b * blockBytes
                dp[b * 8 + lane] = halfToFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                dmp[b * 8 + lane] = halfToFloat(UInt16(littleEndian: (blk + 2).loadUnaligned(as: UInt16.self)))
                let s = blk + 4
                var sc = SIMD8<Int32>(), mn = SIMD8<Int32>()
                for j in 0..<8 {
                    let sj = { (i: Int) -> Int32 in Int32(s.load(fromByteOffset: i, as: UInt8.self)) }
                    if j < 4 {
                        sc[j] = sj(j) & 63
                        mn[j] = sj(j + 4) & 63
                    } else {
                        sc[j] = (sj(j + 4) & 0xF) | ((sj(j - 4) >> 6) << 4)
                        mn[j] = (sj(j + 4) >> 4) | ((sj(j) >> 6) << 4)
                    }
                    mnp[(b * 8 + j) * 8 + lane] = Float(mn[j])
                }
                let qs = blk + 16
                for p in 0..<4 {
                    let lo = sc[2 * p], hi = sc[2 * p + 1]
                    for l in 0..<32 {
                        let byte = Int32(qs.load(fromByteOffset: 32 * p + l, as: UInt8.self))
                        w[(b * 256 + 64 * p + l) * 8 + lane] = Float(lo * (byte & 15))
                        w[(b * 256 + 64 * p + 32 + l) * 8 + lane] = Float(hi * (byte >> 4))
                    }
                }
            }
        }
    }

    // MARK: - product

    /// out[t*ldo + r] = Σ_c W[r][c] · x[t][c] for t in 0..<tokens and r in `rows`, with llama.cpp's
    /// rounding (see the file header).
    /// - `weights`: the whole raw GGUF Q4_K matrix (row-major blocks, row r at r·columns/256·144 bytes).
    /// - `rows`: bounds must be multiples of 8.
    /// - `activations`: the buffer filled by `prepare` for all `tokens` tokens.
    /// - `leftoverFrom`: tokens from this index on take llama.cpp's leftover (GEMV) order; by default the
    ///   last `tokens % 4`. Where the call is part of a larger micro-batch, the caller says which.
    ///   The activation buffer must then hold `tokens` rounded up to a multiple of 4 (extra rows are read, not stored).
    static func multiply(
        weights: UnsafeRawPointer, rows: Range<Int>, columns: Int,
        activations: UnsafeRawPointer, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, leftoverFrom: Int? = nil
    ) {
        precondition(columns % 256 == 0 && rows.lowerBound % 8 == 0 && rows.upperBound % 8 == 0)
        if rows.isEmpty || tokens == 0 { return }
        let nb = columns / 256
        let perGroup = columns + nb * 8 + nb + nb
        let scratch = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 2 * perGroup + 64)
        defer { scratch.deallocate() }
        func group(_ i: Int) -> Group {
            let p = scratch + i * perGroup
            return Group(w: p, mn: p + columns, d: p + columns + nb * 8, dmin: p + columns + nb * 9)
        }
        let g0 = group(0), g1 = group(1)
        let accs = scratch + 2 * perGroup  // 32 accumulators (acc, accMin) × (2 groups × 4 tokens)
        let act = activations.assumingMemoryBound(to: Float.self)
        let stride = tokenStride(columns: columns)
        let grouped = leftoverFrom ?? (tokens - tokens % 4)

        var r0 = rows.lowerBound
        while r0 < rows.upperBound {
            let two = rows.upperBound - r0 >= 16
            expand(weights, firstRow: r0, columns: columns, into: g0)
            if two { expand(weights, firstRow: r0 + 8, columns: columns, into: g1) }
            let second = two ? g1 : g0
            var t = 0
            while t < grouped {
                gemmTile(g0, second, act: act + t * stride, stride: stride, columns: columns, accs: accs)
                for i in 0..<min(4, grouped - t) {
                    let o = UnsafeMutableRawPointer(out + (t + i) * ldo + r0)
                    o.storeBytes(of: accs[i] - accs[8 + i], as: SIMD8<Float>.self)
                    if two {
                        o.storeBytes(of: accs[4 + i] - accs[12 + i], toByteOffset: 32, as: SIMD8<Float>.self)
                    }
                }
                t += 4
            }
            t = grouped
            while t < tokens {
                let a = act + t * stride
                let v0 = gemvRow(g0, act: a, columns: columns)
                let o = UnsafeMutableRawPointer(out + t * ldo + r0)
                o.storeBytes(of: v0, as: SIMD8<Float>.self)
                if two {
                    o.storeBytes(of: gemvRow(g1, act: a, columns: columns), toByteOffset: 32, as: SIMD8<Float>.self)
                }
                t += 1
            }
            r0 += two ? 16 : 8
        }
    }

    /// 16 rows (two groups) × 4 grouped tokens. Leaves acc in accs[0..<8] (index g*4+t) and accMin in
    /// accs[8..<16].
    @inline(__always)
    private static func gemmTile(
        _ ga: Group, _ gb: Group, act: UnsafePointer<Float>, stride: Int,
        columns: Int, accs: UnsafeMutablePointer<SIMD8<Float>>
    ) {
        let nb = columns / 256
        for i in 0..<16 { accs[i] = SIMD8<Float>() }
        let a0 = act, a1 = act + stride, a2 = act + 2 * stride, a3 = act + 3 * stride
        let wa = ga.w, wb = gb.w
        for b in 0..<nb {
            for p in 0..<4 {
                var s00 = SIMD8<Float>(), s01 = SIMD8<Float>(), s02 = SIMD8<Float>(), s03 = SIMD8<Float>()
                var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s12 = SIMD8<Float>(), s13 = SIMD8<Float>()
                let k0 = b * 256 + p * 64
                for k in k0..<(k0 + 64) {
                    let x0 = wa[k], x1 = wb[k]
                    let y0 = SIMD8<Float>(repeating: a0[k])
                    s00 = s00.addingProduct(x0, y0); s10 = s10.addingProduct(x1, y0)
                    let y1 = SIMD8<Float>(repeating: a1[k])
                    s01 = s01.addingProduct(x0, y1); s11 = s11.addingProduct(x1, y1)
                    let y2 = SIMD8<Float>(repeating: a2[k])
                    s02 = s02.addingProduct(x0, y2); s12 = s12.addingProduct(x1, y2)
                    let y3 = SIMD8<Float>(repeating: a3[k])
                    s03 = s03.addingProduct(x0, y3); s13 = s13.addingProduct(x1, y3)
                }
                let sums = (s00, s01, s02, s03, s10, s11, s12, s13)
                withUnsafeBytes(of: sums) { raw in
                    let s = raw.bindMemory(to: SIMD8<Float>.self)
                    for g in 0..<2 {
                        let gr = g == 0 ? ga : gb
                        let d = gr.d[b], dmin = gr.dmin[b]
                        let m0 = gr.mn[b * 8 + 2 * p], m1 = gr.mn[b * 8 + 2 * p + 1]
                        for t in 0..<4 {
                            let at = act + t * stride
                            let dy = SIMD8<Float>(repeating: at[columns + b])
                            let bs = at + columns + nb + b * 8 + 2 * p
                            // exact integer arithmetic in f32 (all values < 2^24)
                            let imin = m0 * SIMD8<Float>(repeating: bs[0]) + m1 * SIMD8<Float>(repeating: bs[1])
                            let i = g * 4 + t
                            accs[i] = accs[i].addingProduct(s[i], d * dy)
                            accs[8 + i] = accs[8 + i].addingProduct(imin, dmin * dy)
                        }
                    }
                }
            }
        }
    }

    /// 8 rows × 1 tail token, per-superblock integer accumulation (llama.cpp's GEMV order).
    private static func gemvRow(_ g: Group, act a: UnsafePointer<Float>, columns: Int) -> SIMD8<Float> {
        let nb = columns / 256
        var acc = SIMD8<Float>(), accMin = SIMD8<Float>()
        for b in 0..<nb {
            var isum = SIMD8<Int32>()
            var imin = SIMD8<Int32>()
            for p in 0..<4 {
                var s = SIMD8<Float>()
                let k0 = b * 256 + p * 64
                for k in k0..<(k0 + 64) { s = s.addingProduct(g.w[k], SIMD8<Float>(repeating: a[k])) }
                isum &+= SIMD8<Int32>(s, rounding: .toNearestOrEven)  // s is an exact integer
            }
            for sb in 0..<8 {
                let m = g.mn[b * 8 + sb] * SIMD8<Float>(repeating: a[columns + nb + b * 8 + sb])
                imin &+= SIMD8<Int32>(m, rounding: .toNearestOrEven)  // exact integer
            }
            let dy = SIMD8<Float>(repeating: a[columns + b])
            var fsum = SIMD8<Float>()
            for l in 0..<8 { fsum[l] = Float(isum[l]) }  // int32 → f32, nearest-even
            var fmin = SIMD8<Float>()
            for l in 0..<8 { fmin[l] = Float(imin[l]) }
            acc = acc.addingProduct(fsum, g.d[b] * dy)
            accMin = accMin.addingProduct(fmin, g.dmin[b] * dy)
        }
        return acc - accMin
    }

    // MARK: - AVX-512 VNNI route

    /// Repacks rows `firstRow ..< firstRow + 16` (rows past `rows` repeat the last) into the panel layout of
    /// ``VNNIKernels/q4KBlockBytes``.
    static func repack16(
        _ weights: UnsafeRawPointer, firstRow: Int, rows: Int, columns: Int, into panel: UnsafeMutableRawPointer
    ) {
        let nb = columns / 256, rowBytes = nb * blockBytes
        for lane in 0..<16 {
            let row = weights + min(firstRow + lane, rows - 1) * rowBytes
            for b in 0..<nb {
                let blk = row + b * blockBytes, out = panel + b * VNNIKernels.q4KBlockBytes
                let floats = out.assumingMemoryBound(to: Float.self)
                floats[1280 + lane] = halfToFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                floats[1296 + lane] = halfToFloat(UInt16(littleEndian: (blk + 2).loadUnaligned(as: UInt16.self)))
                let sj = { (i: Int) -> Int32 in Int32((blk + 4).load(fromByteOffset: i, as: UInt8.self)) }
                for j in 0..<8 {
                    let sc = j < 4 ? sj(j) & 63 : (sj(j + 4) & 0xF) | ((sj(j - 4) >> 6) << 4)
                    let mn = j < 4 ? sj(j + 4) & 63 : (sj(j + 4) >> 4) | ((sj(j) >> 6) << 4)
                    floats[1024 + j * 16 + lane] = Float(sc)
                    floats[1152 + j * 16 + lane] = Float(mn)
                }
                let codes = out.assumingMemoryBound(to: UInt8.self)
                @inline(__always) func put(_ column: Int, _ code: UInt8) {
                    codes[(column / 4) * 64 + lane * 4 + column % 4] = code
                }
                for p in 0..<4 {
                    for l in 0..<32 {
                        let byte = (blk + 16).load(fromByteOffset: 32 * p + l, as: UInt8.self)
                        put(64 * p + l, byte & 15)
                        put(64 * p + 32 + l, byte >> 4)
                    }
                }
            }
        }
    }

    /// Converts one token of ``prepare(_:columns:tokens:totalTokens:into:)``'s buffer to the layout of
    /// ``VNNIKernels/q4KTokenBytes(columns:)``: codes as bytes, the scales and sums as they are.
    static func pack(_ prepared: UnsafeRawPointer, columns: Int, token t: Int, into packed: UnsafeMutableRawPointer) {
        let src = prepared.assumingMemoryBound(to: Float.self) + t * tokenStride(columns: columns)
        let dst = packed + t * VNNIKernels.q4KTokenBytes(columns: columns)
        let codes = dst.assumingMemoryBound(to: Int8.self)
        for k in 0..<columns { codes[k] = Int8(src[k]) }
        (dst + columns).assumingMemoryBound(to: Float.self).update(from: src + columns, count: columns / 256 * 9)
    }
}
