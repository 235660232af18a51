import Foundation

/// The kernels of attention over the KV cache.
///
/// The caches are stored in 16-column panels, so the scores of up to 6 queries against 16 consecutive keys are
/// the register tile ``MatrixKernels/tile6x16(_:ldx:rows:n:panel:ldp:c:ldc:columns:)`` over one contiguous panel (keys: `[block of 16 positions]
/// [d][16]`, per layer and KV head): for each component d, two loads of 16 keys' component d, six broadcasts
/// of the queries' component d, twelve FMAs. `P · V` is the same tile with k running over positions, over
/// value panels `[block of 16 dimensions][position][16]`.
///
/// Each output of a tile is one FMA chain over k in increasing order, whatever the number of rows in the
/// tile, and ``softmax(_:count:scale:softcap:)`` depends only on the row it is given; so a query's result
/// is the same bit for bit whether it is evaluated alone (decoding) or in a block of a batch.
enum AttentionKernels {
    /// Queries per register tile.
    static let blockRows = 6
    /// Keys (score tile) or value dimensions (output tile) per register tile.
    static let tileColumns = 16

    /// The one-row case of ``MatrixKernels/tile6x16(_:ldx:rows:n:panel:ldp:c:ldc:columns:)`` over two panels at once
    /// (`columns` ≤ 32 stored; `panel1` is read only when `columns` > 16): each output is the same FMA chain,
    /// so the results are identical.
    @inline(__always)
    static func tile1x32(_ x: UnsafePointer<Float>, n: Int, panel0: UnsafePointer<Float>, panel1: UnsafePointer<Float>,
                         ldp: Int, c: UnsafeMutablePointer<Float>, columns: Int) {
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
        var p = panel0, q = columns > 16 ? panel1 : panel0
        for k in 0..<n {
            let b = SIMD8<Float>(repeating: x[k])
            c0.addProduct(b, MatrixKernels.load8(p, 0)); c1.addProduct(b, MatrixKernels.load8(p, 8))
            c2.addProduct(b, MatrixKernels.load8(q, 0)); c3.addProduct(b, MatrixKernels.load8(q, 8))
            p += ldp
            q += ldp
        }
        if columns == 32 {
            MatrixKernels.store8(c0, c); MatrixKernels.store8(c1, c + 8); MatrixKernels.store8(c2, c + 16); MatrixKernels.store8(c3, c + 24)
        } else {
            for j in 0..<columns {
                let v = j < 16 ? (j < 8 ? c0[j] : c1[j - 8]) : (j < 24 ? c2[j - 16] : c3[j - 24])
                c[j] = v
            }
        }
    }

    /// `c[t·ldc + j] = Σ_k x[t·ldx + k] · P_{j/16}[k·ldp + j%16]` for t < rows, j < columns, where the panel
    /// of columns 16b ..< 16b+16 is `P_b = panels + b·panelStride` (16 floats read per panel row, past
    /// `columns` up to the next multiple of 16).
    @inline(__always)
    static func product(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, n: Int, panels: UnsafePointer<Float>,
                        panelStride: Int, ldp: Int, c: UnsafeMutablePointer<Float>, ldc: Int, columns: Int) {
        var j = 0, p = panels
        if rows == 1 {
            while j < columns {
                tile1x32(x, n: n, panel0: p, panel1: p + panelStride, ldp: ldp, c: c + j, columns: min(32, columns - j))
                j += 32
                p += 2 * panelStride
            }
            return
        }
        while j < columns {
            MatrixKernels.tile6x16(x, ldx: ldx, rows: rows, n: n, panel: p, ldp: ldp, c: c + j, ldc: ldc, columns: min(16, columns - j))
            j += 16
            p += panelStride
        }
    }

    /// Turns `count` raw scores `s[0..<count]` in place into unnormalized probabilities
    /// `exp(σ(s·scale) − max)`, σ the soft-cap `cap·tanh(x/cap)` when given, and returns their sum.
    /// Works in chunks of 8 from `s[0]`; the last chunk reads and writes up to 7 floats past `count`
    /// (written with +0).
    static func softmax(_ s: UnsafeMutablePointer<Float>, count: Int, scale: Float, softcap: Float?) -> Float {
        let full = count & ~7, rem = count - full
        let tailMask = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .< SIMD8<Int32>(repeating: Int32(rem))
        let sc = SIMD8<Float>(repeating: scale)
        if let cap = softcap {
            for i in 0..<count {
                let d = s[i] * scale
                s[i] = cap * tanhf(d / cap)
            }
        }
        // `v.replacing(with: mx, where: v .< mx)` compiles to one vmaxps (pointwiseMax is a call).
        var mx = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        if softcap == nil {
            while i < full {
                let v = MatrixKernels.load8(s, i) * sc
                MatrixKernels.store8(v, s + i)
                mx = v.replacing(with: mx, where: v .< mx)
                i += 8
            }
        } else {
            while i < full {
                let v = MatrixKernels.load8(s, i)
                mx = v.replacing(with: mx, where: v .< mx)
                i += 8
            }
        }
        if rem > 0 {
            var v = MatrixKernels.load8(s, i)
            if softcap == nil {
                v = v * sc
                MatrixKernels.store8(v, s + i)
            }
            v = v.replacing(with: -.infinity, where: .!tailMask)
            mx = v.replacing(with: mx, where: v .< mx)
        }
        let m = SIMD8<Float>(repeating: mx.max())
        var sum = SIMD8<Float>()
        i = 0
        while i < full {
            let p = exp(MatrixKernels.load8(s, i) - m)
            MatrixKernels.store8(p, s + i)
            sum += p
            i += 8
        }
        if rem > 0 {
            let p = exp(MatrixKernels.load8(s, i) - m).replacing(with: 0, where: .!tailMask)
            MatrixKernels.store8(p, s + i)
            sum += p
        }
        return sum.sum()
    }

    /// `exp(x)` lane by lane for x ≤ 0 (the arguments of a softmax), within about 1 ulp of `expf`, including
    /// gradual underflow (0 below −104). SLEEF's `expf_u10` scheme: x = n·ln2 + r with |r| ≤ ln2/2 (two-part
    /// ln2, FMA), a degree-6 polynomial for eʳ, and the result scaled by 2ⁿ in two exact-or-final steps.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let floor = SIMD8<Float>(repeating: -104)
        let x = x.replacing(with: floor, where: x .< floor)
        let magic = SIMD8<Float>(repeating: 12_582_912)   // 1.5·2²³: adding it rounds to an integer
        let t = (x * 1.442_695_040_888_963_4) + magic
        let n = t - magic
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        var r = x.addingProduct(n, SIMD8(repeating: -0.693_145_751_953_125))
        r = r.addingProduct(n, SIMD8(repeating: -1.428_606_765_330_187_045e-06))
        var u = SIMD8<Float>(repeating: 0.000_198_527_617_612_853_646_278_381)
        u = SIMD8(repeating: 0.001_393_043_552_525_341_510_772_71).addingProduct(u, r)
        u = SIMD8(repeating: 0.008_333_360_776_305_198_669_433_59).addingProduct(u, r)
        u = SIMD8(repeating: 0.041_666_485_369_205_474_853_515_6).addingProduct(u, r)
        u = SIMD8(repeating: 0.166_666_671_633_720_397_949_219).addingProduct(u, r)
        u = SIMD8(repeating: 0.5).addingProduct(u, r)
        u = 1 + r.addingProduct(r * r, u)
        // 2ⁿ as 2^(n>>1) · 2^(n − n>>1): both factors normal for n ≥ −150, the first product exact.
        let n1 = ni &>> 1, n2 = ni &- n1
        let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: SIMD8<Float>.self)
        let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: SIMD8<Float>.self)
        return u * s1 * s2
    }
}
