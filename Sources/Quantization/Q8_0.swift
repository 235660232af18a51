/// Q8_0: blocks of 32 values, an fp16 scale `d` then 32 int8 quants (spec §2, §3.3).
///
/// `d = amax / 127`, `q = roundf(x * (1/d))` (ties away from zero). The importance matrix is ignored.
public enum Q8_0 {
    public static let blockBytes = 34

    /// The scalar reference, written as the spec reads (`quantize_row_q8_0_ref`).
    public static func quantizeReference(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count: Int) {
        for b in 0..<(count / 32) {
            let xb = x + b * 32
            let yb = y + b * blockBytes
            var amax: Float = 0
            for j in 0..<32 {
                let a = abs(xb[j])
                amax = amax > a ? amax : a
            }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            QuantHelpers.storeHalf(d, yb, 0)
            for j in 0..<32 {
                // (int8_t)roundf(v): a value outside int32 (only when 1/d overflowed) becomes INT_MIN → 0.
                let q = QuantHelpers.truncateToInt32((xb[j] * id).rounded(.toNearestOrAwayFromZero))
                yb.storeBytes(of: Int8(truncatingIfNeeded: q), toByteOffset: 2 + j, as: Int8.self)
            }
        }
    }

    /// `f(qs) * d` per element (`dequantize_row_q8_0`).
    public static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 32) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 0)
            for j in 0..<32 {
                x[b * 32 + j] = Float(yb.load(fromByteOffset: 2 + j, as: Int8.self)) * d
            }
        }
    }
}
