/// Small SIMD building blocks for the fast paths. They use integer bit tricks instead of `SIMDMask` selects
/// and float `min`/`max`, which compile to per-lane branches or library calls (PERFORMANCE.md).
enum Lanes {
    typealias F8 = SIMD8<Float>
    typealias I8 = SIMD8<Int32>
    typealias F16 = SIMD16<Float>
    typealias I16 = SIMD16<Int32>
    typealias U16 = SIMD16<UInt32>

    /// ggml's `nearest_int` per lane (bit trick; exact ties-to-even for |v| < 2²², the same wrap outside).
    @inline(__always) static func nearestInt(_ v: F8) -> I8 {
        let t = v + 12_582_912.0
        return (unsafeBitCast(t, to: I8.self) & 0x007F_FFFF) &- 0x0040_0000
    }
    @inline(__always) static func nearestInt(_ v: F16) -> I16 {
        let t = v + 12_582_912.0
        return (unsafeBitCast(t, to: I16.self) & 0x007F_FFFF) &- 0x0040_0000
    }

    /// All-ones lanes where the mask is true.
    @inline(__always) static func bits(_ m: SIMDMask<I8>) -> I8 { unsafeBitCast(m, to: I8.self) }
    @inline(__always) static func bits(_ m: SIMDMask<I16>) -> I16 { unsafeBitCast(m, to: I16.self) }

    /// `m ? a : b` per lane by bit selection.
    @inline(__always) static func select(_ m: I8, _ a: F8, _ b: F8) -> F8 {
        let ai = unsafeBitCast(a, to: I8.self), bi = unsafeBitCast(b, to: I8.self)
        return unsafeBitCast((ai & m) | (bi & ~m), to: F8.self)
    }
    @inline(__always) static func select(_ m: I16, _ a: F16, _ b: F16) -> F16 {
        let ai = unsafeBitCast(a, to: I16.self), bi = unsafeBitCast(b, to: I16.self)
        return unsafeBitCast((ai & m) | (bi & ~m), to: F16.self)
    }
    @inline(__always) static func select(_ m: I8, _ a: I8, _ b: I8) -> I8 { (a & m) | (b & ~m) }
    @inline(__always) static func select(_ m: I16, _ a: I16, _ b: I16) -> I16 { (a & m) | (b & ~m) }

    /// `MAX(lo, MIN(hi, v))` on int lanes.
    @inline(__always) static func clamp(_ v: I8, _ lo: Int32, _ hi: Int32) -> I8 {
        v.clamped(lowerBound: I8(repeating: lo), upperBound: I8(repeating: hi))
    }
    @inline(__always) static func clamp(_ v: I16, _ lo: Int32, _ hi: Int32) -> I16 {
        v.clamped(lowerBound: I16(repeating: lo), upperBound: I16(repeating: hi))
    }

    /// |v| by clearing the sign bit.
    @inline(__always) static func abs(_ v: F8) -> F8 { unsafeBitCast(unsafeBitCast(v, to: I8.self) & 0x7FFF_FFFF, to: F8.self) }
    @inline(__always) static func abs(_ v: F16) -> F16 { unsafeBitCast(unsafeBitCast(v, to: I16.self) & 0x7FFF_FFFF, to: F16.self) }

    /// Largest |v| of 16 finite lanes, through the unsigned order of the magnitude bit patterns.
    @inline(__always) static func maxAbs(_ v: F16) -> Float {
        Float(bitPattern: (unsafeBitCast(v, to: U16.self) & 0x7FFF_FFFF).max())
    }

    /// Lane conversion of small integers to float (exact).
    @inline(__always) static func float(_ v: I8) -> F8 { F8(v) }
    @inline(__always) static func float(_ v: I16) -> F16 { F16(v) }
}
