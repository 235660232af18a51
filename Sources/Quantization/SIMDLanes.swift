/// Small SIMD helpers for the elementwise fast paths. They use integer bit tricks instead of float
/// `min`/`max` and `SIMDMask` selects, which compile to per-lane branches or library calls (PERFORMANCE.md).
enum Lanes {
    /// |v| by clearing the sign bit.
    @inline(__always) static func abs(_ v: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    }

    /// Largest |v| of 16 finite lanes, through the unsigned order of the magnitude bit patterns.
    @inline(__always) static func maxAbs(_ v: SIMD16<Float>) -> Float {
        Float(bitPattern: (unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF).max())
    }
}
