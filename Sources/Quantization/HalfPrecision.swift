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

    /// Converts `count` fp32 values to fp16, 16 lanes at a time.
    @inlinable
    public static func convertToFP16(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<Float>.self)
            let h = SIMD16<Float16>(v)
            UnsafeMutableRawPointer(destination + i).storeBytes(of: h, as: SIMD16<Float16>.self)
            i += 16
        }
        while i < count {
            destination[i] = Float16(source[i]).bitPattern
            i += 1
        }
        // Hardware conversion keeps NaN payload bits; ggml writes 0x7E00 | sign for every NaN.
        for j in 0..<count where destination[j] & 0x7C00 == 0x7C00 && destination[j] & 0x03FF != 0 {
            destination[j] = destination[j] & 0x8000 | 0x7E00
        }
    }

    /// Converts `count` fp32 values to bf16 with ggml's rounding.
    @inlinable
    public static func convertToBF16(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        let raw = UnsafeRawPointer(source)
        var i = 0
        while i + 16 <= count {
            let u = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<UInt32>.self)
            let rounded = (u &+ 0x7fff &+ ((u &>> 16) & 1)) &>> 16
            let quiet = (u &>> 16) | 64
            // All ones where |u| > inf (a NaN): the difference is negative exactly then. A mask select,
            // because `replacing(with:where:)` compiles to per-lane branches.
            let nanMask = SIMD16<UInt32>(
                truncatingIfNeeded: SIMD16<Int32>(truncatingIfNeeded: 0x7f80_0000 &- (u & 0x7fff_ffff)) &>> 31)
            let result = (rounded & ~nanMask) | (quiet & nanMask)
            UnsafeMutableRawPointer(destination + i).storeBytes(
                of: SIMD16<UInt16>(truncatingIfNeeded: result), as: SIMD16<UInt16>.self)
            i += 16
        }
        while i < count {
            destination[i] = bf16Bits(source[i])
            i += 1
        }
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
