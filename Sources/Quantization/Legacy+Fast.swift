/// Fast encoders and decoders of the legacy 32-blocks (Q4_0, Q4_1, Q5_0, Q5_1).
///
/// Without an importance matrix every block is two `SIMD16<Float>`; the operations are ggml's, spelled for
/// SIMD: maxima through the integer order of bit patterns (exact), `(int8_t)(v)` as `trunc` plus the
/// 1.5·2²³ bit trick (exact for the 0…33 range these values stay in), `MIN(15, q)` as `q − (q >> 4)` on 0…16.
/// Blocks where those ranges might not hold (amax or `d` outside [1e-30, 1e30], so `1/d` could overflow) or where a
/// signed zero decides the stored bits (a ±0 min or max in Q4_1/Q5_1) take the scalar reference.
/// With an importance matrix, 16 blocks run as the 16 lanes of the lane-parallel searches (``LaneSearch``).
enum LegacyFast {

    @inline(__always) static func load(_ x: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(x).loadUnaligned(fromByteOffset: 4 * i, as: V.self)
    }

    /// Largest |v| over the block and the first value reaching it (ggml's strict `amax < |v|` scan).
    ///
    /// Without compares or lane extraction: `m` is the integer maximum of the magnitude bit patterns
    /// (non-negative Int32 patterns order like the floats); each lane equal to `m` gets the key
    /// `(31 − index) << 1 | sign`, others 0, and the largest key names the first such lane and its sign.
    @inline(__always)
    static func signedMax(_ v0: V, _ v1: V) -> (amax: Float, max: Float) {
        let a0 = v0.intBits & 0x7FFF_FFFF, a1 = v1.intBits & 0x7FFF_FFFF
        let pairMax = VI.select((a0 &- a1) &>> 31, a1, a0)
        let m = pairMax.max()
        let mv = VI(repeating: m)
        let d0 = a0 ^ mv, d1 = a1 ^ mv
        let hit0 = ~((d0 | (0 &- d0)) &>> 31), hit1 = ~((d1 | (0 &- d1)) &>> 31)
        let key0 = hit0 & (rank0 | ((v0.intBits &>> 31) & 1))
        let key1 = hit1 & (rank1 | ((v1.intBits &>> 31) & 1))
        let key = VI.select((key0 &- key1) &>> 31, key1, key0).max()
        let amax = Float(bitPattern: UInt32(bitPattern: m))
        return (amax, Float(bitPattern: UInt32(bitPattern: m | (key & 1) << 31)))
    }

    /// Largest and smallest value of two vectors (select trees; the inputs are finite, checked by the
    /// quantizer, and a ±0 result is treated by the callers).
    @inline(__always)
    static func extremes(_ v0: V, _ v1: V) -> (max: Float, min: Float) {
        let hi16 = v0.replacing(with: v1, where: v0 .< v1), lo16 = v0.replacing(with: v1, where: v1 .< v0)
        let hi8 = hi16.lowHalf.replacing(with: hi16.highHalf, where: hi16.lowHalf .< hi16.highHalf)
        let lo8 = lo16.lowHalf.replacing(with: lo16.highHalf, where: lo16.highHalf .< lo16.lowHalf)
        let hi4 = hi8.lowHalf.replacing(with: hi8.highHalf, where: hi8.lowHalf .< hi8.highHalf)
        let lo4 = lo8.lowHalf.replacing(with: lo8.highHalf, where: lo8.highHalf .< lo8.lowHalf)
        return (
            Swift.max(Swift.max(hi4[0], hi4[1]), Swift.max(hi4[2], hi4[3])),
            Swift.min(Swift.min(lo4[0], lo4[1]), Swift.min(lo4[2], lo4[3]))
        )
    }

    /// ``signedMax(_:_:)`` from the block's largest and smallest values when one of them is strictly larger in
    /// magnitude (then it is the only value reaching `amax`, whatever its position); the key scan otherwise (a
    /// tie between +amax and −amax, where the first one wins, or an all-zero block).
    @inline(__always)
    static func signedMaxFast(_ v0: V, _ v1: V) -> (amax: Float, max: Float) {
        let (hi, lo) = extremes(v0, v1)
        let negatedLow = -lo
        // Rare (a tie, or an all-zero block): a predictable branch. The common choice is a select, not a branch:
        // which extreme wins is random from block to block.
        if hi == negatedLow { return signedMax(v0, v1) }
        // The extreme of larger magnitude, chosen by its sign bit's mask (no branch).
        let mask = UInt32(bitPattern: Int32(bitPattern: (negatedLow - hi).bitPattern) >> 31)
        let chosen = (hi.bitPattern & mask) | (lo.bitPattern & ~mask)
        return (Swift.max(hi, negatedLow), Float(bitPattern: chosen))
    }

    /// `(31 − j) << 1` and `(15 − j) << 1` (written out: constant vectors, not lazily initialised globals).
    @inline(__always) static var rank0: VI { VI(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32) }
    @inline(__always) static var rank1: VI { VI(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0) }

    /// `(int)trunc(v)` for 0 ≤ v < 2²².
    @inline(__always) static func truncSmall(_ v: V) -> VI {
        (v.rounded(.towardZero) + 12_582_912.0).intBits & 0x007F_FFFF
    }

    /// Packs `lo | hi << 4` into 16 bytes.
    @inline(__always) static func nibbles(_ lo: VI, _ hi: VI, _ y: UnsafeMutableRawPointer, _ offset: Int) {
        let bytes = SIMD16<UInt8>(truncatingIfNeeded: (lo & 0xF) | ((hi & 0xF) &<< 4))
        y.storeBytes(of: bytes, toByteOffset: offset, as: SIMD16<UInt8>.self)
    }

    /// The 32-bit `qh` word: bit j = bit 4 of code j. The bits are narrowed to bytes (0 or 1 each), and each
    /// 8-byte word is gathered into one byte by the multiply `w · 0x0102040810204080 >> 56` (byte k's bit
    /// lands on bit k; no carries since every byte is 0 or 1). Horizontal sums compiled to lane extraction.
    @inline(__always) static func highBits(_ lo: VI, _ hi: VI) -> UInt32 {
        @inline(__always) func gather16(_ q: VI) -> UInt32 {
            let bytes = SIMD16<UInt8>(truncatingIfNeeded: (q &>> 4) & 1)
            let words = unsafeBitCast(bytes, to: SIMD2<UInt64>.self)
            let m: UInt64 = 0x0102_0408_1020_4080
            return UInt32(truncatingIfNeeded: (words[0] &* m) >> 56) | UInt32(truncatingIfNeeded: (words[1] &* m) >> 56)
                << 8
        }
        return gather16(lo) | gather16(hi) << 16
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
            let (amax, max) = signedMaxFast(v0, v1)
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
            q0 = q0 &- (q0 &>> shift)  // MIN(2·nmax − 1, q) for q ≤ 2·nmax
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
            // The values are finite, so the float extremes are the values ggml's strict scans keep, except
            // for the sign of a zero extreme, which takes the reference path below.
            let (max, min) = extremes(v0, v1)
            let d = (max - min) / nmax
            // A subnormal `max − min` makes `1/d` overflow; keep `d` where `id` and the codes stay in range.
            if min == 0 || max == 0 || !(d == 0 || (d >= 1e-30 && d <= 1e30)) {
                if fiveBit {
                    Q5_1.quantizeReference(xb, yb, count: 32, importance: nil)
                } else {
                    Q4_1.quantizeReference(xb, yb, count: 32, importance: nil)
                }
                continue
            }
            let id: Float = d != 0 ? 1 / d : 0
            QuantHelpers.storeHalf(d, yb, 0)
            QuantHelpers.storeHalf(min, yb, 2)
            let mv = V(repeating: min)
            var q0 = truncSmall((v0 - mv) * id + 0.5)
            var q1 = truncSmall((v1 - mv) * id + 0.5)
            if !fiveBit {
                q0 = q0 &- (q0 &>> 4)  // MIN(15, q) for q ≤ 16
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
        if let importance {
            LegacyImatrixFast.quantize(.q4_0, x, y, count: n, importance: importance)
        } else {
            LegacyFast.quantizeQ4_0(x, y, count: n)
        }
    }
}
extension Q5_0 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        if let importance {
            LegacyImatrixFast.quantize(.q5_0, x, y, count: n, importance: importance)
        } else {
            LegacyFast.quantizeQ5_0(x, y, count: n)
        }
    }
}
extension Q4_1 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        if let importance {
            LegacyImatrixFast.quantize(.q4_1, x, y, count: n, importance: importance)
        } else {
            LegacyFast.quantizeQ4_1(x, y, count: n)
        }
    }
}
extension Q5_1 {
    static func quantize(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count n: Int, importance: UnsafePointer<Float>?
    ) {
        if let importance {
            LegacyImatrixFast.quantize(.q5_1, x, y, count: n, importance: importance)
        } else {
            LegacyFast.quantizeQ5_1(x, y, count: n)
        }
    }
}
