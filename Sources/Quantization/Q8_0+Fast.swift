extension Q8_0 {
    /// Fast Q8_0 encoder: each 32-block is two `SIMD16<Float>`.
    ///
    /// Differs from the reference only in how the operations are spelled, not in their results:
    /// - `amax` is the unsigned integer maximum of the magnitude bit patterns (max is order-free and exact);
    /// - `roundf(v)` is `t = trunc(v)` plus one step away from zero when `|v − t| ≥ 0.5` (`v − t` is exact);
    /// - the int8 narrowing takes the low byte of `bits(r + 1.5·2²³)`, valid because `|r| ≤ 128`.
    /// A block whose `1/d` overflows (amax below 1e-30, where `|x·id|` is unbounded) goes to the reference.
    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count: Int) {
        let raw = UnsafeRawPointer(x)
        for b in 0..<(count / 32) {
            let v0 = raw.loadUnaligned(fromByteOffset: 128 * b, as: SIMD16<Float>.self)
            let v1 = raw.loadUnaligned(fromByteOffset: 128 * b + 64, as: SIMD16<Float>.self)
            let amax = Swift.max(Lanes.maxAbs(v0), Lanes.maxAbs(v1))
            let yb = y + blockBytes * b
            if amax < 1e-30 {
                quantizeReference(x + 32 * b, yb, count: 32)
                continue
            }
            let d = amax / 127
            let id = 1 / d
            QuantHelpers.storeHalf(d, yb, 0)
            yb.storeBytes(of: roundAwayToBytes(v0 * id), toByteOffset: 2, as: SIMD16<UInt8>.self)
            yb.storeBytes(of: roundAwayToBytes(v1 * id), toByteOffset: 18, as: SIMD16<UInt8>.self)
        }
    }

    /// `(int8_t)roundf(v)` per lane for |v| ≤ 128 (see ``quantize(_:_:count:)``).
    @inline(__always)
    static func roundAwayToBytes(_ v: SIMD16<Float>) -> SIMD16<UInt8> {
        let t = v.rounded(.towardZero)
        let frac = Lanes.abs(v - t)
        // All ones when |frac| ≥ 0.5: positive floats order like their bit patterns.
        let ge = (0x3EFF_FFFF &- unsafeBitCast(frac, to: SIMD16<Int32>.self)) &>> 31
        let one = (unsafeBitCast(v, to: SIMD16<Int32>.self) & Int32(bitPattern: 0x8000_0000)) | 0x3F80_0000
        let r = t + unsafeBitCast(one & ge, to: SIMD16<Float>.self)
        let i = unsafeBitCast(r + 12_582_912.0, to: SIMD16<UInt32>.self)
        return SIMD16<UInt8>(truncatingIfNeeded: i)
    }

    /// Fast decoder: `f(q)·d` with 16 lanes at a time (elementwise, so identical to the reference).
    static func dequantize(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        let out = UnsafeMutableRawPointer(x)
        for b in 0..<(count / 32) {
            let yb = y + blockBytes * b
            let d = QuantHelpers.loadHalf(yb, 0)
            let q0 = yb.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
            let q1 = yb.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
            out.storeBytes(
                of: SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q0)) * d, toByteOffset: 128 * b,
                as: SIMD16<Float>.self)
            out.storeBytes(
                of: SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q1)) * d, toByteOffset: 128 * b + 64,
                as: SIMD16<Float>.self)
        }
    }
}
