/// Q2_K: 256-element super-blocks of sixteen 16-element sub-blocks (spec §2, §3.5).
///
/// Layout: `scales[16]` (low nibble scale, high nibble min), `qs[64]` (2-bit codes), fp16 `d`, fp16 `dmin`.
/// `x ≈ d·sc·q − dmin·m`.
public enum Q2_K {
    public static let blockBytes = 84

    /// `quantize_row_q2_K_ref` without an importance matrix, `quantize_row_q2_K_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16 + 32) { lb in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * 3 + 16) { fb in
                let L = lb.baseAddress!
                let Laux = L + 256
                let scales = fb.baseAddress!
                let mins = scales + 16
                let sw = scales + 32
                let weight = scales + 48
                for b in 0..<(n / 256) {
                    let xb = x + 256 * b
                    let yb = y + blockBytes * b
                    let ys = yb.assumingMemoryBound(to: UInt8.self)
                    if let qw {
                        quantizeImatrixBlock(xb, qw + 256 * b, yb, L, Laux, scales, mins, sw, weight)
                    } else {
                        quantizeBlock(xb, yb, L, Laux, scales, mins, weight)
                    }
                    // Re-quantize with the stored (fp16-rounded) scales; a zero sub-block scale keeps the codes
                    // from the search.
                    let d = QuantHelpers.loadHalf(yb, 80)
                    let dmin = QuantHelpers.loadHalf(yb, 82)
                    for j in 0..<16 {
                        let dl = d * Float(ys[j] & 0xF)
                        if dl == 0 { continue }
                        let ml = dmin * Float(ys[j] >> 4)
                        for ii in 0..<16 {
                            let l = QuantHelpers.nearestInt((xb[16 * j + ii] + ml) / dl)
                            L[16 * j + ii] = UInt8(truncatingIfNeeded: QuantHelpers.clamp(l, 0, 3))
                        }
                    }
                    KLayout.pack2Bit(L, yb + 16)
                }
            }
        }
    }

    /// The scale search of `quantize_row_q2_K_ref` (writes scales, d, dmin).
    private static func quantizeBlock(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>,
        _ Laux: UnsafeMutablePointer<UInt8>, _ scales: UnsafeMutablePointer<Float>,
        _ mins: UnsafeMutablePointer<Float>, _ weight: UnsafeMutablePointer<Float>
    ) {
        var maxScale: Float = 0
        var maxMin: Float = 0
        for j in 0..<16 {
            for l in 0..<16 { weight[l] = abs(x[16 * j + l]) }
            scales[j] = QuantHelpers.makeQkxQuants(
                16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, rmin: -0.5, rdelta: 0.1, nstep: 15,
                useMad: true, qkx3: false)
            if scales[j] > maxScale { maxScale = scales[j] }
            if mins[j] > maxMin { maxMin = mins[j] }
        }
        let ys = y.assumingMemoryBound(to: UInt8.self)
        if maxScale > 0 {
            let iscale = 15 / maxScale
            for j in 0..<16 { ys[j] = UInt8(truncatingIfNeeded: QuantHelpers.nearestInt(iscale * scales[j])) }
            QuantHelpers.storeHalf(maxScale / 15, y, 80)
        } else {
            for j in 0..<16 { ys[j] = 0 }
            QuantHelpers.storeHalf(0, y, 80)
        }
        if maxMin > 0 {
            let iscale = 15 / maxMin
            for j in 0..<16 {
                let l = QuantHelpers.nearestInt(iscale * mins[j])
                ys[j] |= UInt8(truncatingIfNeeded: l << 4)
            }
            QuantHelpers.storeHalf(maxMin / 15, y, 82)
        } else {
            QuantHelpers.storeHalf(0, y, 82)
        }
    }

    /// The scale search of `quantize_row_q2_K_impl` (writes scales, d, dmin).
    private static func quantizeImatrixBlock(
        _ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer,
        _ L: UnsafeMutablePointer<UInt8>, _ Laux: UnsafeMutablePointer<UInt8>, _ scales: UnsafeMutablePointer<Float>,
        _ mins: UnsafeMutablePointer<Float>, _ sw: UnsafeMutablePointer<Float>, _ weight: UnsafeMutablePointer<Float>
    ) {
        let sigma2 = KLayout.superBlockSumX2(x) / 256
        for j in 0..<16 {
            var sumw: Float = 0
            for l in 0..<16 {
                let v = x[16 * j + l]
                weight[l] = qw[16 * j + l] * (sigma2 + v * v).squareRoot()
            }
            for l in 0..<16 { sumw += weight[l] }
            sw[j] = sumw
            scales[j] = QuantHelpers.makeQkxQuants(
                16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, rmin: -0.9, rdelta: 0.05, nstep: 36,
                useMad: false, qkx3: true)
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { lsb in
            let Ls = lsb.baseAddress!
            let Lm = Ls + 16
            let dm = QuantHelpers.makeQpQuants(16, 15, scales, Ls, sw)
            let mm = QuantHelpers.makeQpQuants(16, 15, mins, Lm, sw)
            QuantHelpers.storeHalf(dm, y, 80)
            QuantHelpers.storeHalf(mm, y, 82)
            let ys = y.assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 { ys[j] = Ls[j] | Lm[j] << 4 }
        }
    }

    /// `dl·f(q) − ml` per element (`dequantize_row_q2_K`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 80)
            let dmin = QuantHelpers.loadHalf(yb, 82)
            for e in 0..<256 {
                let sc = yb.load(fromByteOffset: e / 16, as: UInt8.self)
                let dl = d * Float(sc & 0xF)
                let ml = dmin * Float(sc >> 4)
                let byte = yb.load(fromByteOffset: 16 + 32 * (e / 128) + e % 32, as: UInt8.self)
                let q = (byte >> UInt8(2 * ((e % 128) / 32))) & 3
                x[256 * b + e] = dl * Float(q) - ml
            }
        }
    }
}
