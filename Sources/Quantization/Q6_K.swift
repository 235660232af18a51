/// Q6_K: 256-element super-blocks of sixteen 16-element sub-blocks with int8 scales (spec §2, §3.9).
///
/// Layout: `ql[128]` (low nibbles), `qh[64]` (2 high bits), `scales[16]` (int8), fp16 `d`.
/// `x ≈ d·sc·(q − 32)`.
public enum Q6_K {
    public static let blockBytes = 210

    /// `quantize_row_q6_K_ref` without an importance matrix, `quantize_row_q6_K_impl` with one (raw imatrix
    /// weights, no sigma2).
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { lb in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { fb in
                let L = lb.baseAddress!
                let scales = fb.baseAddress!
                for b in 0..<(n / 256) {
                    let xb = x + 256 * b
                    let yb = y + blockBytes * b
                    var maxScale: Float = 0
                    var maxAbsScale: Float = 0
                    for ib in 0..<16 {
                        let scale = QuantHelpers.makeQxQuants(
                            16, 32, xb + 16 * ib, L + 16 * ib, rmseType: 1, qw.map { $0 + 256 * b + 16 * ib })
                        scales[ib] = scale
                        if abs(scale) > maxAbsScale { maxAbsScale = abs(scale); maxScale = scale }
                    }
                    if maxAbsScale < QuantHelpers.groupMaxEps {
                        yb.initializeMemory(as: UInt8.self, repeating: 0, count: blockBytes)
                        QuantHelpers.storeHalf(0, yb, 208)
                        continue
                    }
                    let iscale = -128 / maxScale
                    QuantHelpers.storeHalf(1 / iscale, yb, 208)
                    for ib in 0..<16 {
                        let s = Swift.min(127, QuantHelpers.nearestInt(iscale * scales[ib]))
                        yb.storeBytes(of: Int8(truncatingIfNeeded: s), toByteOffset: 192 + ib, as: Int8.self)
                    }
                    let d = QuantHelpers.loadHalf(yb, 208)
                    for j in 0..<16 {
                        let dl = d * Float(yb.load(fromByteOffset: 192 + j, as: Int8.self))
                        if dl == 0 { continue }
                        for ii in 0..<16 {
                            let l = QuantHelpers.nearestInt(xb[16 * j + ii] / dl)
                            L[16 * j + ii] = Int8(truncatingIfNeeded: QuantHelpers.clamp(l, -32, 31) + 32)
                        }
                    }
                    L.withMemoryRebound(to: UInt8.self, capacity: 256) { pack($0, yb) }
                }
            }
        }
    }

    /// Element `128h + 32k + l`: low nibble in `ql[64h + l + 32·(k&1)]` (high half when k ≥ 2), two high bits
    /// in `qh[32h + l]` bits `2k…2k+1`.
    @inline(__always)
    static func pack(_ L: UnsafePointer<UInt8>, _ y: UnsafeMutableRawPointer) {
        let ql = y.assumingMemoryBound(to: UInt8.self)
        let qh = ql + 128
        for h in 0..<2 {
            for l in 0..<32 {
                let e = 128 * h + l
                let q1 = L[e] & 0xF, q2 = L[e + 32] & 0xF, q3 = L[e + 64] & 0xF, q4 = L[e + 96] & 0xF
                ql[64 * h + l] = q1 | q3 << 4
                ql[64 * h + l + 32] = q2 | q4 << 4
                qh[32 * h + l] = (L[e] >> 4) | (L[e + 32] >> 4) << 2 | (L[e + 64] >> 4) << 4 | (L[e + 96] >> 4) << 6
            }
        }
    }

    /// `(d·sc)·f(q − 32)` (`dequantize_row_q6_K`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 208)
            for e in 0..<256 {
                let h = e / 128, k = (e % 128) / 32, l = e % 32
                let lowByte = yb.load(fromByteOffset: 64 * h + l + (k & 1) * 32, as: UInt8.self)
                let low = k < 2 ? lowByte & 0xF : lowByte >> 4
                let high = (yb.load(fromByteOffset: 128 + 32 * h + l, as: UInt8.self) >> UInt8(2 * k)) & 3
                let q = Int32(low | high << 4) - 32
                let sc = yb.load(fromByteOffset: 192 + e / 16, as: Int8.self)
                x[256 * b + e] = (d * Float(sc)) * Float(q)
            }
        }
    }
}
