import Swift

// The K-quant batch products of the VNNI route (`VNNIKernels.q4KProduct`, `VNNIKernels.kTiledProduct`) with
// AVX2 integer sums, over the same repacked panels and packed activations and with the same float steps, so
// the bits are the same. A 16-row panel is taken as two halves of 8 rows (one 256-bit vector each).

extension AVX2Kernels {
    #if arch(x86_64)
    @inline(__always)
    static func load8f(_ p: UnsafeRawPointer, _ byteOffset: Int) -> SIMD8<Float> {
        p.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func subtractf(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(
            Builtin.fsub_Vec8xFPIEEE32(
                unsafeBitCast(a, to: Builtin.Vec8xFPIEEE32.self), unsafeBitCast(b, to: Builtin.Vec8xFPIEEE32.self)),
            to: SIMD8<Float>.self)
    }

    @inline(__always)
    static func broadcast(_ p: UnsafeRawPointer, _ byteOffset: Int) -> Builtin.Vec8xInt32 {
        unsafeBitCast(
            SIMD8<Int32>(repeating: p.loadUnaligned(fromByteOffset: byteOffset, as: Int32.self)),
            to: Builtin.Vec8xInt32.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ o: UnsafeMutablePointer<Float>, rows: Int) {
        if rows >= 8 {
            UnsafeMutableRawPointer(o).storeBytes(of: v, as: SIMD8<Float>.self)
        } else {
            for r in 0..<rows { o[r] = v[r] }
        }
    }
    #endif

    // MARK: Q4_K

    /// `VNNIKernels.q4KProduct` with AVX2 integer sums: the panel (`VNNIKernels.q4KBlockBytes` per super-block)
    /// and the packed tokens (`VNNIKernels.q4KTokenBytes(columns:)` each) in the same layouts, the same bits.
    /// Stores `out[t·ldo + r]` for r < `rows` (≤ 16).
    public static func q4KProduct(
        panel: UnsafeRawPointer, rows: Int, columns: Int, activations: UnsafeRawPointer,
        tokens: Int, leftoverFrom: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        #if arch(x86_64)
        let stride = columns &+ columns / 256 &* 36
        for h in 0..<2 where rows > h &* 8 {
            let valid = min(8, rows &- h &* 8)
            var t = 0
            while t < leftoverFrom {
                q4KTile(
                    panel: panel, half: h, rows: valid, columns: columns, activations: activations + t &* stride,
                    stride: stride, tokens: min(4, leftoverFrom &- t), out: out + t &* ldo + h &* 8, ldo: ldo)
                t &+= 4
            }
            t = leftoverFrom
            while t < tokens {
                store8(
                    q4KRow(panel: panel, half: h, columns: columns, activations: activations + t &* stride),
                    out + t &* ldo + h &* 8, rows: valid)
                t &+= 1
            }
        }
        #else
        fatalError("AVX2Kernels.q4KProduct called on a build without AVX2 kernels")
        #endif
    }

    #if arch(x86_64)
    static let q4KBlockBytes = 5248

    /// Σ over the 32 columns of sub-block `s` of code × activation, the 8 rows of half `h`, one token.
    @inline(__always)
    static func q4KSubBlock(
        _ codes: UnsafeRawPointer, _ h: Int, _ s: Int, _ q: UnsafeRawPointer
    )
        -> Builtin.Vec8xInt32
    {
        var sum = unsafeBitCast(SIMD8<Int32>(), to: Builtin.Vec8xInt32.self)
        for g in 0..<8 {
            let i = s &* 8 &+ g
            let x = Builtin.bitcast_Vec8xInt32_Vec32xInt8(broadcast(q, i &* 4))
            sum = add(sum, dot4(load(codes, i &* 64 &+ h &* 32), x))
        }
        return sum
    }

    /// GEMM order, `tokens` ≤ 4 (spare tokens repeat the last and are not stored), rows of half `h`.
    @inline(__always)
    static func q4KTile(
        panel: UnsafeRawPointer, half h: Int, rows: Int, columns: Int, activations: UnsafeRawPointer,
        stride: Int, tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let nb = columns / 256, last = tokens &- 1
        let x0 = activations, x1 = activations + min(1, last) &* stride
        let x2 = activations + min(2, last) &* stride, x3 = activations + min(3, last) &* stride
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var min0 = SIMD8<Float>(), min1 = SIMD8<Float>(), min2 = SIMD8<Float>(), min3 = SIMD8<Float>()
        let rowOffset = h &* 32
        for b in 0..<nb {
            let block = panel + b &* q4KBlockBytes, codes = block
            let dyOffset = columns &+ b &* 4, bsumOffset = columns &+ nb &* 4 &+ b &* 32
            @inline(__always) func dy(_ x: UnsafeRawPointer) -> SIMD8<Float> {
                SIMD8(repeating: x.loadUnaligned(fromByteOffset: dyOffset, as: Float.self))
            }
            let d = load8f(block, 5120 &+ rowOffset), dmin = load8f(block, 5184 &+ rowOffset)
            let d0 = multiply(d, dy(x0)), d1 = multiply(d, dy(x1)), d2 = multiply(d, dy(x2)), d3 = multiply(d, dy(x3))
            let m0 = multiply(dmin, dy(x0)), m1 = multiply(dmin, dy(x1)), m2 = multiply(dmin, dy(x2))
            let m3 = multiply(dmin, dy(x3))
            let q0 = x0 + b &* 256, q1 = x1 + b &* 256, q2 = x2 + b &* 256, q3 = x3 + b &* 256
            for p in 0..<4 {
                let lo = 2 &* p, hi = lo &+ 1
                let scLo = load8f(block, 4096 &+ lo &* 64 &+ rowOffset)
                let scHi = load8f(block, 4096 &+ hi &* 64 &+ rowOffset)
                let mnLo = load8f(block, 4608 &+ lo &* 64 &+ rowOffset)
                let mnHi = load8f(block, 4608 &+ hi &* 64 &+ rowOffset)
                // isum = sc[lo]·S(lo) + sc[hi]·S(hi) and imin = mn[lo]·bsum[lo] + mn[hi]·bsum[hi]: exact in floats.
                @inline(__always) func isum(_ q: UnsafeRawPointer) -> SIMD8<Float> {
                    fma(
                        float(q4KSubBlock(codes, h, hi, q)), scHi,
                        multiply(float(q4KSubBlock(codes, h, lo, q)), scLo))
                }
                @inline(__always) func imin(_ x: UnsafeRawPointer) -> SIMD8<Float> {
                    let bl = x.loadUnaligned(fromByteOffset: bsumOffset &+ lo &* 4, as: Float.self)
                    let bh = x.loadUnaligned(fromByteOffset: bsumOffset &+ hi &* 4, as: Float.self)
                    return fma(mnHi, SIMD8(repeating: bh), multiply(mnLo, SIMD8(repeating: bl)))
                }
                acc0 = fma(isum(q0), d0, acc0); min0 = fma(imin(x0), m0, min0)
                acc1 = fma(isum(q1), d1, acc1); min1 = fma(imin(x1), m1, min1)
                acc2 = fma(isum(q2), d2, acc2); min2 = fma(imin(x2), m2, min2)
                acc3 = fma(isum(q3), d3, acc3); min3 = fma(imin(x3), m3, min3)
            }
        }
        @inline(__always) func put(_ t: Int, _ v: SIMD8<Float>) {
            if t < tokens { store8(v, out + t &* ldo, rows: rows) }
        }
        put(0, subtractf(acc0, min0)); put(1, subtractf(acc1, min1)); put(2, subtractf(acc2, min2))
        put(3, subtractf(acc3, min3))
    }

    /// GEMV order for one token, rows of half `h`: the super-block's integer sum Σ sc·S over all 8
    /// sub-blocks in int32, then one rounding to float.
    @inline(__always)
    static func q4KRow(
        panel: UnsafeRawPointer, half h: Int, columns: Int, activations x: UnsafeRawPointer
    )
        -> SIMD8<Float>
    {
        let nb = columns / 256, rowOffset = h &* 32
        var acc = SIMD8<Float>(), accMin = SIMD8<Float>()
        for b in 0..<nb {
            let block = panel + b &* q4KBlockBytes
            let dy = SIMD8<Float>(repeating: x.loadUnaligned(fromByteOffset: columns &+ b &* 4, as: Float.self))
            var isum = unsafeBitCast(SIMD8<Int32>(), to: Builtin.Vec8xInt32.self)
            var imin = SIMD8<Float>()
            for s in 0..<8 {
                let sc = Builtin.fptosi_Vec8xFPIEEE32_Vec8xInt32(
                    unsafeBitCast(load8f(block, 4096 &+ s &* 64 &+ rowOffset), to: Builtin.Vec8xFPIEEE32.self))
                isum = add(isum, Builtin.mul_Vec8xInt32(q4KSubBlock(block, h, s, x + b &* 256), sc))
                let bsum = x.loadUnaligned(fromByteOffset: columns &+ nb &* 4 &+ (b &* 8 &+ s) &* 4, as: Float.self)
                imin = fma(load8f(block, 4608 &+ s &* 64 &+ rowOffset), SIMD8(repeating: bsum), imin)
            }
            acc = fma(float(isum), multiply(load8f(block, 5120 &+ rowOffset), dy), acc)
            accMin = fma(imin, multiply(load8f(block, 5184 &+ rowOffset), dy), accMin)
        }
        return subtractf(acc, accMin)
    }
    #endif

    // MARK: Q6_K and Q3_K

    /// `VNNIKernels.kTiledProduct` with AVX2 integer sums (`vpmaddwd`): the panel
    /// (`VNNIKernels.kTiledBlockBytes` per super-block) and the packed tokens in the same layouts, the same
    /// bits. Stores `out[t·ldo + r]` for r < `rows` (≤ 16).
    public static func kTiledProduct(
        panel: UnsafeRawPointer, rows: Int, columns: Int, activations: UnsafeRawPointer,
        tokens: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        #if arch(x86_64)
        let nb = columns / 256, blockBytes = 8256, tokenBytes = 516, stride = nb &* tokenBytes
        @inline(__always) func dot16(
            _ acc: Builtin.Vec8xInt32, _ w: Builtin.Vec8xInt32, _ x: Builtin.Vec8xInt32
        )
            -> Builtin.Vec8xInt32
        {
            add(
                acc,
                Builtin.int_x86_avx2_pmadd_wd(
                    Builtin.bitcast_Vec8xInt32_Vec16xInt16(w), Builtin.bitcast_Vec8xInt32_Vec16xInt16(x)))
        }
        for h in 0..<2 where rows > h &* 8 {
            let valid = min(8, rows &- h &* 8), rowOffset = h &* 32
            var t = 0
            while t < tokens {
                let last = min(4, tokens &- t) &- 1
                let x0 = activations + t &* stride, x1 = x0 + min(1, last) &* stride
                let x2 = x0 + min(2, last) &* stride, x3 = x0 + min(3, last) &* stride
                var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
                for b in 0..<nb {
                    let w = panel + b &* blockBytes, offset = b &* tokenBytes
                    let zero = unsafeBitCast(SIMD8<Int32>(), to: Builtin.Vec8xInt32.self)
                    // Two partial sums per token (even and odd pairs) keep eight independent chains in flight.
                    var e0 = zero, e1 = zero, e2 = zero, e3 = zero, o0 = zero, o1 = zero, o2 = zero, o3 = zero
                    var c = 0
                    while c < 128 {
                        let we = unsafeBitCast(
                            w.loadUnaligned(fromByteOffset: c &* 64 &+ rowOffset, as: SIMD8<Int32>.self),
                            to: Builtin.Vec8xInt32.self)
                        let wo = unsafeBitCast(
                            w.loadUnaligned(fromByteOffset: c &* 64 &+ 64 &+ rowOffset, as: SIMD8<Int32>.self),
                            to: Builtin.Vec8xInt32.self)
                        let pe = offset &+ c &* 4, po = pe &+ 4
                        e0 = dot16(e0, we, broadcast(x0, pe)); e1 = dot16(e1, we, broadcast(x1, pe))
                        e2 = dot16(e2, we, broadcast(x2, pe)); e3 = dot16(e3, we, broadcast(x3, pe))
                        o0 = dot16(o0, wo, broadcast(x0, po)); o1 = dot16(o1, wo, broadcast(x1, po))
                        o2 = dot16(o2, wo, broadcast(x2, po)); o3 = dot16(o3, wo, broadcast(x3, po))
                        c &+= 2
                    }
                    let d = load8f(w, 8192 &+ rowOffset)
                    @inline(__always) func dy(_ x: UnsafeRawPointer) -> SIMD8<Float> {
                        SIMD8(repeating: x.loadUnaligned(fromByteOffset: offset &+ 512, as: Float.self))
                    }
                    acc0 = fma(multiply(float(add(e0, o0)), d), dy(x0), acc0)
                    acc1 = fma(multiply(float(add(e1, o1)), d), dy(x1), acc1)
                    acc2 = fma(multiply(float(add(e2, o2)), d), dy(x2), acc2)
                    acc3 = fma(multiply(float(add(e3, o3)), d), dy(x3), acc3)
                }
                let o = out + t &* ldo + h &* 8
                store8(acc0, o, rows: valid)
                if last >= 1 { store8(acc1, o + ldo, rows: valid) }
                if last >= 2 { store8(acc2, o + 2 &* ldo, rows: valid) }
                if last >= 3 { store8(acc3, o + 3 &* ldo, rows: valid) }
                t &+= 4
            }
        }
        #else
        fatalError("AVX2Kernels.kTiledProduct called on a build without AVX2 kernels")
        #endif
    }
}
