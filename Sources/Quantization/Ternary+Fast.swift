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
