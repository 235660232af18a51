/// Fast encoders and decoders of the legacy 32-blocks (Q4_0, Q4_1, Q5_0, Q5_1).
///
/// Without an importance matrix every block is two `SIMD16<Float>`; the operations are ggml's, spelled for
/// SIMD: maxima through the integer order of bit patterns (exact), `(int8_t)(v)` as `trunc` plus the
/// 1.5·2²³ bit trick (exact for the 0…33 range these values stay in), `MIN(15, q)` as `q − (q >> 4)` on 0…16.
/// Blocks where those ranges might not hold (amax outside [1e-30, 1e30], so `1/d` could overflow) or where a
/// signed zero decides the stored bits (a ±0 min or max in Q4_1/Q5_1) take the scalar reference.
/// With an importance matrix, 16 blocks run as the 16 lanes of the lane-parallel searches (``LaneSearch``).
enum LegacyFast {
    static let laneIndex = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

    @inline(__always) static func load(_ x: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(x).loadUnaligned(fromByteOffset: 4 * i, as: V.self)
    }

    /// Largest |v| over the block and the first value reaching it (ggml's strict `amax < |v|` scan).
    @inline(__always)
    static func signedMax(_ v0: V, _ v1: V) -> (amax: Float, max: Float) {
        let a0 = v0.intBits & 0x7FFF_FFFF, a1 = v1.intBits & 0x7FFF_FFFF
        // Non-negative Int32 bit patterns order like the floats (inputs are finite).
        let m = Swift.max(a0.max(), a1.max())
        let hit0 = ((a0 ^ SIMD16(repeating: m)) | (SIMD16(repeating: 0) &- (a0 ^ SIMD16(repeating: m)))) &>> 31
        let hit1 = ((a1 ^ SIMD16(repeating: m)) | (SIMD16(repeating: 0) &- (a1 ^ SIMD16(repeating: m)))) &>> 31
        // hit = all ones where the lane differs; first matching lane is the lowest zero bit.
        let bits = UInt32(truncatingIfNeeded: ((~hit0 & 1) &<< laneIndex).wrappedSum())
            | UInt32(truncatingIfNeeded: ((~hit1 & 1) &<< laneIndex).wrappedSum()) << 16
        let first = bits.trailingZeroBitCount
        let max = first < 16 ? v0[first] : v1[first - 16]
        return (Float(bitPattern: UInt32(bitPattern: m)), max)
    }

    /// Sortable integer image of a float: signed order equals float order (−0 sorts below +0).
    @inline(__always) static func sortable(_ v: V) -> VI { v.intBits ^ ((v.intBits &>> 31) & 0x7FFF_FFFF) }
    @inline(__always) static func unsortable(_ s: Int32) -> Float { Float(bitPattern: UInt32(bitPattern: s ^ ((s >> 31) & 0x7FFF_FFFF))) }

    /// `(int)trunc(v)` for 0 ≤ v < 2²².
    @inline(__always) static func truncSmall(_ v: V) -> VI {
        (v.rounded(.towardZero) + 12_582_912.0).intBits & 0x007F_FFFF
    }

    /// Packs `lo | hi << 4` into 16 bytes.
    @inline(__always) static func nibbles(_ lo: VI, _ hi: VI, _ y: UnsafeMutableRawPointer, _ offset: Int) {
        y.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (lo & 0xF) | ((hi & 0xF) &<< 4)), toByteOffset: offset, as: SIMD16<UInt8>.self)
    }

    /// The 32-bit `qh` word: bit j = bit 4 of code j.
    @inline(__always) static func highBits(_ lo: VI, _ hi: VI) -> UInt32 {
        let a = UInt32(truncatingIfNeeded: (((lo &>> 4) & 1) &<< laneIndex).wrappedSum())
        let b = UInt32(truncatingIfNeeded: (((hi &>> 4) & 1) &<< laneIndex).wrappedSum())
        return a | b << 16
    }

    static func quantizeQ4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        symmetric(x, y, count: n, nmax: 8, bias: 8.5, blockBytes: Q4_0.blockBytes, qsOffset: 2, fiveBit: false)
    }
    static func quantizeQ5_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        symmetric(x, y, count: n, nmax: 16, bias: 16.5, blockBytes: Q5_0.blockBytes, qsOffset: 6, fiveBit: true)
    }

    @inline(__always)
    static func symmetric(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, nmax: Float, bias: Float,
        blockBytes: Int, qsOffset: Int, fiveBit: Bool
    ) {
        for b in 0..<(n / 32) {
            let xb = x + 32 * b
            let yb = y + blockBytes * b
            let v0 = load(xb, 0), v1 = load(xb, 16)
            let (amax, max) = signedMax(v0, v1)
            if !(amax >= 1e-30 && amax <= 1e30) {
                if fiveBit {
                    Q5_0.quantizeReference(xb, yb, count: 32, importance: nil)
                } else {
                    Q4_0.quantizeReference(xb, yb, count: 32, importance: nil)
                }
                continue
            }
            let d = max / -nmax
            let id = 1 / d
            QuantHelpers.storeHalf(d, yb, 0)
            var q0 = truncSmall(v0 * id + bias)
            var q1 = truncSmall(v1 * id + bias)
            let shift: Int32 = fiveBit ? 5 : 4
            q0 = q0 &- (q0 &>> shift)      // MIN(2·nmax − 1, q) for q ≤ 2·nmax
            q1 = q1 &- (q1 &>> shift)
            if fiveBit { yb.storeBytes(of: highBits(q0, q1).littleEndian, toByteOffset: 2, as: UInt32.self) }
            nibbles(q0, q1, yb, qsOffset)
        }
    }

    static func quantizeQ4_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        affine(x, y, count: n, nmax: 15, blockBytes: Q4_1.blockBytes, qsOffset: 4, fiveBit: false)
    }
    static func quantizeQ5_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int) {
        affine(x, y, count: n, nmax: 31, blockBytes: Q5_1.blockBytes, qsOffset: 8, fiveBit: true)
    }

    @inline(__always)
    static func affine(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, nmax: Float, blockBytes: Int,
        qsOffset: Int, fiveBit: Bool
    ) {
        for b in 0..<(n / 32) {
            let xb = x + 32 * b
            let yb = y + blockBytes * b
            let v0 = load(xb, 0), v1 = load(xb, 16)
            let s0 = sortable(v0), s1 = sortable(v1)
            let min = unsortable(Swift.min(s0.min(), s1.min()))
            let max = unsortable(Swift.max(s0.max(), s1.max()))
            let range = Swift.max(Swift.abs(min), Swift.abs(max))
            if min == 0 || max == 0 || !(range >= 1e-30 && range <= 1e30) {
                if fiveBit {
                    Q5_1.quantizeReference(xb, yb, count: 32, importance: nil)
                } else {
                    Q4_1.quantizeReference(xb, yb, count: 32, importance: nil)
                }
                continue
            }
            let d = (max - min) / nmax
            let id: Float = d != 0 ? 1 / d : 0
            QuantHelpers.storeHalf(d, yb, 0)
            QuantHelpers.storeHalf(min, yb, 2)
            let mv = V(repeating: min)
            var q0 = truncSmall((v0 - mv) * id + 0.5)
            var q1 = truncSmall((v1 - mv) * id + 0.5)
            if !fiveBit {
                q0 = q0 &- (q0 &>> 4)      // MIN(15, q) for q ≤ 16
                q1 = q1 &- (q1 &>> 4)
            } else {
                yb.storeBytes(of: highBits(q0, q1).littleEndian, toByteOffset: 4, as: UInt32.self)
            }
            nibbles(q0, q1, yb, qsOffset)
        }
    }
}

extension Q4_0 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        if importance == nil { LegacyFast.quantizeQ4_0(x, y, count: n) } else { quantizeReference(x, y, count: n, importance: importance) }
    }
}
extension Q5_0 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        if importance == nil { LegacyFast.quantizeQ5_0(x, y, count: n) } else { quantizeReference(x, y, count: n, importance: importance) }
    }
}
extension Q4_1 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        if importance == nil { LegacyFast.quantizeQ4_1(x, y, count: n) } else { quantizeReference(x, y, count: n, importance: importance) }
    }
}
extension Q5_1 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        if importance == nil { LegacyFast.quantizeQ5_1(x, y, count: n) } else { quantizeReference(x, y, count: n, importance: importance) }
    }
}
