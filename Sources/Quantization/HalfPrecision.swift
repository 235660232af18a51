/// IEEE binary16 and bfloat16 conversions exactly as ggml performs them.
///
/// ggml rounds fp32 → fp16 to nearest, ties to even, keeps −0.0, produces subnormals, overflows to ±inf and
/// turns every NaN into `0x7E00 | sign` (spec §1.1). `Float16(_:)` compiled for a CPU with F16C gives the
/// same rounding for all non-NaN inputs; NaNs are patched so the payload matches ggml's.
/// bfloat16 uses ggml's bit arithmetic (spec §1.2).
public enum HalfPrecision {
    /// fp32 → fp16 bit pattern, as `GGML_FP32_TO_FP16`.
    @inlinable @inline(__always)
    public static func fp16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return UInt16(truncatingIfNeeded: value.bitPattern >> 16) & 0x8000 | 0x7E00 }
        return Float16(value).bitPattern
    }

    /// fp16 bit pattern → fp32 (exact).
    @inlinable @inline(__always)
    public static func float(fp16 bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// fp32 → bf16 bit pattern, round to nearest even; NaN is forced quiet (`ggml_compute_fp32_to_bf16`).
    @inlinable @inline(__always)
    public static func bf16Bits(_ value: Float) -> UInt16 {
        let u = value.bitPattern
        if u & 0x7fff_ffff > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 64) }
        return UInt16(truncatingIfNeeded: (u &+ 0x7fff &+ ((u >> 16) & 1)) >> 16)
    }

    /// bf16 bit pattern → fp32 (exact).
    @inlinable @inline(__always)
    public static func float(bf16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Converts `count` fp32 values to fp16 with ggml's rounding and NaN encoding.
    ///
    /// A plain per-element loop: with a CPU level set the compiler vectorizes it (F16C plus a NaN blend),
    /// measured 16.8 GB/s against 9.1 GB/s for explicit `SIMD16<Float16>` conversion followed by a NaN-fixing
    /// pass.
    @inlinable
    public static func convertToFP16(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        for i in 0..<count { destination[i] = fp16Bits(source[i]) }
    }

    /// Converts `count` fp32 values to bf16 with ggml's rounding.
    ///
    /// A plain per-element loop, which the compiler vectorizes (measured 15.7 GB/s against 9.7 GB/s for an
    /// explicit `SIMD16<UInt32>` version with a mask select).
    @inlinable
    public static func convertToBF16(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        for i in 0..<count { destination[i] = bf16Bits(source[i]) }
    }

    /// Widens `count` fp16 values to fp32 (exact).
    @inlinable
    public static func convertFromFP16(
        _ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        while i + 16 <= count {
            let h = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<Float16>.self)
            UnsafeMutableRawPointer(destination + i).storeBytes(of: SIMD16<Float>(h), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            destination[i] = float(fp16: source[i])
            i += 1
        }
    }

    /// Widens `count` bf16 values to fp32 (exact).
    @inlinable
    public static func convertFromBF16(
        _ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        while i + 16 <= count {
            let b = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<UInt16>.self)
            let w = SIMD16<UInt32>(truncatingIfNeeded: b) &<< 16
            UnsafeMutableRawPointer(destination + i).storeBytes(of: w, as: SIMD16<UInt32>.self)
            i += 16
        }
        while i < count {
            destination[i] = float(bf16: source[i])
            i += 1
        }
    }
}
