// Fast paths not yet specialised: they forward to the scalar reference.
extension Q8_0 {
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        quantizeReference(x, y, count: n)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
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
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q4_0 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q4_1 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q5_0 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q5_1 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q2_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q3_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q4_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q5_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension Q6_K {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
extension IQ4_NL {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        quantizeReference(x, y, count: n, importance: importance)
    }
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        dequantizeReference(y, x, count: count)
    }
}
