/// Q3_K: 256-element super-blocks of sixteen 16-element sub-blocks with signed 6-bit scales (spec §2, §3.6).
///
/// Layout: `hmask[32]` (bit 2 of each code), `qs[64]` (low 2 bits), `scales[12]` (6-bit, +32 bias), fp16 `d`.
/// `x ≈ d·(sc − 32)·(q − 4)`.
public enum Q3_K {
    public static let blockBytes = 110

    /// `quantize_row_q3_K_ref` without an importance matrix, `quantize_row_q3_K_impl` with one.
    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256 + 16) { lb in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 48) { fb in
                let L = lb.baseAddress!
                let Ls = L + 256
                let scales = fb.baseAddress!
                let sw = scales + 16
                let weight = scales + 32
                for b in 0..<(n / 256) {
                    let xb = x + 256 * b
                    let yb = y + blockBytes * b
                    let ys = (yb + 96).assumingMemoryBound(to: UInt8.self)
                    for j in 0..<12 { ys[j] = 0 }
                    if let qw {
                        let sigma2 = 2 * KLayout.superBlockSumX2(xb) / 256
                        for j in 0..<16 {
                            for l in 0..<16 {
                                let v = xb[16 * j + l]
                                weight[l] = qw[256 * b + 16 * j + l] * (sigma2 + v * v).squareRoot()
                            }
                            var sumw: Float = 0
                            for l in 0..<16 { sumw += weight[l] }
                            sw[j] = sumw
                            scales[j] = QuantHelpers.makeQxQuants(16, 4, xb + 16 * j, L + 16 * j, rmseType: 1, weight)
                        }
                        let dBlock = QuantHelpers.makeQxQuants(16, 32, scales, Ls, rmseType: 1, sw)
                        for j in 0..<16 { KLayout.packScaleQ3(j, UInt8(bitPattern: Ls[j]), ys) }
                        QuantHelpers.storeHalf(dBlock, yb, 108)
                    } else {
                        var maxScale: Float = 0
                        var amax: Float = 0
                        for j in 0..<16 {
                            scales[j] = QuantHelpers.makeQ3Quants(16, 4, xb + 16 * j, L + 16 * j, doRmse: true)
                            let a = abs(scales[j])
                            if a > amax { amax = a; maxScale = scales[j] }
                        }
                        if maxScale != 0 {
                            let iscale = -32 / maxScale
                            for j in 0..<16 {
                                let l8 = Int8(truncatingIfNeeded: QuantHelpers.nearestInt(iscale * scales[j]))
                                let l = QuantHelpers.clamp(Int32(l8), -32, 31) + 32
                                KLayout.packScaleQ3(j, UInt8(truncatingIfNeeded: l), ys)
                            }
                            QuantHelpers.storeHalf(1 / iscale, yb, 108)
                        } else {
                            QuantHelpers.storeHalf(0, yb, 108)
                        }
                    }
                    // Re-quantize with the stored scales (division, as ggml writes it).
                    let d = QuantHelpers.loadHalf(yb, 108)
                    for j in 0..<16 {
                        let dl = d * Float(KLayout.scaleQ3(j, yb + 96))
                        if dl == 0 { continue }
                        for ii in 0..<16 {
                            let l = QuantHelpers.nearestInt(xb[16 * j + ii] / dl)
                            L[16 * j + ii] = Int8(truncatingIfNeeded: QuantHelpers.clamp(l, -4, 3) + 4)
                        }
                    }
                    packCodes(L, yb)
                }
            }
        }
    }

    /// Splits the 3-bit codes into `hmask` (set when the code is ≥ 4) and the 2-bit `qs`.
    static func packCodes(_ L: UnsafeMutablePointer<Int8>, _ y: UnsafeMutableRawPointer) {
        let hmask = y.assumingMemoryBound(to: UInt8.self)
        for m in 0..<32 { hmask[m] = 0 }
        for j in 0..<256 where L[j] > 3 {
            hmask[j % 32] |= UInt8(truncatingIfNeeded: 1 << (j / 32))
            L[j] -= 4
        }
        L.withMemoryRebound(to: UInt8.self, capacity: 256) { KLayout.pack2Bit($0, y + 32) }
    }

    /// `d·(sc − 32)·f(q − (hbit ? 0 : 4))` (`dequantize_row_q3_K`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 108)
            for e in 0..<256 {
                let dl = d * Float(KLayout.scaleQ3(e / 16, yb + 96))
                let byte = yb.load(fromByteOffset: 32 + 32 * (e / 128) + e % 32, as: UInt8.self)
                let q = Int32((byte >> UInt8(2 * ((e % 128) / 32))) & 3)
                let h = (yb.load(fromByteOffset: e % 32, as: UInt8.self) >> UInt8(e / 32)) & 1
                x[256 * b + e] = dl * Float(q - (h != 0 ? 0 : 4))
            }
        }
    }
}
