/// Block formats seen as small integer codes with one scale (and, for the affine types, one offset) per group
/// of 16 or 32 elements: element `i` of group `g` dequantizes to `scale[g] · code[i] + offset[g]`, with the
/// same float operations as `dequantize_row_*`, so the values equal ``Quantizer/dequantize`` exactly.
///
/// This is the form a matrix-vector kernel wants: one byte per weight streamed from memory, the scale applied
/// once per group. The inference engine repacks weights into it at load.
public struct GroupCodeLayout: Equatable, Sendable {
    /// Elements per group: 32 for the legacy types, IQ4_NL, Q4_K and Q5_K; 16 for Q2_K, Q3_K and Q6_K.
    public let groupLength: Int
    /// Whether groups carry an offset (`Q4_1`, `Q5_1`, `Q2_K`, `Q4_K`, `Q5_K`).
    public let hasOffset: Bool

    /// The layout of `type`, or nil for types not decoded this way (float types, ternary and i-quants).
    public init?(_ type: GGMLType) {
        switch type {
        case .q8_0, .q4_0, .q5_0, .iq4_nl: (groupLength, hasOffset) = (32, false)
        case .q4_1, .q5_1, .q4_K, .q5_K: (groupLength, hasOffset) = (32, true)
        case .q3_K, .q6_K: (groupLength, hasOffset) = (16, false)
        case .q2_K: (groupLength, hasOffset) = (16, true)
        default: return nil
        }
    }
}

extension Quantizer {
    /// Decodes `count` elements of `type` at `source` into `codes` (one per element), `scales` and, when the
    /// layout has them, `offsets` (one per group). `count` must be a multiple of the block size.
    public static func decodeGroups(
        _ type: GGMLType, source y: UnsafeRawPointer, count: Int, codes: UnsafeMutablePointer<Int8>,
        scales: UnsafeMutablePointer<Float>, offsets: UnsafeMutablePointer<Float>?
    ) throws(QuantizationError) {
        guard let layout = GroupCodeLayout(type), layout.hasOffset == (offsets != nil) else {
            throw .unsupportedType(type)
        }
        guard count % type.blockSize == 0 else { throw .rowLengthNotMultipleOfBlock(columns: count, type: type) }
        @inline(__always) func byte(_ p: UnsafeRawPointer, _ i: Int) -> UInt8 {
            p.load(fromByteOffset: i, as: UInt8.self)
        }
        let blockBytes = type.typeSize
        switch type {
        case .q8_0:
            for b in 0..<(count / 32) {
                let yb = y + b * blockBytes
                scales[b] = QuantHelpers.loadHalf(yb, 0)
                (codes + 32 * b).update(from: (yb + 2).assumingMemoryBound(to: Int8.self), count: 32)
            }
        case .q4_0, .q4_1, .iq4_nl:
            let header = type == .q4_1 ? 4 : 2
            for b in 0..<(count / 32) {
                let yb = y + b * blockBytes
                scales[b] = QuantHelpers.loadHalf(yb, 0)
                if type == .q4_1 { offsets![b] = QuantHelpers.loadHalf(yb, 2) }
                for j in 0..<16 {
                    let q = byte(yb, header + j)
                    let lo = Int(q & 0xF), hi = Int(q >> 4)
                    switch type {
                    case .q4_0: codes[32 * b + j] = Int8(lo - 8); codes[32 * b + j + 16] = Int8(hi - 8)
                    case .q4_1: codes[32 * b + j] = Int8(lo); codes[32 * b + j + 16] = Int8(hi)
                    default: codes[32 * b + j] = IQ4_NL.codebook[lo]; codes[32 * b + j + 16] = IQ4_NL.codebook[hi]
                    }
                }
            }
        case .q5_0, .q5_1:
            let header = type == .q5_1 ? 4 : 2
            let bias = type == .q5_0 ? 16 : 0
            for b in 0..<(count / 32) {
                let yb = y + b * blockBytes
                scales[b] = QuantHelpers.loadHalf(yb, 0)
                if type == .q5_1 { offsets![b] = QuantHelpers.loadHalf(yb, 2) }
                let qh = yb.loadUnaligned(fromByteOffset: header, as: UInt32.self).littleEndian
                for j in 0..<16 {
                    let q = byte(yb, header + 4 + j)
                    let lo = Int(q & 0xF) | Int((qh >> UInt32(j)) & 1) << 4
                    let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                    codes[32 * b + j] = Int8(lo - bias)
                    codes[32 * b + j + 16] = Int8(hi - bias)
                }
            }
        case .q4_K, .q5_K:
            let high = type == .q5_K
            let qsOffset = high ? 48 : 16
            for b in 0..<(count / 256) {
                let yb = y + b * blockBytes
                let d = QuantHelpers.loadHalf(yb, 0), dmin = QuantHelpers.loadHalf(yb, 2)
                for j in 0..<8 {
                    let (sc, m) = KLayout.scaleMinK4(j, yb + 4)
                    scales[8 * b + j] = d * Float(sc)
                    offsets![8 * b + j] = -(dmin * Float(m))
                    for l in 0..<32 {
                        let q = byte(yb, qsOffset + 32 * (j / 2) + l)
                        var v = j % 2 == 0 ? q & 0xF : q >> 4
                        if high { v |= ((byte(yb, 16 + l) >> UInt8(j)) & 1) << 4 }
                        codes[256 * b + 32 * j + l] = Int8(v)
                    }
                }
            }
        case .q6_K:
            for b in 0..<(count / 256) {
                let yb = y + b * blockBytes
                let d = QuantHelpers.loadHalf(yb, 208)
                for g in 0..<16 {
                    scales[16 * b + g] = d * Float(yb.load(fromByteOffset: 192 + g, as: Int8.self))
                }
                for h in 0..<2 {
                    for k in 0..<4 {
                        for l in 0..<32 {
                            let ql = byte(yb, 64 * h + l + (k & 1 == 1 ? 32 : 0))
                            let low = k < 2 ? ql & 0xF : ql >> 4
                            let hi = (byte(yb, 128 + 32 * h + l) >> UInt8(2 * k)) & 3
                            codes[256 * b + 128 * h + 32 * k + l] = Int8(Int(low | hi << 4) - 32)
                        }
                    }
                }
            }
        case .q2_K:
            for b in 0..<(count / 256) {
                let yb = y + b * blockBytes
                let d = QuantHelpers.loadHalf(yb, 80), dmin = QuantHelpers.loadHalf(yb, 82)
                for h in 0..<2 {
                    for k in 0..<4 {
                        for g in 0..<2 {
                            let sc = byte(yb, 8 * h + 2 * k + g)
                            let group = 16 * b + 8 * h + 2 * k + g
                            scales[group] = d * Float(sc & 0xF)
                            offsets![group] = -(dmin * Float(sc >> 4))
                            for l in 0..<16 {
                                let q = byte(yb, 16 + 32 * h + 16 * g + l)
                                codes[256 * b + 128 * h + 32 * k + 16 * g + l] = Int8((q >> UInt8(2 * k)) & 3)
                            }
                        }
                    }
                }
            }
        case .q3_K:
            for b in 0..<(count / 256) {
                let yb = y + b * blockBytes
                let d = QuantHelpers.loadHalf(yb, 108)
                for h in 0..<2 {
                    for k in 0..<4 {
                        for g in 0..<2 {
                            let group = 8 * h + 2 * k + g
                            scales[16 * b + group] = d * Float(KLayout.scaleQ3(group, yb + 96))
                            for l in 0..<16 {
                                let q = byte(yb, 32 + 32 * h + 16 * g + l)
                                let hm = (byte(yb, 16 * g + l) >> UInt8(4 * h + k)) & 1
                                codes[256 * b + 128 * h + 32 * k + 16 * g + l] = Int8(
                                    Int((q >> UInt8(2 * k)) & 3) - (hm == 0 ? 4 : 0))
                            }
                        }
                    }
                }
            }
        default:
            throw .unsupportedType(type)
        }
    }
}
