import Foundation

/// Matrix tiles for CPUs with AVX-512, compiled for `skylake-avx512` in this module only and called after a
/// run-time check (``available``), so the rest of Kiln still runs on any x86-64 with AVX2 and FMA.
///
/// Each output is the same sequential chain of FMAs over k as the AVX2 tiles compute, lane for lane, so
/// which tile ran does not change a single bit of the result.
public enum WideKernels {
    /// Whether this CPU and OS run AVX-512 Foundation instructions (the `avx512f` flag in /proc/cpuinfo,
    /// which the kernel shows only when it also saves the AVX-512 register state).
    public static let available: Bool = {
        #if os(Linux) && arch(x86_64)
        if ProcessInfo.processInfo.environment["KILN_NO_AVX512"] != nil { return false }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        return flags.split(separator: " ").contains("avx512f")
        #else
        return false
        #endif
    }()

    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// `c[t·ldc + j] = Σ_k x[t·ldx + k] · a[k·16 + j]` and `c[t·ldc + 16 + j] = Σ_k x[t·ldx + k] · b[k·16 + j]`
    /// for `rows` ≤ 6 tokens (spare rows repeat the last token and are not stored), storing the first
    /// `columnsA` outputs of panel `a` and `columnsB` of panel `b`.
    public static func tile6x32(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, columnsA: Int, columnsB: Int
    ) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        var c40 = SIMD16<Float>(), c41 = SIMD16<Float>(), c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
        let last = rows - 1
        let x0 = x, x1 = x + min(1, last) * ldx, x2 = x + min(2, last) * ldx
        let x3 = x + min(3, last) * ldx, x4 = x + min(4, last) * ldx, x5 = x + min(5, last) * ldx
        for k in 0..<n {
            let w0 = load16(a, k &* 16), w1 = load16(b, k &* 16)
            var v = SIMD16<Float>(repeating: x0[k])
            c00.addProduct(v, w0); c01.addProduct(v, w1)
            v = SIMD16(repeating: x1[k])
            c10.addProduct(v, w0); c11.addProduct(v, w1)
            v = SIMD16(repeating: x2[k])
            c20.addProduct(v, w0); c21.addProduct(v, w1)
            v = SIMD16(repeating: x3[k])
            c30.addProduct(v, w0); c31.addProduct(v, w1)
            v = SIMD16(repeating: x4[k])
            c40.addProduct(v, w0); c41.addProduct(v, w1)
            v = SIMD16(repeating: x5[k])
            c50.addProduct(v, w0); c51.addProduct(v, w1)
        }
        @inline(__always) func put(_ t: Int, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>) {
            guard t < rows else { return }
            let row = c + t * ldc
            if columnsA == 16 {
                UnsafeMutableRawPointer(row).storeBytes(of: lo, as: SIMD16<Float>.self)
            } else {
                for j in 0..<columnsA { row[j] = lo[j] }
            }
            if columnsB == 16 {
                UnsafeMutableRawPointer(row + 16).storeBytes(of: hi, as: SIMD16<Float>.self)
            } else {
                for j in 0..<columnsB { row[16 + j] = hi[j] }
            }
        }
        put(0, c00, c01); put(1, c10, c11); put(2, c20, c21)
        put(3, c30, c31); put(4, c40, c41); put(5, c50, c51)
    }
}

// MARK: Products in llama.cpp's order (see Inference's `GGMLOrder`)

extension WideKernels {
    /// GCC's `_mm512_reduce_add_ps`: upper 8 lanes onto the lower 8, upper 4 onto the lower 4, then
    /// (0 + 2) + (1 + 3). The same function as Inference's `GGMLOrder.sum16`.
    @inline(__always)
    static func sum16(_ v: SIMD16<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        return (b[0] + b[2]) + (b[1] + b[3])
    }

    /// tinyBLAS's F32 order for `rows` ≤ 4 weight rows × `tokens` ≤ 6 activation rows:
    /// `out[t·ldo + r] = sum16(Σ_k lane-wise w[r][k]·x[t][k])`, lane l taking k ≡ l (mod 16) as one FMA chain.
    /// Spare rows and tokens repeat the last ones and are not stored. `columns` is a multiple of 16.
    public static func f32Tile(
        w: UnsafePointer<Float>, ldw: Int, rows: Int, x: UnsafePointer<Float>, ldx: Int, tokens: Int,
        columns: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let w0 = w, w1 = w + min(1, rows - 1) * ldw, w2 = w + min(2, rows - 1) * ldw, w3 = w + min(3, rows - 1) * ldw
        let last = tokens - 1
        let x0 = x, x1 = x + min(1, last) * ldx, x2 = x + min(2, last) * ldx
        let x3 = x + min(3, last) * ldx, x4 = x + min(4, last) * ldx, x5 = x + min(5, last) * ldx
        var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a02 = SIMD16<Float>(), a03 = SIMD16<Float>()
        var a10 = SIMD16<Float>(), a11 = SIMD16<Float>(), a12 = SIMD16<Float>(), a13 = SIMD16<Float>()
        var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a22 = SIMD16<Float>(), a23 = SIMD16<Float>()
        var a30 = SIMD16<Float>(), a31 = SIMD16<Float>(), a32 = SIMD16<Float>(), a33 = SIMD16<Float>()
        var a40 = SIMD16<Float>(), a41 = SIMD16<Float>(), a42 = SIMD16<Float>(), a43 = SIMD16<Float>()
        var a50 = SIMD16<Float>(), a51 = SIMD16<Float>(), a52 = SIMD16<Float>(), a53 = SIMD16<Float>()
        var k = 0
        while k < columns {
            let m0 = load16(w0, k), m1 = load16(w1, k), m2 = load16(w2, k), m3 = load16(w3, k)
            var v = load16(x0, k)
            a00.addProduct(m0, v); a01.addProduct(m1, v); a02.addProduct(m2, v); a03.addProduct(m3, v)
            v = load16(x1, k)
            a10.addProduct(m0, v); a11.addProduct(m1, v); a12.addProduct(m2, v); a13.addProduct(m3, v)
            v = load16(x2, k)
            a20.addProduct(m0, v); a21.addProduct(m1, v); a22.addProduct(m2, v); a23.addProduct(m3, v)
            v = load16(x3, k)
            a30.addProduct(m0, v); a31.addProduct(m1, v); a32.addProduct(m2, v); a33.addProduct(m3, v)
            v = load16(x4, k)
            a40.addProduct(m0, v); a41.addProduct(m1, v); a42.addProduct(m2, v); a43.addProduct(m3, v)
            v = load16(x5, k)
            a50.addProduct(m0, v); a51.addProduct(m1, v); a52.addProduct(m2, v); a53.addProduct(m3, v)
            k &+= 16
        }
        @inline(__always) func put(
            _ t: Int, _ c0: SIMD16<Float>, _ c1: SIMD16<Float>, _ c2: SIMD16<Float>, _ c3: SIMD16<Float>
        ) {
            guard t < tokens else { return }
            let o = out + t * ldo
            o[0] = sum16(c0)
            if rows > 1 { o[1] = sum16(c1) }
            if rows > 2 { o[2] = sum16(c2) }
            if rows > 3 { o[3] = sum16(c3) }
        }
        put(0, a00, a01, a02, a03); put(1, a10, a11, a12, a13); put(2, a20, a21, a22, a23)
        put(3, a30, a31, a32, a33); put(4, a40, a41, a42, a43); put(5, a50, a51, a52, a53)
    }

    /// tinyBLAS_Q0's order for two 16-row panels (A, B) × `tokens` ≤ 4 activation rows of Q8_0 codes.
    /// Panels hold integer weight codes as floats, k-major (`panel[k·16 + j]`, row j of the panel), and one
    /// F16 scale per row and 32-block (`scales[b·16 + j]`); activations are codes (`x[t·ldx + k]`) with a
    /// scale per block (`xs[t·ldxs + b]`). Per output and block, eight lane sums of four products (exact:
    /// integers below 2²⁴), each FMA'd with `dw·dx` into its lane's chain over blocks; the lanes then folded
    /// ((0+4)+(2+6))+((1+5)+(3+7)). Outputs `out[t·ldo + j]` (panel A) and `out[t·ldo + 16 + j]` (panel B) for
    /// j < `rowsA` / `rowsB`.
    public static func q0Tile(
        panelA: UnsafePointer<Float>, scalesA: UnsafePointer<Float>, rowsA: Int,
        panelB: UnsafePointer<Float>, scalesB: UnsafePointer<Float>, rowsB: Int, blocks: Int,
        x: UnsafePointer<Float>, ldx: Int, xs: UnsafePointer<Float>, ldxs: Int, tokens: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 64) { accBuffer in
            let acc = accBuffer.baseAddress!
            acc.initialize(repeating: SIMD16<Float>(), count: 64)
            let x0 = x, x1 = x + min(1, tokens - 1) * ldx, x2 = x + min(2, tokens - 1) * ldx,
                x3 = x + min(3, tokens - 1) * ldx
            let s0 = xs, s1 = xs + min(1, tokens - 1) * ldxs, s2 = xs + min(2, tokens - 1) * ldxs,
                s3 = xs + min(3, tokens - 1) * ldxs
            for b in 0..<blocks {
                let da = load16(scalesA, b &* 16), db = load16(scalesB, b &* 16)
                let dA0 = da * s0[b], dA1 = da * s1[b], dA2 = da * s2[b], dA3 = da * s3[b]
                let dB0 = db * s0[b], dB1 = db * s1[b], dB2 = db * s2[b], dB3 = db * s3[b]
                for j in 0..<8 {
                    let k = b &* 32 &+ j &* 4
                    let pa = panelA + k &* 16, pb = panelB + k &* 16
                    var wa = load16(pa, 0), wb = load16(pb, 0)
                    var v = SIMD16<Float>(repeating: x0[k])
                    var ta0 = wa * v, tb0 = wb * v
                    v = SIMD16(repeating: x1[k]); var ta1 = wa * v, tb1 = wb * v
                    v = SIMD16(repeating: x2[k]); var ta2 = wa * v, tb2 = wb * v
                    v = SIMD16(repeating: x3[k]); var ta3 = wa * v, tb3 = wb * v
                    for e in 1..<4 {
                        wa = load16(pa, e &* 16); wb = load16(pb, e &* 16)
                        v = SIMD16(repeating: x0[k &+ e]); ta0.addProduct(wa, v); tb0.addProduct(wb, v)
                        v = SIMD16(repeating: x1[k &+ e]); ta1.addProduct(wa, v); tb1.addProduct(wb, v)
                        v = SIMD16(repeating: x2[k &+ e]); ta2.addProduct(wa, v); tb2.addProduct(wb, v)
                        v = SIMD16(repeating: x3[k &+ e]); ta3.addProduct(wa, v); tb3.addProduct(wb, v)
                    }
                    // acc[(t·2 + panel)·8 + j]
                    acc[j].addProduct(dA0, ta0); acc[8 &+ j].addProduct(dB0, tb0)
                    acc[16 &+ j].addProduct(dA1, ta1); acc[24 &+ j].addProduct(dB1, tb1)
                    acc[32 &+ j].addProduct(dA2, ta2); acc[40 &+ j].addProduct(dB2, tb2)
                    acc[48 &+ j].addProduct(dA3, ta3); acc[56 &+ j].addProduct(dB3, tb3)
                }
            }
            for t in 0..<tokens {
                for p in 0..<2 {
                    let a = acc + (t * 2 + p) * 8
                    let sum = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
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
}
