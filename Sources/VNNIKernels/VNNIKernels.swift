import Foundation
import Swift

// The x86-64 instructions below exist only there; other architectures get the stub at the end.
#if arch(x86_64)

/// Integer dot-product tiles for CPUs with AVX-512 VNNI (`vpdpbusd`: 64 byte products summed in fours into
/// 16 int32 lanes, one instruction). Swift has no vector-intrinsic API and LLVM does not form `vpdpbusd` from
/// portable code, so this module alone is compiled with `-parse-stdlib` to call the instruction's LLVM
/// intrinsic through the compiler's `Builtin` module, and for `cascadelake` (Skylake-AVX-512 plus VNNI);
/// it runs only after the run-time check ``available``.
///
/// Integer sums are exact, so these tiles return the same bits as the float tiles in `WideKernels` that
/// compute the same integers with float FMAs.
public enum VNNIKernels {
    /// Whether this CPU and OS run every instruction set `cascadelake` code may use: AVX-512 F, CD, BW, DQ,
    /// VL and VNNI (flags of /proc/cpuinfo, shown only when the kernel saves the AVX-512 state).
    /// `KILN_NO_AVX512` or `KILN_NO_VNNI` in the environment turns these tiles off.
    public static let available: Bool = {
        #if os(Linux) && arch(x86_64)
        let environment = ProcessInfo.processInfo.environment
        if environment["KILN_NO_AVX512"] != nil || environment["KILN_NO_VNNI"] != nil { return false }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let flags = Set(line.split(separator: " ").map(String.init))
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"].allSatisfy(flags.contains)
        #else
        return false
        #endif
    }()

    /// `acc + Σ₄ u·s` per int32 lane: bytes of `u` unsigned, of `s` signed (`vpdpbusd`, no saturation).
    @inline(__always)
    static func dot(_ acc: SIMD16<Int32>, _ u: SIMD16<Int32>, _ s: SIMD16<Int32>) -> SIMD16<Int32> {
        let r = Builtin.int_x86_avx512_vpdpbusd_512(
            unsafeBitCast(acc, to: Builtin.Vec16xInt32.self), unsafeBitCast(u, to: Builtin.Vec16xInt32.self),
            unsafeBitCast(s, to: Builtin.Vec16xInt32.self))
        return unsafeBitCast(r, to: SIMD16<Int32>.self)
    }

    /// Exact conversion of int32 lanes to floats (`vcvtdq2ps`).
    @inline(__always)
    static func float(_ v: SIMD16<Int32>) -> SIMD16<Float> {
        unsafeBitCast(
            Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(unsafeBitCast(v, to: Builtin.Vec16xInt32.self)),
            to: SIMD16<Float>.self)
    }

    /// Stores the first `rows` lanes of `v` at `o` (all 16 in one store when the panel is full).
    @inline(__always)
    static func store(_ v: SIMD16<Float>, _ o: UnsafeMutablePointer<Float>, rows: Int) {
        if rows == 16 {
            UnsafeMutableRawPointer(o).storeBytes(of: v, as: SIMD16<Float>.self)
        } else {
            for r in 0..<rows { o[r] = v[r] }
        }
    }

    /// `a·b + c` rounded once per lane. (The standard library's `addProduct` is not vectorized in a module
    /// compiled with `-parse-stdlib`, so the float steps here use builtins too.)
    @inline(__always)
    static func fma(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(
            Builtin.int_fma_Vec16xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self),
                unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self),
                unsafeBitCast(c, to: Builtin.Vec16xFPIEEE32.self)), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func add(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(
            Builtin.fadd_Vec16xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self),
                unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self)), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func multiply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(
            Builtin.fmul_Vec16xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self),
                unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self)), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func load16<T: SIMDScalar>(_ p: UnsafeRawPointer, _ byteOffset: Int, as: T.Type) -> SIMD16<T> {
        p.loadUnaligned(fromByteOffset: byteOffset, as: SIMD16<T>.self)
    }

    /// Bytes of one panel of 16 rows for `columns` weights a row, in the layout ``q0Tile`` reads.
    public static func panelBytes(columns: Int) -> Int { columns * 16 }

    /// One panel of 16 rows of int8 codes, stored in column quads (for each group of four columns g, the four
    /// codes of row r at bytes `g·64 + r·4 ..< +4`, the layout ``q0Tile`` reads), each offset by 128 to an
    /// unsigned byte. `count` is a multiple of 64.
    public static func offsetCodes(_ codes: UnsafeRawPointer, count: Int, into panel: UnsafeMutableRawPointer) {
        var i = 0
        while i < count {
            let v = codes.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt32>.self)
            panel.storeBytes(of: v ^ SIMD16(repeating: 0x8080_8080), toByteOffset: i, as: SIMD16<UInt32>.self)
            i = i &+ 64
        }
    }

    /// tinyBLAS_Q0's order for two repacked 16-row panels (A, B) × `tokens` tokens of packed Q8_0 activations
    /// (per group of four columns, the four codes as bytes of an Int32 and then −128 × their sum, which cancels
    /// the weights' offset; `ldx` Int32s apart, a scale per block `xs[t·ldxs + b]`).
    /// `scales[b·16 + r]` is row r's F16 scale of block b. For each output and block, eight lanes j each sum
    /// four code products exactly (`vpdpbusd`), and each is FMA'd with `dw·dx` into lane j's chain over the
    /// blocks; the lanes are then folded ((0+4)+(2+6))+((1+5)+(3+7)). Stores `out[t·ldo + r]` (panel A) and
    /// `out[t·ldo + 16 + r]` (panel B) for r < `rowsA` / `rowsB`.
    public static func q0Product(
        panelA: UnsafeRawPointer, scalesA: UnsafePointer<Float>, rowsA: Int,
        panelB: UnsafeRawPointer, scalesB: UnsafePointer<Float>, rowsB: Int, blocks: Int,
        x: UnsafePointer<Int32>, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: blocks * 8 + 64) { buffer in
            var t = 0
            while t < tokens {
                q0Tile(
                    panelA: panelA, scalesA: scalesA, rowsA: rowsA, panelB: panelB, scalesB: scalesB, rowsB: rowsB,
                    blocks: blocks, x: x + t * ldx, ldx: ldx, xs: xs + t * ldxs, ldxs: ldxs, tokens: min(4, tokens - t),
                    out: out + t * ldo, ldo: ldo, scratch: buffer.baseAddress!)
                t += 4
            }
        }
    }

    /// ``q0Product(panelA:scalesA:rowsA:panelB:scalesB:rowsB:blocks:x:ldx:xs:ldxs:tokens:out:ldo:)`` for
    /// `tokens` ≤ 4 (spare tokens repeat the last and are not stored); `scratch` holds `blocks · 8 + 64` vectors.
    @inline(__always)
    static func q0Tile(
        panelA: UnsafeRawPointer, scalesA: UnsafePointer<Float>, rowsA: Int,
        panelB: UnsafeRawPointer, scalesB: UnsafePointer<Float>, rowsB: Int, blocks: Int,
        x: UnsafePointer<Int32>, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<SIMD16<Float>>
    ) {
        // scale[b·8 + t·2 + p]: the block's row scales times token t's; lanes[j·8 + t·2 + p]: lane j's chain.
        let scale = scratch, lanes = scale + blocks * 8
        let last = tokens - 1
        let x0 = x, x1 = x + min(1, last) * ldx, x2 = x + min(2, last) * ldx, x3 = x + min(3, last) * ldx
        let s0 = xs, s1 = xs + min(1, last) * ldxs, s2 = xs + min(2, last) * ldxs, s3 = xs + min(3, last) * ldxs
        for b in 0..<blocks {
            let da = load16(scalesA, b &* 64, as: Float.self), db = load16(scalesB, b &* 64, as: Float.self)
            let s = scale + b &* 8
            s[0] = multiply(da, SIMD16(repeating: s0[b])); s[1] = multiply(db, SIMD16(repeating: s0[b]))
            s[2] = multiply(da, SIMD16(repeating: s1[b])); s[3] = multiply(db, SIMD16(repeating: s1[b]))
            s[4] = multiply(da, SIMD16(repeating: s2[b])); s[5] = multiply(db, SIMD16(repeating: s2[b]))
            s[6] = multiply(da, SIMD16(repeating: s3[b])); s[7] = multiply(db, SIMD16(repeating: s3[b]))
        }
        for j in 0..<8 {
            var a0 = SIMD16<Float>(), b0 = SIMD16<Float>(), a1 = SIMD16<Float>(), b1 = SIMD16<Float>()
            var a2 = SIMD16<Float>(), b2 = SIMD16<Float>(), a3 = SIMD16<Float>(), b3 = SIMD16<Float>()
            for b in 0..<blocks {
                let g = b &* 8 &+ j, s = scale + b &* 8
                let wa = load16(panelA, g &* 64, as: Int32.self), wb = load16(panelB, g &* 64, as: Int32.self)
                var c = SIMD16<Int32>(repeating: x0[2 &* g &+ 1]), v = SIMD16<Int32>(repeating: x0[2 &* g])
                a0 = fma(s[0], float(dot(c, wa, v)), a0); b0 = fma(s[1], float(dot(c, wb, v)), b0)
                c = SIMD16(repeating: x1[2 &* g &+ 1]); v = SIMD16(repeating: x1[2 &* g])
                a1 = fma(s[2], float(dot(c, wa, v)), a1); b1 = fma(s[3], float(dot(c, wb, v)), b1)
                c = SIMD16(repeating: x2[2 &* g &+ 1]); v = SIMD16(repeating: x2[2 &* g])
                a2 = fma(s[4], float(dot(c, wa, v)), a2); b2 = fma(s[5], float(dot(c, wb, v)), b2)
                c = SIMD16(repeating: x3[2 &* g &+ 1]); v = SIMD16(repeating: x3[2 &* g])
                a3 = fma(s[6], float(dot(c, wa, v)), a3); b3 = fma(s[7], float(dot(c, wb, v)), b3)
            }
            let l = lanes + j &* 8
            l[0] = a0; l[1] = b0; l[2] = a1; l[3] = b1; l[4] = a2; l[5] = b2; l[6] = a3; l[7] = b3
        }
        for t in 0..<tokens {
            for p in 0..<2 {
                let i = t &* 2 &+ p
                @inline(__always) func lane(_ j: Int) -> SIMD16<Float> { lanes[j &* 8 &+ i] }
                let sum = add(
                    add(add(lane(0), lane(4)), add(lane(2), lane(6))), add(add(lane(1), lane(5)), add(lane(3), lane(7)))
                )
                store(sum, out + t * ldo + p * 16, rows: p == 0 ? rowsA : rowsB)
            }
        }
    }
}

// MARK: - Q4_K

extension VNNIKernels {
    /// Bytes of one super-block (256 columns) of a repacked 16-row Q4_K panel: the 4-bit codes as bytes,
    /// for each group of four columns g (0…63) the four codes of row r at `g·64 + r·4`; then six-bit
    /// sub-block scales and mins as floats (`4096 + (s·16 + r)·4` and `4608 + …` for sub-blocks s = 0…7);
    /// then `d` and `dmin` (`5120 + r·4`, `5184 + r·4`).
    public static let q4KBlockBytes = 5248

    /// Bytes per token of Q4_K activations: the Q8_K codes (`columns` bytes), then per super-block its
    /// scale (a float), then per 32 columns the codes' sum (a float).
    public static func q4KTokenBytes(columns: Int) -> Int { columns + columns / 256 * 36 }

    /// Q4_K panel × Q8_K tokens in llama.cpp's repacked order (see `Q4_KProduct` in Inference): tokens
    /// before `leftoverFrom` in its GEMM order (per pair of sub-blocks, `acc = fma(isum, d·dy, acc)`), the
    /// rest in its GEMV order (`isum` over the whole super-block, rounded once to float); `out = acc − accMin`.
    /// Integer sums come from `vpdpbusd` and are exact. Stores `out[t·ldo + r]` for r < `rows` (≤ 16).
    public static func q4KProduct(
        panel: UnsafeRawPointer, rows: Int, columns: Int, activations: UnsafeRawPointer,
        tokens: Int, leftoverFrom: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let stride = q4KTokenBytes(columns: columns)
        var t = 0
        while t < leftoverFrom {
            let count = min(4, leftoverFrom - t)
            q4KTile(
                panel: panel, rows: rows, columns: columns, activations: activations + t * stride, stride: stride,
                tokens: count, out: out + t * ldo, ldo: ldo)
            t += 4
        }
        t = leftoverFrom
        while t < tokens {
            store(
                q4KRow(panel: panel, columns: columns, activations: activations + t * stride), out + t * ldo, rows: rows
            )
            t += 1
        }
    }

    @inline(__always)
    static func subtract(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(
            Builtin.fsub_Vec16xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self),
                unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self)), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ byteOffset: Int) -> SIMD16<Float> {
        p.loadUnaligned(fromByteOffset: byteOffset, as: SIMD16<Float>.self)
    }

    /// Σ over the 32 columns of sub-block `s` of code × activation, 16 rows at once, for one token.
    @inline(__always)
    static func q4KSubBlock(_ codes: UnsafeRawPointer, _ s: Int, _ q: UnsafeRawPointer) -> SIMD16<Int32> {
        var sum = SIMD16<Int32>()
        for g in 0..<8 {
            let i = s &* 8 &+ g
            sum = dot(
                sum, codes.loadUnaligned(fromByteOffset: i &* 64, as: SIMD16<Int32>.self),
                SIMD16(repeating: q.loadUnaligned(fromByteOffset: i &* 4, as: Int32.self)))
        }
        return sum
    }

    /// GEMM order, `tokens` ≤ 4 (spare tokens repeat the last and are not stored).
    @inline(__always)
    static func q4KTile(
        panel: UnsafeRawPointer, rows: Int, columns: Int, activations: UnsafeRawPointer, stride: Int,
        tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let nb = columns / 256, last = tokens - 1
        let x0 = activations, x1 = activations + min(1, last) * stride
        let x2 = activations + min(2, last) * stride, x3 = activations + min(3, last) * stride
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        var min0 = SIMD16<Float>(), min1 = SIMD16<Float>(), min2 = SIMD16<Float>(), min3 = SIMD16<Float>()
        for b in 0..<nb {
            let block = panel + b &* q4KBlockBytes, codes = block
            let dyOffset = columns &+ b &* 4, bsumOffset = columns &+ nb &* 4 &+ b &* 32
            @inline(__always) func dy(_ x: UnsafeRawPointer) -> SIMD16<Float> {
                SIMD16(repeating: x.loadUnaligned(fromByteOffset: dyOffset, as: Float.self))
            }
            let d = load(block, 5120), dmin = load(block, 5184)
            let d0 = multiply(d, dy(x0)), d1 = multiply(d, dy(x1)), d2 = multiply(d, dy(x2)), d3 = multiply(d, dy(x3))
            let m0 = multiply(dmin, dy(x0)), m1 = multiply(dmin, dy(x1)), m2 = multiply(dmin, dy(x2)),
                m3 = multiply(dmin, dy(x3))
            let q0 = x0 + b &* 256, q1 = x1 + b &* 256, q2 = x2 + b &* 256, q3 = x3 + b &* 256
            for p in 0..<4 {
                let lo = 2 &* p, hi = lo &+ 1
                let scLo = load(block, 4096 &+ lo &* 64), scHi = load(block, 4096 &+ hi &* 64)
                let mnLo = load(block, 4608 &+ lo &* 64), mnHi = load(block, 4608 &+ hi &* 64)
                // isum = sc[lo]·S(lo) + sc[hi]·S(hi) and imin = mn[lo]·bsum[lo] + mn[hi]·bsum[hi]: exact in floats.
                @inline(__always) func isum(_ q: UnsafeRawPointer) -> SIMD16<Float> {
                    fma(float(q4KSubBlock(codes, hi, q)), scHi, multiply(float(q4KSubBlock(codes, lo, q)), scLo))
                }
                @inline(__always) func imin(_ x: UnsafeRawPointer) -> SIMD16<Float> {
                    let bl = x.loadUnaligned(fromByteOffset: bsumOffset &+ lo &* 4, as: Float.self)
                    let bh = x.loadUnaligned(fromByteOffset: bsumOffset &+ hi &* 4, as: Float.self)
                    return fma(mnHi, SIMD16(repeating: bh), multiply(mnLo, SIMD16(repeating: bl)))
                }
                acc0 = fma(isum(q0), d0, acc0); min0 = fma(imin(x0), m0, min0)
                acc1 = fma(isum(q1), d1, acc1); min1 = fma(imin(x1), m1, min1)
                acc2 = fma(isum(q2), d2, acc2); min2 = fma(imin(x2), m2, min2)
                acc3 = fma(isum(q3), d3, acc3); min3 = fma(imin(x3), m3, min3)
            }
        }
        @inline(__always) func put(_ t: Int, _ v: SIMD16<Float>) {
            if t < tokens { store(v, out + t * ldo, rows: rows) }
        }
        put(0, subtract(acc0, min0)); put(1, subtract(acc1, min1)); put(2, subtract(acc2, min2));
        put(3, subtract(acc3, min3))
    }

    /// GEMV order for one token: the super-block's integer sum Σ sc·S over all 8 sub-blocks in int32, then
    /// one rounding to float.
    @inline(__always)
    static func q4KRow(panel: UnsafeRawPointer, columns: Int, activations x: UnsafeRawPointer) -> SIMD16<Float> {
        let nb = columns / 256
        var acc = SIMD16<Float>(), accMin = SIMD16<Float>()
        for b in 0..<nb {
            let block = panel + b &* q4KBlockBytes
            let dy = SIMD16<Float>(repeating: x.loadUnaligned(fromByteOffset: columns &+ b &* 4, as: Float.self))
            var isum = SIMD16<Int32>(), imin = SIMD16<Float>()
            for s in 0..<8 {
                let sc = unsafeBitCast(
                    Builtin.fptosi_Vec16xFPIEEE32_Vec16xInt32(
                        unsafeBitCast(load(block, 4096 &+ s &* 64), to: Builtin.Vec16xFPIEEE32.self)),
                    to: SIMD16<Int32>.self)
                let product = Builtin.mul_Vec16xInt32(
                    unsafeBitCast(q4KSubBlock(block, s, x + b &* 256), to: Builtin.Vec16xInt32.self),
                    unsafeBitCast(sc, to: Builtin.Vec16xInt32.self))
                isum = unsafeBitCast(
                    Builtin.add_Vec16xInt32(unsafeBitCast(isum, to: Builtin.Vec16xInt32.self), product),
                    to: SIMD16<Int32>.self)
                let bsum = x.loadUnaligned(fromByteOffset: columns &+ nb &* 4 &+ (b &* 8 &+ s) &* 4, as: Float.self)
                imin = fma(load(block, 4608 &+ s &* 64), SIMD16(repeating: bsum), imin)
            }
            acc = fma(float(isum), multiply(load(block, 5120), dy), acc)
            accMin = fma(imin, multiply(load(block, 5184), dy), accMin)
        }
        return subtract(acc, accMin)
    }
}

// MARK: - Q6_K and Q3_K (ggml's tiled K-quant order)

extension VNNIKernels {
    /// Bytes of one super-block (256 columns) of a repacked 16-row K-quant panel: for each column pair c
    /// (0…127) the two 16-bit weights sc·(q − B) of row r at `c·64 + r·4` (column 2c in the low half); then
    /// the rows' super-block scales `d` as floats at `8192 + r·4`.
    public static let kTiledBlockBytes = 8256

    /// Bytes per token and super-block of K-quant activations: the Q8_K codes as 16-bit pairs (column 2c
    /// in the low half of Int32 c), then the block's scale (a float).
    public static let kTiledActivationBytes = 516

    /// `acc + a.low·b.low + a.high·b.high` per int32 lane, 16-bit halves signed (`vpdpwssd`).
    @inline(__always)
    static func dot16(_ acc: SIMD16<Int32>, _ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
        let r = Builtin.int_x86_avx512_vpdpwssd_512(
            unsafeBitCast(acc, to: Builtin.Vec16xInt32.self), unsafeBitCast(a, to: Builtin.Vec16xInt32.self),
            unsafeBitCast(b, to: Builtin.Vec16xInt32.self))
        return unsafeBitCast(r, to: SIMD16<Int32>.self)
    }

    @inline(__always)
    static func add(_ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
        unsafeBitCast(
            Builtin.add_Vec16xInt32(
                unsafeBitCast(a, to: Builtin.Vec16xInt32.self),
                unsafeBitCast(b, to: Builtin.Vec16xInt32.self)), to: SIMD16<Int32>.self)
    }

    /// ggml's tiled K-quant product for one repacked panel × `tokens` tokens: per output, per super-block,
    /// the exact integer S = Σ sc·(q − B)·a (int32, from `vpdpwssd`), then `acc = fma(Float(S)·d, dy, acc)`.
    /// Stores `out[t·ldo + r]` for r < `rows` (≤ 16).
    public static func kTiledProduct(
        panel: UnsafeRawPointer, rows: Int, columns: Int, activations: UnsafeRawPointer,
        tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let nb = columns / 256, stride = nb * kTiledActivationBytes
        var t = 0
        while t < tokens {
            let last = min(4, tokens - t) - 1
            let x0 = activations + t * stride, x1 = x0 + min(1, last) * stride
            let x2 = x0 + min(2, last) * stride, x3 = x0 + min(3, last) * stride
            var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
            for b in 0..<nb {
                let w = panel + b &* kTiledBlockBytes, offset = b &* kTiledActivationBytes
                // Two partial sums per token (even and odd pairs) keep eight independent chains in flight.
                var e0 = SIMD16<Int32>(), e1 = SIMD16<Int32>(), e2 = SIMD16<Int32>(), e3 = SIMD16<Int32>()
                var o0 = SIMD16<Int32>(), o1 = SIMD16<Int32>(), o2 = SIMD16<Int32>(), o3 = SIMD16<Int32>()
                @inline(__always) func pair(_ x: UnsafeRawPointer, _ c: Int) -> SIMD16<Int32> {
                    SIMD16(repeating: x.loadUnaligned(fromByteOffset: offset &+ c &* 4, as: Int32.self))
                }
                var c = 0
                while c < 128 {
                    let we = w.loadUnaligned(fromByteOffset: c &* 64, as: SIMD16<Int32>.self)
                    let wo = w.loadUnaligned(fromByteOffset: c &* 64 &+ 64, as: SIMD16<Int32>.self)
                    e0 = dot16(e0, we, pair(x0, c)); e1 = dot16(e1, we, pair(x1, c))
                    e2 = dot16(e2, we, pair(x2, c)); e3 = dot16(e3, we, pair(x3, c))
                    o0 = dot16(o0, wo, pair(x0, c &+ 1)); o1 = dot16(o1, wo, pair(x1, c &+ 1))
                    o2 = dot16(o2, wo, pair(x2, c &+ 1)); o3 = dot16(o3, wo, pair(x3, c &+ 1))
                    c &+= 2
                }
                let d = load(w, 8192)
                @inline(__always) func dy(_ x: UnsafeRawPointer) -> SIMD16<Float> {
                    SIMD16(repeating: x.loadUnaligned(fromByteOffset: offset &+ 512, as: Float.self))
                }
                acc0 = fma(multiply(float(add(e0, o0)), d), dy(x0), acc0)
                acc1 = fma(multiply(float(add(e1, o1)), d), dy(x1), acc1)
                acc2 = fma(multiply(float(add(e2, o2)), d), dy(x2), acc2)
                acc3 = fma(multiply(float(add(e3, o3)), d), dy(x3), acc3)
            }
            @inline(__always) func put(_ i: Int, _ v: SIMD16<Float>) {
                if i <= last { store(v, out + (t + i) * ldo, rows: rows) }
            }
            put(0, acc0); put(1, acc1); put(2, acc2); put(3, acc3)
            t += 4
        }
    }
}

#else

/// Other architectures have no VNNI: the same interface, never available, so callers compile unchanged.
public enum VNNIKernels {
    public static let available = false
    public static func panelBytes(columns: Int) -> Int { columns * 16 }
    public static let q4KBlockBytes = 5248
    public static func q4KTokenBytes(columns: Int) -> Int { columns + columns / 256 * 36 }
    public static let kTiledBlockBytes = 8256
    public static let kTiledActivationBytes = 516

    public static func offsetCodes(_ codes: UnsafeRawPointer, count: Int, into panel: UnsafeMutableRawPointer) {
        fatalError("VNNIKernels called on a build without them")
    }

    public static func q0Product(
        panelA: UnsafeRawPointer, scalesA: UnsafePointer<Float>, rowsA: Int,
        panelB: UnsafeRawPointer, scalesB: UnsafePointer<Float>, rowsB: Int, blocks: Int,
        x: UnsafePointer<Int32>, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        fatalError("VNNIKernels called on a build without them")
    }

    public static func q4KProduct(
        panel: UnsafeRawPointer, rows: Int, columns: Int, activations: UnsafeRawPointer,
        tokens: Int, leftoverFrom: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        fatalError("VNNIKernels called on a build without them")
    }

    public static func kTiledProduct(
        panel: UnsafeRawPointer, rows: Int, columns: Int, activations: UnsafeRawPointer,
        tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        fatalError("VNNIKernels called on a build without them")
    }
}
#endif
