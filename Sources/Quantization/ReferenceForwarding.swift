// Entry points whose scalar reference is already fast enough: the compiler auto-vectorizes these decoders
// (measured ≥ 10 GB/s of f32 output), and the ternary encoders run at ~1.7 GB/s. They forward to the
// reference, so fast == reference trivially.
extension TQ1_0 {
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        quantizeReference(x, y, count: n)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
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
