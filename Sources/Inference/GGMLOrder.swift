import AVX2Kernels
import Foundation
import Synchronization
import VNNIKernels
import WideKernels

/// The arithmetic of llama.cpp's CPU backend, reproduced operation for operation, so that a batch evaluated by
/// Kiln gives the bits llama.cpp gives (x86-64 with AVX-512, the build that made `golden/smollm2/kld.md`).
///
/// Why bits matter: quantized models round activations to a grid before every product, so a last-bit
/// difference anywhere can flip a rounding and grow through the layers; statistics that sit on a few
/// positions (max KLD, the 99th percentile, ln(PPL ratio) of near-lossless types) then move by several
/// percent with the order of float additions alone. Integer parts of ggml's kernels are exact and are
/// computed here in whatever way is fast (in floats, exactly: every integer involved stays below 2²⁴); the
/// float operations (products of scales, FMA chains, horizontal sums) are done in ggml's order.
///
/// All of it is portable Swift: the lane arithmetic of AVX-512 is reproduced with SIMD types, so the results
/// are the same on any x86-64 or ARM machine.
enum GGMLOrder {
    // MARK: Horizontal sums

    /// GCC's `_mm512_reduce_add_ps`: the upper 8 lanes added to the lower 8, then the upper 4 to the lower 4,
    /// then lanes (0 + 2) + (1 + 3).
    @inline(__always)
    static func sum16(_ v: SIMD16<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        return (b[0] + b[2]) + (b[1] + b[3])
    }

    // MARK: exp and SiLU

    /// ggml's vectorized `expf` (`ggml_v_expf`, AVX-512 form) lane by lane: n = round(x/ln2) by the
    /// 1.5·2²³ trick, a two-part reduction b = x − n·ln2 by fused negated products, a degree-5 polynomial
    /// evaluated as three FMA pairs, and the result scaled by 2ⁿ (`vscalefps`); lanes with |n| > 192 give
    /// +0 (n ≤ 0) or +∞.
    @inline(__always)
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let r = SIMD16<Float>(repeating: 0x1.8p23)
        let z = r.addingProduct(x, SIMD16(repeating: 0x1.715476p+0))
        let n = z - r
        let b = x.addingProduct(-n, SIMD16(repeating: 0x1.62e4p-1)).addingProduct(-n, SIMD16(repeating: 0x1.7f7d1cp-20))
        let u = b * b
        let p1 = SIMD16<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD16(repeating: 0x1.0e4020p-7), b)
        let p2 = SIMD16<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD16(repeating: 0x1.555e66p-3), b)
        let p3 = p2.addingProduct(p1, u)
        let p4 = SIMD16<Float>(repeating: 1).addingProduct(SIMD16(repeating: 0x1.ffffecp-1), b)
        let j = p4.addingProduct(p3, u)
        // j·2ⁿ rounded once: 2^(n − h) is exact and keeps the product normal, the second factor rounds.
        // z holds 1.5·2²³ + n exactly, so its low bits are n (garbage only in lanes replaced below).
        let ni = (unsafeBitCast(z, to: SIMD16<Int32>.self) &- 0x4B40_0000)
            .clamped(lowerBound: SIMD16(repeating: -200), upperBound: SIMD16(repeating: 200))
        let h = ni &>> 1, l = ni &- h
        let s1 = unsafeBitCast((l &+ 127) &<< 23, to: SIMD16<Float>.self)
        let s2 = unsafeBitCast((h &+ 127) &<< 23, to: SIMD16<Float>.self)
        var res = (j * s1) * s2
        let magnitude = unsafeBitCast(unsafeBitCast(n, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
        let big = magnitude .> SIMD16<Float>(repeating: 192)
        if any(big) {
            let alt = SIMD16<Float>(repeating: .infinity).replacing(with: 0, where: n .<= 0)
            res.replace(with: alt, where: big)
        }
        return res
    }

    /// `ggml_v_silu`: x / (1 + exp(0 − x)).
    @inline(__always)
    static func silu(_ x: SIMD16<Float>) -> SIMD16<Float> {
        x / (1 + exp(0 - x))
    }

    /// `ggml_vec_swiglu_f32`: `out[i] = silu(gate[i]) · up[i]`, 16 lanes at a time and `expf` for the tail.
    static func swiglu(
        _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        var i = 0
        while i + 16 <= count {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: silu(g) * u, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let g = gate[i]
            out[i] = g / (1 + expf(-g)) * up[i]
            i += 1
        }
    }

    /// `ggml_vec_geglu_f32` as ggml's CPU backend builds it (`GGML_GELU_FP16`): `out[i] = gelu(gate[i]) · up[i]`
    /// where gelu is read from a table indexed by the gate rounded to F16 (0 below −10, the identity above 10).
    static func geglu(
        _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        geluTable.withUnsafeBufferPointer { table in
            for i in 0..<count {
                let x = gate[i]
                if x <= -10 {
                    out[i] = 0
                } else if x >= 10 {
                    out[i] = x * up[i]
                } else {
                    out[i] = table[Int(Float16(x).bitPattern)] * up[i]
                }
            }
        }
    }

    /// ggml's `ggml_table_gelu_f16`, widened back to F32: for every F16 value, the tanh approximation
    /// `0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²)))` rounded to F16, computed as x86-64 builds compile
    /// `ggml_gelu_f32` (GCC contracts `1 + 0.044715·x·x` into one fused multiply-add).
    static let geluTable: [Float] = (0..<65536).map { bits in
        let x = Float(Float16(bitPattern: UInt16(bits)))
        let inner = Float(1).addingProduct(0.044715 * x, x)
        let gelu = 0.5 * x * (1 + tanhf(0.79788456080286535587989211986876 * x * inner))
        return Float(Float16(gelu))
    }

    /// `ggml_vec_soft_max_f32` over a 64-key tile row: `p = exp(s − max)` in place, 16 lanes at a time,
    /// each group's lanes summed by ``sum16`` and the groups added in double precision.
    @inline(__always)
    static func softmaxTile(_ s: UnsafeMutablePointer<Float>, count: Int, max: Float) -> Double {
        var sum = 0.0
        var i = 0
        let m = SIMD16<Float>(repeating: max)
        while i + 16 <= count {
            let v = exp(UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self) - m)
            UnsafeMutableRawPointer(s + i).storeBytes(of: v, as: SIMD16<Float>.self)
            sum += Double(sum16(v))
            i += 16
        }
        while i < count {
            let v = expf(s[i] - max)
            s[i] = v
            sum += Double(v)
            i += 1
        }
        return sum
    }

    /// `ggml_vec_dot_f16` (AVX-512) over values already on the F16 grid: four 16-lane FMA chains over steps
    /// of 64, folded as (0 + 2) + (1 + 3), summed by ``sum16`` into a double; the tail adds float products
    /// in double; the result rounded to float.
    static func dotF16(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
            UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
        }
        let np = count & ~63
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        var i = 0
        while i < np {
            s0.addProduct(load(x + i), load(y + i))
            s1.addProduct(load(x + i + 16), load(y + i + 16))
            s2.addProduct(load(x + i + 32), load(y + i + 32))
            s3.addProduct(load(x + i + 48), load(y + i + 48))
            i += 64
        }
        var sum = Double(sum16((s0 + s2) + (s1 + s3)))
        while i < count {
            sum += Double(x[i] * y[i])
            i += 1
        }
        return Float(sum)
    }

    // MARK: F32 and F16 weights: llamafile's tinyBLAS

    /// `out[t·ldo + r] = Σ_k w[r·ldw + k] · x[t·ldx + k]` for r in `rows` and t < `tokens`, as tinyBLAS
    /// computes it with 512-bit vectors: 16 partial sums per output (lane l takes k ≡ l mod 16, one FMA chain
    /// in increasing k, started from 0), then ``sum16``. `columns` must be a multiple of 16. F16 weights go
    /// through here too, decoded to F32 exactly, with F16-rounded activations (their `vec_dot_type`).
    static func productF32(
        w: UnsafePointer<Float>, ldw: Int, rows: Range<Int>, x: UnsafePointer<Float>, ldx: Int,
        tokens: Int, columns: Int, out: UnsafeMutablePointer<Float>, ldo: Int, route: KernelRoute
    ) {
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
            UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
        }
        if route.usesWideTiles {
            // Blocks of 48 tokens stay in the L2 cache while every row group of the range passes over them.
            var t0 = 0
            while t0 < tokens {
                let block = min(48, tokens - t0)
                var r = rows.lowerBound
                while r < rows.upperBound {
                    let nr = min(4, rows.upperBound - r)
                    var t = t0
                    while t < t0 + block {
                        WideKernels.f32Tile(
                            w: w + r * ldw, ldw: ldw, rows: nr, x: x + t * ldx, ldx: ldx,
                            tokens: min(6, t0 + block - t), columns: columns, out: out + t * ldo + r, ldo: ldo)
                        t += 6
                    }
                    r += nr
                }
                t0 += block
            }
            return
        }
        // 3 rows × 2 tokens of 16-lane chains: twelve 256-bit accumulators, the most AVX2's sixteen registers
        // hold with the loads; blocks of 48 tokens stay in the L2 cache while the row range passes over them.
        var t0 = 0
        while t0 < tokens {
            let block = min(48, tokens - t0)
            var r = rows.lowerBound
            while r < rows.upperBound {
                let nr = min(3, rows.upperBound - r)
                let w0 = w + r * ldw, w1 = w + (r + min(1, nr - 1)) * ldw, w2 = w + (r + min(2, nr - 1)) * ldw
                var t = t0
                while t < t0 + block {
                    let nt = min(2, t0 + block - t)
                    let x0 = x + t * ldx, x1 = x + (t + nt - 1) * ldx
                    var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a10 = SIMD16<Float>(), a11 = SIMD16<Float>()
                    var a20 = SIMD16<Float>(), a21 = SIMD16<Float>()
                    var k = 0
                    while k < columns {
                        let v0 = load(x0 + k), v1 = load(x1 + k)
                        var m = load(w0 + k)
                        a00.addProduct(m, v0); a01.addProduct(m, v1)
                        m = load(w1 + k)
                        a10.addProduct(m, v0); a11.addProduct(m, v1)
                        m = load(w2 + k)
                        a20.addProduct(m, v0); a21.addProduct(m, v1)
                        k += 16
                    }
                    let o0 = out + t * ldo + r
                    o0[0] = sum16(a00)
                    if nr > 1 { o0[1] = sum16(a10) }
                    if nr > 2 { o0[2] = sum16(a20) }
                    if nt > 1 {
                        let o1 = o0 + ldo
                        o1[0] = sum16(a01)
                        if nr > 1 { o1[1] = sum16(a11) }
                        if nr > 2 { o1[2] = sum16(a21) }
                    }
                    t += nt
                }
                r += nr
            }
            t0 += block
        }
    }

    // MARK: Q8_0 and Q5_0 weights: llamafile's tinyBLAS_Q0

    /// `quantize_row_q8_0` (x86): per block of 32, d = max|x|/127 stored as F16, codes round-half-even of
    /// x · (127/max). Writes the codes as exact floats and the F16 scale as a float per block.
    static func quantizeQ8_0(
        _ x: UnsafePointer<Float>, count: Int, codes: UnsafeMutablePointer<Float>,
        scales: UnsafeMutablePointer<Float>
    ) {
        quantizeQ8_0Blocks(x, count: count, scales: scales) { i, r in ActivationGrid.store8(r, codes, i) }
    }

    /// ``quantizeQ8_0(_:count:codes:scales:)`` with the codes as signed bytes.
    static func quantizeQ8_0(
        _ x: UnsafePointer<Float>, count: Int, bytes: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>
    ) {
        quantizeQ8_0Blocks(x, count: count, scales: scales) { i, r in
            UnsafeMutableRawPointer(bytes + i).storeBytes(of: codeBytes(r), as: SIMD8<Int8>.self)
        }
    }

    /// The Q8_0 rounding of `count` values: per block of 32 its F16 scale into `scales`, then each group of
    /// eight codes (exact floats) handed to `store` with the index of its first value.
    @inline(__always)
    static func quantizeQ8_0Blocks(
        _ x: UnsafePointer<Float>, count: Int, scales: UnsafeMutablePointer<Float>,
        _ store: (Int, SIMD8<Float>) -> Void
    ) {
        var b = 0
        while b < count {
            var m = SIMD8<Float>()
            for i in stride(from: b, to: b + 32, by: 8) {
                m = ActivationGrid.max8(m, ActivationGrid.abs8(ActivationGrid.load8(x, i)))
            }
            let amax = ActivationGrid.horizontalMax(m)
            scales[b / 32] = Float(Float16(amax / 127))
            let id = SIMD8<Float>(repeating: amax != 0 ? 127 / amax : 0)
            for i in stride(from: b, to: b + 32, by: 8) {
                store(i, ActivationGrid.roundHalfEven(ActivationGrid.load8(x, i) * id))
            }
            b += 32
        }
    }

    /// Rounded codes (exact integers below 2²² in magnitude) as signed bytes; NaN and out-of-range lanes,
    /// which only broken inputs give, are clamped to ±127, never a trap.
    @inline(__always)
    static func codeBytes(_ r: SIMD8<Float>) -> SIMD8<Int8> {
        let q = (unsafeBitCast(r + 12_582_912.0, to: SIMD8<Int32>.self) &- 0x4B40_0000)
            .clamped(lowerBound: SIMD8(repeating: -127), upperBound: SIMD8(repeating: 127))
        return SIMD8<Int8>(truncatingIfNeeded: q)
    }

    /// ``productQ0(_:panels:codes:scales:tokens:out:ldo:)`` two panels and four tokens at a time in AVX-512
    /// tiles (``WideKernels/q0Tile(panelA:scalesA:rowsA:panelB:scalesB:rowsB:blocks:x:ldx:xs:ldxs:tokens:out:ldo:)``),
    /// the same arithmetic lane for lane.
    static func productQ0Wide(
        _ g: GroupedRows, pairs: Range<Int>, codes: UnsafePointer<Float>, scales: UnsafePointer<Float>,
        tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let n = g.columns, gpr = g.groupsPerRow
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n * 16) { panelBuffer in
            let a = panelBuffer.baseAddress!, b = a + n * 16
            for pair in pairs {
                let p0 = 2 * pair, p1 = min(p0 + 1, g.panels - 1)
                let rowsA = min(16, g.rows - p0 * 16), rowsB = p1 == p0 ? 0 : min(16, g.rows - p1 * 16)
                let ca = UnsafePointer(g.codes.pointer + p0 * n * 16), cb = UnsafePointer(g.codes.pointer + p1 * n * 16)
                let ra = UnsafeMutableRawPointer(a), rb = UnsafeMutableRawPointer(b)
                for q in 0..<(n / 4) {
                    let (a0, a1, a2, a3) = MatrixKernels.quadColumns(ca, q),
                        (b0, b1, b2, b3) = MatrixKernels.quadColumns(cb, q)
                    ra.storeBytes(of: a0, toByteOffset: q * 256, as: SIMD16<Float>.self)
                    ra.storeBytes(of: a1, toByteOffset: q * 256 + 64, as: SIMD16<Float>.self)
                    ra.storeBytes(of: a2, toByteOffset: q * 256 + 128, as: SIMD16<Float>.self)
                    ra.storeBytes(of: a3, toByteOffset: q * 256 + 192, as: SIMD16<Float>.self)
                    rb.storeBytes(of: b0, toByteOffset: q * 256, as: SIMD16<Float>.self)
                    rb.storeBytes(of: b1, toByteOffset: q * 256 + 64, as: SIMD16<Float>.self)
                    rb.storeBytes(of: b2, toByteOffset: q * 256 + 128, as: SIMD16<Float>.self)
                    rb.storeBytes(of: b3, toByteOffset: q * 256 + 192, as: SIMD16<Float>.self)
                }
                var t = 0
                while t < tokens {
                    WideKernels.q0Tile(
                        panelA: a, scalesA: g.scales.pointer + p0 * gpr * 16, rowsA: rowsA,
                        panelB: b, scalesB: g.scales.pointer + p1 * gpr * 16, rowsB: rowsB, blocks: gpr,
                        x: codes + t * n, ldx: n, xs: scales + t * gpr, ldxs: gpr, tokens: min(4, tokens - t),
                        out: out + t * ldo + p0 * 16, ldo: ldo)
                    t += 4
                }
            }
        }
    }

    /// Packs one token's codes from ``quantizeQ8_0(_:count:codes:scales:)`` as
    /// ``VNNIKernels/q0Product(panelA:scalesA:rowsA:panelB:scalesB:rowsB:blocks:x:ldx:xs:ldxs:tokens:out:ldo:)``
    /// reads them: per group of four columns, the four codes as bytes of an Int32 (little-endian), then
    /// −128 × their sum, which cancels the 128 added to the weights' codes.
    static func packQ0Activations(_ codes: UnsafePointer<Float>, columns: Int, into packed: UnsafeMutablePointer<Int32>)
    {
        for g in 0..<(columns / 4) {
            let c0 = Int32(codes[4 * g]), c1 = Int32(codes[4 * g + 1]), c2 = Int32(codes[4 * g + 2]),
                c3 = Int32(codes[4 * g + 3])
            packed[2 * g] = (c0 & 0xFF) | (c1 & 0xFF) << 8 | (c2 & 0xFF) << 16 | (c3 & 0xFF) << 24
            packed[2 * g + 1] = -128 * (c0 + c1 + c2 + c3)
        }
    }

    /// ``productQ0Wide(_:pairs:codes:scales:tokens:out:ldo:)`` with integer dot products (AVX-512 VNNI),
    /// the same arithmetic lane for lane.
    static func productQ0Integer(
        _ g: GroupedRows, pairs: Range<Int>, activations: UnsafePointer<Int32>,
        scales: UnsafePointer<Float>, tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let n = g.columns, gpr = g.groupsPerRow, bytes = VNNIKernels.panelBytes(columns: n)
        withUnsafeTemporaryAllocation(byteCount: 2 * bytes, alignment: 64) { panelBuffer in
            let a = panelBuffer.baseAddress!, b = a + bytes
            for pair in pairs {
                let p0 = 2 * pair, p1 = min(p0 + 1, g.panels - 1)
                let rowsA = min(16, g.rows - p0 * 16), rowsB = p1 == p0 ? 0 : min(16, g.rows - p1 * 16)
                VNNIKernels.offsetCodes(UnsafeRawPointer(g.codes.pointer + p0 * n * 16), count: n * 16, into: a)
                VNNIKernels.offsetCodes(UnsafeRawPointer(g.codes.pointer + p1 * n * 16), count: n * 16, into: b)
                VNNIKernels.q0Product(
                    panelA: a, scalesA: g.scales.pointer + p0 * gpr * 16, rowsA: rowsA,
                    panelB: b, scalesB: g.scales.pointer + p1 * gpr * 16, rowsB: rowsB, blocks: gpr,
                    x: activations, ldx: n / 2, xs: scales, ldxs: gpr, tokens: tokens,
                    out: out + p0 * 16, ldo: ldo)
            }
        }
    }

    /// Q8_0 / Q5_0 rows (``GroupedRows`` panels: integer codes and the F16 scale per 32-block) times Q8_0
    /// activations, as tinyBLAS_Q0 computes each output: per block, eight lane sums of four code products
    /// (exact), each FMA'd with the product of the two F16 scales into its lane's chain over blocks, then
    /// ``sum8``. Vectorized across the 16 rows of a panel; `codes`/`scales` are the activations from
    /// ``quantizeQ8_0(_:count:codes:scales:)`` with row strides `columns` and `columns / 32`.
    static func productQ0(
        _ g: GroupedRows, panels: Range<Int>, codes: UnsafePointer<Float>, scales: UnsafePointer<Float>,
        tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let n = g.columns, gpr = g.groupsPerRow
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: n) { panelBuffer in
            let panel = panelBuffer.baseAddress!
            for p in panels {
                let c = UnsafePointer(g.codes.pointer + p * n * 16)
                let s = UnsafePointer(g.scales.pointer + p * gpr * 16)
                for q in 0..<(n / 4) {
                    (panel[4 * q], panel[4 * q + 1], panel[4 * q + 2], panel[4 * q + 3]) = MatrixKernels.quadColumns(
                        c, q)
                }
                let valid = min(16, g.rows - p * 16)
                for t in 0..<tokens {
                    let xc = codes + t * n, xs = scales + t * gpr
                    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                    var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
                    for b in 0..<gpr {
                        let d = UnsafeRawPointer(s + b * 16).loadUnaligned(as: SIMD16<Float>.self) * xs[b]
                        let k0 = b * 32
                        @inline(__always) func lane(_ j: Int) -> SIMD16<Float> {
                            let k = k0 + 4 * j
                            var v = panel[k] * xc[k]
                            v.addProduct(panel[k + 1], SIMD16(repeating: xc[k + 1]))
                            v.addProduct(panel[k + 2], SIMD16(repeating: xc[k + 2]))
                            v.addProduct(panel[k + 3], SIMD16(repeating: xc[k + 3]))
                            return v
                        }
                        a0.addProduct(d, lane(0)); a1.addProduct(d, lane(1))
                        a2.addProduct(d, lane(2)); a3.addProduct(d, lane(3))
                        a4.addProduct(d, lane(4)); a5.addProduct(d, lane(5))
                        a6.addProduct(d, lane(6)); a7.addProduct(d, lane(7))
                    }
                    let sum = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))
                    let o = out + t * ldo + p * 16
                    if valid == 16 {
                        UnsafeMutableRawPointer(o).storeBytes(of: sum, as: SIMD16<Float>.self)
                    } else {
                        for j in 0..<valid { o[j] = sum[j] }
                    }
                }
            }
        }
    }
}

extension GGMLOrder {
    /// Where a product's token rows sit in llama.cpp's micro-batch: `tokens` rows in all, this call's first
    /// row at index `first`. Repacked kernels take rows in groups of 4 and the last `tokens % 4` rows by
    /// another route, which for some types rounds differently.
    struct Placement: Sendable, Equatable {
        var tokens: Int
        var first: Int
        /// A call that is a micro-batch of its own (`tokens` 0: the call's row count).
        static let alone = Placement(tokens: 0, first: 0)

        /// The call-local index from which rows take the leftover route, for a call of `n` rows.
        func leftoverFrom(_ n: Int) -> Int {
            let total = tokens == 0 ? n : tokens
            return min(n, max(0, total - total % 4 - first))
        }
    }

    /// Applies `w` to a batch in llama.cpp's order when Kiln has its kernel for the weight type (F32, F16,
    /// Q8_0, Q5_0, Q4_0, Q4_K, Q6_K, Q3_K); returns false otherwise. `scratch` holds at least
    /// `tokens · columns` floats. `route` chooses among kernels that give the same bits.
    static func apply(
        _ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens n: Int, out: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, threads: Int, placement: Placement, route: KernelRoute
    ) -> Bool {
        let cols = w.columns, rows = w.rows
        switch w.storage {
        case let .f32(p) where cols % 16 == 0 && (w.grid == .f32 || w.grid == .f16):
            applyF32(p, w, x, tokens: n, out: out, scratch: scratch, threads: threads, route: route)
        case let .groups(g)
        where w.sourceType == .q8_0 || w.sourceType == .q5_0 || (w.sourceType == .q4_0 && rows % 8 != 0):
            applyQ0(g, x, tokens: n, out: out, scratch: scratch, threads: threads, route: route)
        case .groups where w.sourceType == .q4_0 && rows % 8 == 0 && cols % 32 == 0 && w.blocks != nil:
            applyQ4_0(w, x, tokens: n, out: out, threads: threads)
        case .groups where w.sourceType == .q4_K && rows % 8 == 0 && cols % 256 == 0 && w.blocks != nil:
            applyQ4_K(w, x, tokens: n, out: out, threads: threads, placement: placement, route: route)
        case .groups where (w.sourceType == .q6_K || w.sourceType == .q3_K) && cols % 256 == 0 && w.blocks != nil:
            applyKTiled(w, x, tokens: n, out: out, threads: threads, placement: placement, route: route)
        default:
            return false
        }
        return true
    }

    /// F32 and F16 weights (F16 decoded to F32 at load, activations rounded to F16 first): tinyBLAS's order.
    private static func applyF32(
        _ p: UnsafePointer<Float>, _ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens n: Int,
        out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, threads: Int,
        route: KernelRoute
    ) {
        let cols = w.columns, rows = w.rows
        let xs = UncheckedBox(x), os = SendablePointer(out), ss = SendablePointer(scratch)
        var src = x
        if w.grid == .f16 {
            parallelFor(n, threads: threads) { range in
                for t in range { ActivationGrid.f16.round(xs.value + t * cols, into: ss.p + t * cols, count: cols) }
            }
            src = UnsafePointer(scratch)
        }
        let input = UncheckedBox(src), weights = UncheckedBox(p)
        let chunk = 16
        parallelFor((rows + chunk - 1) / chunk, threads: threads) { range in
            productF32(
                w: weights.value, ldw: cols, rows: range.lowerBound * chunk..<min(rows, range.upperBound * chunk),
                x: input.value, ldx: cols, tokens: n, columns: cols, out: os.p, ldo: rows, route: route)
        }
    }

    /// Q8_0 and Q5_0 weights (and Q4_0 that ggml does not repack): tinyBLAS_Q0 over Q8_0 activations.
    private static func applyQ0(
        _ g: GroupedRows, _ x: UnsafePointer<Float>, tokens n: Int, out: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, threads: Int, route: KernelRoute
    ) {
        let cols = g.columns, rows = g.rows, blocks = cols / 32
        let xs = UncheckedBox(x), os = SendablePointer(out), ss = SendablePointer(scratch)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * blocks) { sb in
            let scales = SendablePointer(sb.baseAddress!)
            @Sendable func quantize(_ t: Int) {
                quantizeQ8_0(xs.value + t * cols, count: cols, codes: ss.p + t * cols, scales: scales.p + t * blocks)
            }
            switch route {
            case .avx512VNNI:
                _ = withActivations(n * cols * 2) { act in
                    let packed = act.p.withMemoryRebound(to: Int32.self, capacity: n * cols / 2) { SendablePointer($0) }
                    parallelFor(n, threads: threads) { range in
                        for t in range {
                            quantize(t)
                            packQ0Activations(ss.p + t * cols, columns: cols, into: packed.p + t * cols / 2)
                        }
                    }
                    parallelFor((g.panels + 1) / 2, threads: threads) { range in
                        productQ0Integer(
                            g, pairs: range, activations: packed.p, scales: scales.p, tokens: n, out: os.p, ldo: rows)
                    }
                }
            case .avx512:
                parallelFor(n, threads: threads) { range in
                    for t in range { quantize(t) }
                }
                parallelFor((g.panels + 1) / 2, threads: threads) { range in
                    productQ0Wide(g, pairs: range, codes: ss.p, scales: scales.p, tokens: n, out: os.p, ldo: rows)
                }
            case .avx2:
                _ = withActivations(n * cols) { act in
                    let bytes = act.p.withMemoryRebound(to: Int8.self, capacity: n * cols) { SendablePointer($0) }
                    parallelFor(n, threads: threads) { range in
                        for t in range {
                            quantizeQ8_0(
                                xs.value + t * cols, count: cols, bytes: bytes.p + t * cols,
                                scales: scales.p + t * blocks)
                        }
                    }
                    parallelFor(g.panels, threads: threads) { range in
                        withUnsafeTemporaryAllocation(
                            of: SIMD8<Float>.self, capacity: AVX2Kernels.q0ScratchVectors(blocks: blocks)
                        ) { scratch in
                            for p in range {
                                AVX2Kernels.q0Product(
                                    codes: g.codes.pointer + p * cols * 16, scales: g.scales.pointer + p * blocks * 16,
                                    rows: min(16, rows - p * 16), blocks: blocks, x: bytes.p, ldx: cols,
                                    xs: scales.p, ldxs: blocks, tokens: n, out: os.p + p * 16, ldo: rows,
                                    scratch: scratch.baseAddress!)
                            }
                        }
                    }
                }
            case .portable:
                parallelFor(n, threads: threads) { range in
                    for t in range { quantize(t) }
                }
                parallelFor(g.panels, threads: threads) { range in
                    productQ0(g, panels: range, codes: ss.p, scales: scales.p, tokens: n, out: os.p, ldo: rows)
                }
            }
        }
    }

    /// Q4_0 weights that ggml repacks to 8-row interleaved blocks; every token takes the same order. One route.
    private static func applyQ4_0(
        _ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens n: Int, out: UnsafeMutablePointer<Float>,
        threads: Int
    ) {
        let cols = w.columns, rows = w.rows
        let xs = UncheckedBox(x), os = SendablePointer(out)
        let bytes = Q4_0Product.activationBytes(tokens: n, columns: cols)
        _ = withActivations(bytes) { act in
            let groups = (n + 3) / 4
            parallelFor(groups, threads: threads) { range in
                Q4_0Product.prepare(
                    xs.value, columns: cols, tokens: (range.lowerBound * 4)..<min(n, range.upperBound * 4),
                    totalTokens: n, into: act.p)
            }
            let blocks = UncheckedBox(w.blocks!)
            parallelFor(rows / 32 + (rows % 32 == 0 ? 0 : 1), threads: threads) { range in
                let r = (range.lowerBound * 32)..<min(rows, range.upperBound * 32)
                Q4_0Product.multiply(
                    weights: blocks.value, rows: r, columns: cols, activations: act.p, tokens: n, out: os.p, ldo: rows)
            }
        }
    }

    /// Q4_K weights, repacked like Q4_0; rows past the micro-batch's last multiple of 4 round differently.
    private static func applyQ4_K(
        _ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens n: Int, out: UnsafeMutablePointer<Float>,
        threads: Int, placement: Placement, route: KernelRoute
    ) {
        let cols = w.columns, rows = w.rows
        let xs = UncheckedBox(x), os = SendablePointer(out)
        let padded = (n + 3) / 4 * 4
        let bytes = Q4_KProduct.activationBytes(tokens: padded, columns: cols)
        _ = withActivations(bytes) { act in
            // Rows past `n` up to a multiple of 4 are read by the 4-token tiles (and not stored): keep them finite.
            let used = Q4_KProduct.activationBytes(tokens: n, columns: cols)
            (act.p + used).update(repeating: 0, count: bytes - used)
            parallelFor(n, threads: threads) { range in
                Q4_KProduct.prepare(xs.value, columns: cols, tokens: range, totalTokens: n, into: act.p)
            }
            let blocks = UncheckedBox(w.blocks!), leftover = placement.leftoverFrom(n)
            guard route.usesAVX2Integers else {
                parallelFor(rows / 16 + (rows % 16 == 0 ? 0 : 1), threads: threads) { range in
                    let r = (range.lowerBound * 16)..<min(rows, range.upperBound * 16)
                    Q4_KProduct.multiply(
                        weights: blocks.value, rows: r, columns: cols, activations: act.p, tokens: n,
                        out: os.p, ldo: rows, leftoverFrom: leftover)
                }
                return
            }
            _ = withActivations(n * VNNIKernels.q4KTokenBytes(columns: cols)) { packed in
                parallelFor(n, threads: threads) { range in
                    for t in range { Q4_KProduct.pack(act.p, columns: cols, token: t, into: packed.p) }
                }
                parallelFor((rows + 15) / 16, threads: threads) { range in
                    let panelBytes = cols / 256 * VNNIKernels.q4KBlockBytes
                    withUnsafeTemporaryAllocation(byteCount: panelBytes, alignment: 64) { panel in
                        for p in range {
                            Q4_KProduct.repack16(
                                blocks.value, firstRow: p * 16, rows: rows, columns: cols, into: panel.baseAddress!)
                            if route.usesVNNI {
                                VNNIKernels.q4KProduct(
                                    panel: panel.baseAddress!, rows: min(16, rows - p * 16), columns: cols,
                                    activations: packed.p, tokens: n, leftoverFrom: leftover,
                                    out: os.p + p * 16, ldo: rows)
                            } else {
                                AVX2Kernels.q4KProduct(
                                    panel: panel.baseAddress!, rows: min(16, rows - p * 16), columns: cols,
                                    activations: packed.p, tokens: n, leftoverFrom: leftover,
                                    out: os.p + p * 16, ldo: rows)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Q6_K and Q3_K weights: ggml's tiled K-quant product from 8 micro-batch rows on, its dot products below.
    private static func applyKTiled(
        _ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens n: Int, out: UnsafeMutablePointer<Float>,
        threads: Int, placement: Placement, route: KernelRoute
    ) {
        let cols = w.columns, rows = w.rows
        let xs = UncheckedBox(x), os = SendablePointer(out)
        let arithmetic = KQuantArithmetic.ggmlDefault(tokens: max(placement.tokens, n))
        let bytes = Q8KActivations.bytes(tokens: n, columns: cols)
        _ = withActivations(bytes) { act in
            parallelFor(n, threads: threads) { range in
                Q8KActivations.prepare(xs.value, columns: cols, tokens: range, into: act.p)
            }
            let blocks = UncheckedBox(w.blocks!), q6 = w.sourceType == .q6_K
            guard arithmetic == .tiled && route.usesAVX2Integers else {
                parallelFor(rows / 16 + (rows % 16 == 0 ? 0 : 1), threads: threads) { range in
                    let r = (range.lowerBound * 16)..<min(rows, range.upperBound * 16)
                    if q6 {
                        KQuantProduct.multiply(
                            Q6KFormat.self, weights: blocks.value, rows: r, columns: cols, activations: act.p,
                            tokens: n, out: os.p, ldo: rows, arithmetic: arithmetic)
                    } else {
                        KQuantProduct.multiply(
                            Q3KFormat.self, weights: blocks.value, rows: r, columns: cols, activations: act.p,
                            tokens: n, out: os.p, ldo: rows, arithmetic: arithmetic)
                    }
                }
                return
            }
            _ = withActivations(n * cols / 256 * VNNIKernels.kTiledActivationBytes) { packed in
                parallelFor(n, threads: threads) { range in
                    for t in range { KQuantProduct.pack(act.p, columns: cols, token: t, into: packed.p) }
                }
                parallelFor((rows + 15) / 16, threads: threads) { range in
                    withUnsafeTemporaryAllocation(byteCount: cols / 256 * VNNIKernels.kTiledBlockBytes, alignment: 64) {
                        panel in
                        for p in range {
                            if q6 {
                                KQuantProduct.repack16(
                                    Q6KFormat.self, weights: blocks.value, firstRow: p * 16, rows: rows,
                                    columns: cols, into: panel.baseAddress!)
                            } else {
                                KQuantProduct.repack16(
                                    Q3KFormat.self, weights: blocks.value, firstRow: p * 16, rows: rows,
                                    columns: cols, into: panel.baseAddress!)
                            }
                            if route.usesVNNI {
                                VNNIKernels.kTiledProduct(
                                    panel: panel.baseAddress!, rows: min(16, rows - p * 16), columns: cols,
                                    activations: packed.p, tokens: n, out: os.p + p * 16, ldo: rows)
                            } else {
                                AVX2Kernels.kTiledProduct(
                                    panel: panel.baseAddress!, rows: min(16, rows - p * 16), columns: cols,
                                    activations: packed.p, tokens: n, out: os.p + p * 16, ldo: rows)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` with a 64-byte aligned activation buffer of at least `bytes` bytes (contents undefined),
    /// taken from a pool so that a forward pass does not map and unmap megabytes per product; returns true.
    private static func withActivations(_ bytes: Int, _ body: (SendablePointer<UInt8>) -> Void) -> Bool {
        let buffer = activationPool.withLock { pool in
            if let i = pool.firstIndex(where: { $0.count >= bytes }) { return pool.remove(at: i) }
            return AlignedBuffer<UInt8>(count: bytes)
        }
        body(SendablePointer(buffer.pointer))
        activationPool.withLock { pool in
            pool.append(buffer)
            if pool.count > 8 { pool.removeFirst() }
        }
        return true
    }

    private static let activationPool = Mutex<[AlignedBuffer<UInt8>]>([])
}
