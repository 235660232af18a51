/// IQ4_NL: blocks of 32 with an fp16 scale and 4-bit indices into a fixed non-linear codebook (spec §3.11).
///
/// llama-quantize calls `quantize_row_iq4_nl_impl` with `ntry = 7` with and without an importance matrix
/// (without one the weights are `x²`).
public enum IQ4_NL {
    public static let blockBytes = 18

    /// `kvalues_iq4nl`.
    static let codebook: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
    static let ntry = 7

    static func quantizeReference(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance qw: UnsafePointer<Float>?
    ) {
        codebook.withUnsafeBufferPointer { vb in
            let values = vb.baseAddress!
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
                let weight = wb.baseAddress!
                var L = [UInt8](repeating: 0, count: 32)
                for b in 0..<(n / 32) {
                    let xb = x + 32 * b
                    let yb = y + blockBytes * b
                    var sumX2: Float = 0
                    for j in 0..<32 { sumX2 += xb[j] * xb[j] }
                    let sigma2 = sumX2 * (2 / 32 as Float)
                    for j in 0..<32 {
                        if let qw {
                            weight[j] = qw[32 * b + j] * (sigma2 + xb[j] * xb[j]).squareRoot()
                        } else {
                            weight[j] = xb[j] * xb[j]
                        }
                    }
                    var amax: Float = 0
                    var max: Float = 0
                    for j in 0..<32 where abs(xb[j]) > amax {
                        amax = abs(xb[j])
                        max = xb[j]
                    }
                    var scale: Float = 0
                    if amax >= QuantHelpers.groupMaxEps {
                        var d = -max / Float(values[0])
                        var id = 1 / d
                        var sumqx: Float = 0
                        var sumq2: Float = 0
                        for j in 0..<32 {
                            let q = Float(values[QuantHelpers.bestIndexInt8(values, id * xb[j])])
                            sumqx += (weight[j] * q) * xb[j]
                            sumq2 += (weight[j] * q) * q
                        }
                        d = sumq2 > 0 ? sumqx / sumq2 : 0
                        var best = d * sumqx
                        for itry in -ntry...ntry {
                            id = Float(itry + Int(values[0])) / max
                            sumqx = 0
                            sumq2 = 0
                            for j in 0..<32 {
                                let q = Float(values[QuantHelpers.bestIndexInt8(values, id * xb[j])])
                                sumqx += (weight[j] * q) * xb[j]
                                sumq2 += (weight[j] * q) * q
                            }
                            if sumq2 > 0 && sumqx * sumqx > best * sumq2 {
                                d = sumqx / sumq2
                                best = d * sumqx
                            }
                        }
                        scale = d
                    }
                    QuantHelpers.storeHalf(scale, yb, 0)
                    let id: Float = scale != 0 ? 1 / scale : 0
                    for j in 0..<32 { L[j] = UInt8(QuantHelpers.bestIndexInt8(values, id * xb[j])) }
                    for j in 0..<16 { yb.storeBytes(of: L[j] | L[j + 16] << 4, toByteOffset: 2 + j, as: UInt8.self) }
                }
            }
        }
    }

    /// `d · kvalues[nibble]` (`dequantize_row_iq4_nl`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 32) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            for j in 0..<16 {
                let q = yb.load(fromByteOffset: 2 + j, as: UInt8.self)
                x[32 * b + j] = d * Float(codebook[Int(q & 0xF)])
                x[32 * b + j + 16] = d * Float(codebook[Int(q >> 4)])
            }
        }
    }
}
