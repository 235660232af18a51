/// C's `lroundf` as glibc on x86-64 behaves: half away from zero; NaN or out of range gives `LONG_MIN`.
@inline(__always)
func lroundLikeC(_ value: Float) -> Int64 {
    let r = value.rounded(.toNearestOrAwayFromZero)
    if r.isNaN || r >= 9.223372e18 || r < -9.223372e18 { return Int64.min }
    return Int64(r)
}

/// TQ1_0: ternary weights, five trits per byte (spec §2.1, §3.12). Layout: `qs[48]`, `qh[4]`, fp16 `d` last.
public enum TQ1_0 {
    public static let blockBytes = 54

    /// `quantize_row_tq1_0_ref` (the importance matrix is ignored).
    static func quantizeReference(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        for b in 0..<(n / 256) {
            let xb = x + 256 * b
            let yb = y + blockBytes * b
            var amax: Float = 0
            for j in 0..<256 {
                let a = abs(xb[j])
                amax = amax > a ? amax : a
            }
            let d = amax
            let id: Float = d != 0 ? 1 / d : 0
            QuantHelpers.storeHalf(d, yb, 52)
            @inline(__always) func trit(_ v: Float) -> UInt8 { UInt8(truncatingIfNeeded: lroundLikeC(v * id) &+ 1) }
            @inline(__always) func ceilByte(_ q: UInt8) -> UInt8 {
                UInt8(truncatingIfNeeded: (UInt16(q) * 256 + 242) / 243)
            }
            // 32 bytes of five trits over elements 0..<160, then 16 bytes over 160..<240.
            for m in 0..<32 {
                var q: UInt8 = 0
                for k in 0..<5 { q = q &* 3 &+ trit(xb[m + 32 * k]) }
                yb.storeBytes(of: ceilByte(q), toByteOffset: m, as: UInt8.self)
            }
            for m in 0..<16 {
                var q: UInt8 = 0
                for k in 0..<5 { q = q &* 3 &+ trit(xb[160 + m + 16 * k]) }
                yb.storeBytes(of: ceilByte(q), toByteOffset: 32 + m, as: UInt8.self)
            }
            for j in 0..<4 {
                var q: UInt8 = 0
                for m in 0..<4 { q = q &* 3 &+ trit(xb[240 + j + 4 * m]) }
                q = q &* 3
                yb.storeBytes(of: ceilByte(q), toByteOffset: 48 + j, as: UInt8.self)
            }
        }
    }

    /// Extracts trit n of each byte as `((byte·3ⁿ mod 256)·3) >> 8` (`dequantize_row_tq1_0`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        let pow3: [UInt8] = [1, 3, 9, 27, 81, 243]
        for b in 0..<(count / 256) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 52)
            var out = x + 256 * b
            @inline(__always) func emit(_ byte: UInt8, _ n: Int) {
                let q = byte &* pow3[n]
                let xi = Int16((UInt16(q) * 3) >> 8)
                out.pointee = Float(xi - 1) * d
                out += 1
            }
            for n in 0..<5 { for m in 0..<32 { emit(yb.load(fromByteOffset: m, as: UInt8.self), n) } }
            for n in 0..<5 { for m in 0..<16 { emit(yb.load(fromByteOffset: 32 + m, as: UInt8.self), n) } }
            for n in 0..<4 { for j in 0..<4 { emit(yb.load(fromByteOffset: 48 + j, as: UInt8.self), n) } }
        }
    }
}

/// TQ2_0: ternary weights as 2-bit codes (trit + 1). Layout: `qs[64]`, fp16 `d` last.
public enum TQ2_0 {
    public static let blockBytes = 66

    /// `quantize_row_tq2_0_ref` (the importance matrix is ignored).
    static func quantizeReference(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        for b in 0..<(n / 256) {
            let xb = x + 256 * b
            let yb = y + blockBytes * b
            var amax: Float = 0
            for j in 0..<256 {
                let a = abs(xb[j])
                amax = amax > a ? amax : a
            }
            let id: Float = amax != 0 ? 1 / amax : 0
            QuantHelpers.storeHalf(amax, yb, 64)
            for h in 0..<2 {
                for m in 0..<32 {
                    var q: UInt8 = 0
                    for k in 0..<4 {
                        let t = UInt8(truncatingIfNeeded: lroundLikeC(xb[128 * h + m + 32 * k] * id) &+ 1)
                        q = q &+ ((t & 3) << UInt8(2 * k))
                    }
                    yb.storeBytes(of: q, toByteOffset: 32 * h + m, as: UInt8.self)
                }
            }
        }
    }

    /// `f(((qs >> 2n) & 3) − 1)·d` (`dequantize_row_tq2_0`).
    static func dequantizeReference(_ y: UnsafeRawPointer, _ x: UnsafeMutablePointer<Float>, count: Int) {
        for b in 0..<(count / 256) {
            let yb = y + b * blockBytes
            let d = QuantHelpers.loadHalf(yb, 64)
            for e in 0..<256 {
                let byte = yb.load(fromByteOffset: 32 * (e / 128) + e % 32, as: UInt8.self)
                let q = Int32((byte >> UInt8(2 * ((e % 128) / 32))) & 3)
                x[256 * b + e] = Float(q - 1) * d
            }
        }
    }
}
