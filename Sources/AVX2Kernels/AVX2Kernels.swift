import Swift

/// Integer dot-product kernels for AVX2 (`vpmaddubsw`: 32 byte products summed in pairs into 16-bit lanes;
/// `vpmaddwd`: those pairs summed into 32-bit lanes), the instructions llama.cpp's AVX2 builds use. Swift has
/// no vector-intrinsic API and LLVM does not form `vpmaddubsw` from portable code, so this module alone is
/// compiled with `-parse-stdlib` to call the instructions' LLVM intrinsics through the compiler's `Builtin`
/// module. AVX2 and FMA are the package's baseline on x86-64, so no run-time check is needed.
///
/// `vpmaddubsw` saturates its pair sums at ±32767. Every kernel here keeps both operands within 127 in
/// magnitude (unsigned weights below 128, or the sign moved onto the activations), so no sum saturates and
/// the integers are exact: the results equal the portable kernels' bit for bit.
public enum AVX2Kernels {
    /// Whether the kernels exist in this build (x86-64 only).
    public static let available: Bool = {
        #if arch(x86_64)
        return true
        #else
        return false
        #endif
    }()

    #if arch(x86_64)
    @inline(__always)
    static func bytes(_ v: SIMD8<Int32>) -> Builtin.Vec32xInt8 { unsafeBitCast(v, to: Builtin.Vec32xInt8.self) }

    /// `Σ₄ u·s` per int32 lane, u's bytes unsigned and s's signed, both below 128 in magnitude.
    @inline(__always)
    static func dot4(_ u: Builtin.Vec32xInt8, _ s: Builtin.Vec32xInt8) -> Builtin.Vec8xInt32 {
        let pairs = Builtin.int_x86_avx2_pmadd_ub_sw(u, s)
        let ones = unsafeBitCast(SIMD16<Int16>(repeating: 1), to: Builtin.Vec16xInt16.self)
        return Builtin.int_x86_avx2_pmadd_wd(pairs, ones)
    }

    @inline(__always)
    static func add(_ a: Builtin.Vec8xInt32, _ b: Builtin.Vec8xInt32) -> Builtin.Vec8xInt32 {
        Builtin.add_Vec8xInt32(a, b)
    }

    @inline(__always)
    static func fma(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(
            Builtin.int_fma_Vec8xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec8xFPIEEE32.self), unsafeBitCast(b, to: Builtin.Vec8xFPIEEE32.self),
                unsafeBitCast(c, to: Builtin.Vec8xFPIEEE32.self)), to: SIMD8<Float>.self)
    }

    @inline(__always)
    static func multiply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(
            Builtin.fmul_Vec8xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec8xFPIEEE32.self), unsafeBitCast(b, to: Builtin.Vec8xFPIEEE32.self)),
            to: SIMD8<Float>.self)
    }

    /// Exact conversion of int32 lanes (all below 2²⁴ in magnitude) to floats.
    @inline(__always)
    static func float(_ v: Builtin.Vec8xInt32) -> SIMD8<Float> {
        unsafeBitCast(Builtin.sitofp_Vec8xInt32_Vec8xFPIEEE32(v), to: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ offset: Int) -> Builtin.Vec32xInt8 {
        unsafeBitCast(p.loadUnaligned(fromByteOffset: offset, as: SIMD32<Int8>.self), to: Builtin.Vec32xInt8.self)
    }
    #endif

    /// One token times one panel of 16 rows of group codes (the inference engine's `GroupedRows`): for each
    /// group of four columns q, the four codes of row r at bytes `q·64 + r·4 ..< +4` of `codes`; row r's
    /// scale and offset of group g at `scales[g·16 + r]`, `offsets[g·16 + r]`.
    ///
    /// `x` holds the token's activation codes (one signed byte per column, within ±127); `xsum[g]` their sum
    /// over group g and `dx[g]` the activations' scale there. Per row and group the code products are summed
    /// exactly, then, over groups in order, `acc = fma(scale·dx, Float(Σ code·x), acc)` and, with offsets,
    /// `acc = fma(offset·dx, Float(xsum), acc)`. `wide` is for codes beyond −64…63 (Q8_0, IQ4_NL): their sign
    /// moves onto the activations; narrower codes are offset by 64 and the offset's share subtracted.
    /// Stores `out[r]` for r < `rows`.
    public static func groupPanel(
        codes: UnsafeRawPointer, scales: UnsafePointer<Float>, offsets: UnsafePointer<Float>?, groups: Int,
        groupLength: Int, wide: Bool, x: UnsafeRawPointer, xsum: UnsafePointer<Int32>, dx: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, rows: Int
    ) {
        #if arch(x86_64)
        let quads = groupLength / 4
        let bias = unsafeBitCast(SIMD32<Int8>(repeating: 64), to: Builtin.Vec32xInt8.self)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var w = codes
        for g in 0..<groups {
            let zero = unsafeBitCast(SIMD8<Int32>(), to: Builtin.Vec8xInt32.self)
            var s0 = zero, s1 = zero
            let xg = x + g &* groupLength
            if wide {
                for q in 0..<quads {
                    let xb = bytes(SIMD8<Int32>(repeating: xg.loadUnaligned(fromByteOffset: q &* 4, as: Int32.self)))
                    let w0 = load(w, 0), w1 = load(w, 32)
                    s0 = add(s0, dot4(Builtin.int_x86_avx2_psign_b(w0, w0), Builtin.int_x86_avx2_psign_b(xb, w0)))
                    s1 = add(s1, dot4(Builtin.int_x86_avx2_psign_b(w1, w1), Builtin.int_x86_avx2_psign_b(xb, w1)))
                    w += 64
                }
            } else {
                for q in 0..<quads {
                    let xb = bytes(SIMD8<Int32>(repeating: xg.loadUnaligned(fromByteOffset: q &* 4, as: Int32.self)))
                    s0 = add(s0, dot4(Builtin.add_Vec32xInt8(load(w, 0), bias), xb))
                    s1 = add(s1, dot4(Builtin.add_Vec32xInt8(load(w, 32), bias), xb))
                    w += 64
                }
                let correction = unsafeBitCast(SIMD8<Int32>(repeating: 64 &* xsum[g]), to: Builtin.Vec8xInt32.self)
                s0 = Builtin.sub_Vec8xInt32(s0, correction)
                s1 = Builtin.sub_Vec8xInt32(s1, correction)
            }
            let d = SIMD8<Float>(repeating: dx[g])
            let sc = UnsafeRawPointer(scales + g &* 16)
            acc0 = fma(multiply(sc.loadUnaligned(as: SIMD8<Float>.self), d), float(s0), acc0)
            acc1 = fma(multiply(sc.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), d), float(s1), acc1)
            if let offsets {
                let o = UnsafeRawPointer(offsets + g &* 16)
                let m = SIMD8<Float>(repeating: Float(xsum[g]))
                acc0 = fma(multiply(o.loadUnaligned(as: SIMD8<Float>.self), d), m, acc0)
                acc1 = fma(multiply(o.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), d), m, acc1)
            }
        }
        if rows == 16 {
            UnsafeMutableRawPointer(out).storeBytes(of: acc0, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + 8).storeBytes(of: acc1, as: SIMD8<Float>.self)
        } else {
            for r in 0..<rows { out[r] = r < 8 ? acc0[r] : acc1[r &- 8] }
        }
        #else
        fatalError("AVX2Kernels.groupPanel called on a build without AVX2 kernels")
        #endif
    }

    /// Scratch vectors ``q0Product(codes:scales:rows:blocks:x:ldx:xs:ldxs:tokens:out:ldo:)`` needs.
    public static func q0ScratchVectors(blocks: Int) -> Int { blocks * 8 + 64 }

    /// tinyBLAS_Q0's order (Q8_0 and Q5_0 weights times Q8_0 activations) for one 16-row panel of group
    /// codes in column quads (``groupPanel(codes:scales:offsets:groups:groupLength:wide:x:xsum:dx:out:rows:)``'s
    /// layout) × `tokens` tokens: for each output and 32-block b, eight lanes j each sum the four code products
    /// of columns `32b + 4j ..< +4` exactly, and each is FMA'd with `dw·dx` into lane j's chain over the
    /// blocks; the lanes are then folded ((0+4)+(2+6))+((1+5)+(3+7)).
    ///
    /// `x` holds token t's activation codes (bytes within ±127) at `x + t·ldx`, its block scales at
    /// `xs[t·ldxs + b]`; `scales[b·16 + r]` is row r's scale of block b. Stores `out[t·ldo + r]` for
    /// r < `rows`. `scratch` holds ``q0ScratchVectors(blocks:)`` vectors of 8 floats.
    public static func q0Product(
        codes: UnsafeRawPointer, scales: UnsafePointer<Float>, rows: Int, blocks: Int,
        x: UnsafeRawPointer, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<SIMD8<Float>>
    ) {
        #if arch(x86_64)
        var t0 = 0
        while t0 < tokens {
            q0Tile(
                codes: codes, scales: scales, rows: rows, blocks: blocks, x: x + t0 &* ldx, ldx: ldx,
                xs: xs + t0 &* ldxs, ldxs: ldxs, tokens: min(4, tokens &- t0), out: out + t0 &* ldo, ldo: ldo,
                scratch: scratch)
            t0 &+= 4
        }
        #else
        fatalError("AVX2Kernels.q0Product called on a build without AVX2 kernels")
        #endif
    }

    #if arch(x86_64)
    /// ``q0Product(codes:scales:rows:blocks:x:ldx:xs:ldxs:tokens:out:ldo:scratch:)`` for `tokens` ≤ 4 (spare
    /// tokens repeat the last and are not stored).
    @inline(__always)
    static func q0Tile(
        codes: UnsafeRawPointer, scales: UnsafePointer<Float>, rows: Int, blocks: Int,
        x: UnsafeRawPointer, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<SIMD8<Float>>
    ) {
        // scale[b·8 + t·2 + h]: block b's row scales (half h) times token t's; lanes[j·8 + t·2 + h]: lane j.
        let scale = scratch, lanes = scratch + blocks &* 8
        let last = tokens &- 1
        let x0 = x, x1 = x + min(1, last) &* ldx, x2 = x + min(2, last) &* ldx, x3 = x + min(3, last) &* ldx
        let s0 = xs, s1 = xs + min(1, last) &* ldxs, s2 = xs + min(2, last) &* ldxs
        let s3 = xs + min(3, last) &* ldxs
        for b in 0..<blocks {
            let row = UnsafeRawPointer(scales + b &* 16)
            let lo = row.loadUnaligned(as: SIMD8<Float>.self),
                hi = row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let s = scale + b &* 8
            var d = SIMD8<Float>(repeating: s0[b])
            s[0] = multiply(lo, d); s[1] = multiply(hi, d)
            d = SIMD8(repeating: s1[b])
            s[2] = multiply(lo, d); s[3] = multiply(hi, d)
            d = SIMD8(repeating: s2[b])
            s[4] = multiply(lo, d); s[5] = multiply(hi, d)
            d = SIMD8(repeating: s3[b])
            s[6] = multiply(lo, d); s[7] = multiply(hi, d)
        }
        @inline(__always) func token(_ p: UnsafeRawPointer, _ q: Int) -> Builtin.Vec32xInt8 {
            bytes(SIMD8<Int32>(repeating: p.loadUnaligned(fromByteOffset: q &* 4, as: Int32.self)))
        }
        @inline(__always) func term(
            _ u: Builtin.Vec32xInt8, _ w: Builtin.Vec32xInt8, _ v: Builtin.Vec32xInt8
        )
            -> SIMD8<Float>
        {
            float(dot4(u, Builtin.int_x86_avx2_psign_b(v, w)))
        }
        for j in 0..<8 {
            var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
            var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
            for b in 0..<blocks {
                let q = b &* 8 &+ j, s = scale + b &* 8
                let wl = load(codes, q &* 64), wh = load(codes, q &* 64 &+ 32)
                let ul = Builtin.int_x86_avx2_psign_b(wl, wl), uh = Builtin.int_x86_avx2_psign_b(wh, wh)
                var v = token(x0, q)
                a0 = fma(s[0], term(ul, wl, v), a0); b0 = fma(s[1], term(uh, wh, v), b0)
                v = token(x1, q)
                a1 = fma(s[2], term(ul, wl, v), a1); b1 = fma(s[3], term(uh, wh, v), b1)
                v = token(x2, q)
                a2 = fma(s[4], term(ul, wl, v), a2); b2 = fma(s[5], term(uh, wh, v), b2)
                v = token(x3, q)
                a3 = fma(s[6], term(ul, wl, v), a3); b3 = fma(s[7], term(uh, wh, v), b3)
            }
            let l = lanes + j &* 8
            l[0] = a0; l[1] = b0; l[2] = a1; l[3] = b1; l[4] = a2; l[5] = b2; l[6] = a3; l[7] = b3
        }
        for t in 0..<tokens {
            for h in 0..<2 {
                let i = t &* 2 &+ h
                @inline(__always) func lane(_ j: Int) -> SIMD8<Float> { lanes[j &* 8 &+ i] }
                let sum = addf(
                    addf(addf(lane(0), lane(4)), addf(lane(2), lane(6))),
                    addf(addf(lane(1), lane(5)), addf(lane(3), lane(7))))
                let o = out + t &* ldo + h &* 8
                let valid = min(8, rows &- h &* 8)
                if valid == 8 {
                    UnsafeMutableRawPointer(o).storeBytes(of: sum, as: SIMD8<Float>.self)
                } else if valid > 0 {
                    for r in 0..<valid { o[r] = sum[r] }
                }
            }
        }
    }

    @inline(__always)
    static func addf(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(
            Builtin.fadd_Vec8xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec8xFPIEEE32.self), unsafeBitCast(b, to: Builtin.Vec8xFPIEEE32.self)),
            to: SIMD8<Float>.self)
    }
    #endif
}
