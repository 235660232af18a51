import Swift
import Foundation

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
        unsafeBitCast(Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(unsafeBitCast(v, to: Builtin.Vec16xInt32.self)),
                      to: SIMD16<Float>.self)
    }

    /// `a·b + c` rounded once per lane. (The standard library's `addProduct` is not vectorized in a module
    /// compiled with `-parse-stdlib`, so the float steps here use builtins too.)
    @inline(__always)
    static func fma(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(Builtin.int_fma_Vec16xFPIEEE32(unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self),
                                                     unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self),
                                                     unsafeBitCast(c, to: Builtin.Vec16xFPIEEE32.self)), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func add(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(Builtin.fadd_Vec16xFPIEEE32(unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self),
                                                  unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self)), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func multiply(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(Builtin.fmul_Vec16xFPIEEE32(unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self),
                                                  unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self)), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func load16<T: SIMDScalar>(_ p: UnsafeRawPointer, _ byteOffset: Int, as: T.Type) -> SIMD16<T> {
        p.loadUnaligned(fromByteOffset: byteOffset, as: SIMD16<T>.self)
    }

    /// Bytes of one panel of 16 rows for `columns` weights a row, in the layout ``q0Tile`` reads.
    public static func panelBytes(columns: Int) -> Int { columns * 16 }

    /// Repacks one panel of 16 rows of int8 codes, stored k-major (`codes[k·16 + r]`), for ``q0Tile``:
    /// for each group of four columns g = k/4, the four codes of row r at bytes `g·64 + r·4 ..< +4`, each
    /// offset by 128 to an unsigned byte.
    public static func repack(codes: UnsafePointer<Int8>, columns: Int, into panel: UnsafeMutableRawPointer) {
        let out = panel.assumingMemoryBound(to: UInt8.self)
        for g in 0..<(columns / 4) {
            for r in 0..<16 {
                for e in 0..<4 {
                    out[g &* 64 &+ r &* 4 &+ e] = UInt8(truncatingIfNeeded: Int(codes[(g &* 4 &+ e) &* 16 &+ r]) &+ 128)
                }
            }
        }
    }

    /// One token's Q8_0 codes for ``q0Tile``: per group of four columns, the four codes packed into an
    /// Int32 (little-endian) followed by −128 × their sum, which cancels the weights' offset of 128.
    /// `activations` holds `columns / 2` Int32s.
    public static func packActivations(codes: UnsafePointer<Int8>, columns: Int, into activations: UnsafeMutablePointer<Int32>) {
        let raw = UnsafeRawPointer(codes)
        for g in 0..<(columns / 4) {
            let c = codes + g &* 4
            activations[2 &* g] = raw.loadUnaligned(fromByteOffset: g &* 4, as: Int32.self)
            activations[2 &* g &+ 1] = -128 &* (Int32(c[0]) &+ Int32(c[1]) &+ Int32(c[2]) &+ Int32(c[3]))
        }
    }

    /// tinyBLAS_Q0's order for two repacked 16-row panels (A, B) × `tokens` tokens of packed Q8_0 activations
    /// (``packActivations(codes:columns:into:)``, `ldx` Int32s apart, a scale per block `xs[t·ldxs + b]`).
    /// `scales[b·16 + r]` is row r's F16 scale of block b. For each output and block, eight lanes j each sum
    /// four code products exactly (`vpdpbusd`), and each is FMA'd with `dw·dx` into lane j's chain over the
    /// blocks; the lanes are then folded ((0+4)+(2+6))+((1+5)+(3+7)). Stores `out[t·ldo + r]` (panel A) and
    /// `out[t·ldo + 16 + r]` (panel B) for r < `rowsA` / `rowsB`.
    public static func q0Product(panelA: UnsafeRawPointer, scalesA: UnsafePointer<Float>, rowsA: Int,
                                 panelB: UnsafeRawPointer, scalesB: UnsafePointer<Float>, rowsB: Int, blocks: Int,
                                 x: UnsafePointer<Int32>, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
                                 out: UnsafeMutablePointer<Float>, ldo: Int) {
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: blocks * 8 + 64) { buffer in
            var t = 0
            while t < tokens {
                q0Tile(panelA: panelA, scalesA: scalesA, rowsA: rowsA, panelB: panelB, scalesB: scalesB, rowsB: rowsB,
                       blocks: blocks, x: x + t * ldx, ldx: ldx, xs: xs + t * ldxs, ldxs: ldxs, tokens: min(4, tokens - t),
                       out: out + t * ldo, ldo: ldo, scratch: buffer.baseAddress!)
                t += 4
            }
        }
    }

    /// ``q0Product(panelA:scalesA:rowsA:panelB:scalesB:rowsB:blocks:x:ldx:xs:ldxs:tokens:out:ldo:)`` for
    /// `tokens` ≤ 4 (spare tokens repeat the last and are not stored); `scratch` holds `blocks · 8 + 64` vectors.
    @inline(__always)
    static func q0Tile(panelA: UnsafeRawPointer, scalesA: UnsafePointer<Float>, rowsA: Int,
                       panelB: UnsafeRawPointer, scalesB: UnsafePointer<Float>, rowsB: Int, blocks: Int,
                       x: UnsafePointer<Int32>, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
                       out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<SIMD16<Float>>) {
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
                let sum = add(add(add(lane(0), lane(4)), add(lane(2), lane(6))), add(add(lane(1), lane(5)), add(lane(3), lane(7))))
                let o = out + t * ldo + p * 16
                let valid = p == 0 ? rowsA : rowsB
                if valid == 16 {
                    UnsafeMutableRawPointer(o).storeBytes(of: sum, as: SIMD16<Float>.self)
                } else {
                    for r in 0..<valid { o[r] = sum[r] }
                }
            }
        }
    }
}
