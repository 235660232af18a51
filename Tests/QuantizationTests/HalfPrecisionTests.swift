import Testing

@testable import Quantization

@Suite("fp16 and bf16 conversions follow ggml")
struct HalfPrecisionTests {
    /// Bit patterns covering NaNs with payloads, infinities, signed zeros, subnormals, ties and overflow.
    static let patterns: [UInt32] = [
        0x0000_0000, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0001, 0x7F80_0001, 0xFFA0_1234,
        0x3F80_0000, 0x477F_E000, 0x477F_F000, 0x477F_EFFF, 0x4780_0000, 0x3380_0000, 0x3300_0000, 0x3300_0001,
        0x387F_C000, 0x3880_1000, 0x3F80_1000, 0x3F80_3000, 0x3F80_8000, 0x3F81_8000, 0x0000_0001, 0x8080_0000
    ]

    @Test("row converters equal the scalar ggml formulas, NaN included")
    func rows() {
        var rng = SplitMix64(state: 7)
        let values =
            Self.patterns.map { Float(bitPattern: $0) }
            + (0..<4096).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        var h = [UInt16](repeating: 0, count: values.count)
        var b = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            HalfPrecision.convertToFP16(v.baseAddress!, &h, count: v.count)
            HalfPrecision.convertToBF16(v.baseAddress!, &b, count: v.count)
        }
        for (i, v) in values.enumerated() {
            let u = v.bitPattern
            let bf: UInt16 =
                u & 0x7FFF_FFFF > 0x7F80_0000
                ? UInt16(truncatingIfNeeded: (u >> 16) | 64)
                : UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
            #expect(b[i] == bf, "bf16 of \(String(u, radix: 16))")
            if v.isNaN {
                #expect(
                    h[i] == UInt16(truncatingIfNeeded: u >> 16) & 0x8000 | 0x7E00, "fp16 NaN \(String(u, radix: 16))")
            } else {
                #expect(h[i] == Float16(v).bitPattern, "fp16 of \(String(u, radix: 16))")
            }
        }
        #expect(HalfPrecision.fp16Bits(-0.0) == 0x8000)
        #expect(HalfPrecision.fp16Bits(65520) == 0x7C00)  // rounds to +inf
        #expect(HalfPrecision.fp16Bits(65519.996) == 0x7BFF)
    }
}
