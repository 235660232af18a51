// Fast paths not yet specialised: they forward to the scalar reference.
extension TQ1_0 {
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        quantizeReference(x, y, count: n)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension TQ2_0 {
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        quantizeReference(x, y, count: n)
    }
    /// 16 elements at a time; each output is the reference's `f(q − 1)·d`.
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + blockBytes * b
            let d = V(repeating: QuantHelpers.loadHalf(yb, 64))
            for h in 0..<2 {
                for g in 0..<2 {
                    let q = KDequant.bytes16(yb, 32 * h + 16 * g)
                    for k in 0..<4 {
                        let v = (((q &>> Int32(2 * k)) & 3) &- 1).float
                        KDequant.store(v * d, x, 256 * b + 128 * h + 32 * k + 16 * g)
                    }
                }
            }
        }
    }
}
extension Q4_0 {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q4_1 {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q5_0 {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q5_1 {
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q2_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeFast(x, y, count: n, importance: importance)
    }
}
extension Q3_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeFast(x, y, count: n, importance: importance)
    }
}
extension Q4_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        KAffine.quantizeFast(x, y, count: n, importance: importance, nmax: 15)
    }
}
extension Q5_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        KAffine.quantizeFast(x, y, count: n, importance: importance, nmax: 31)
    }
}
extension Q6_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeFast(x, y, count: n, importance: importance)
    }
}
extension IQ4_NL {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeFast(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
