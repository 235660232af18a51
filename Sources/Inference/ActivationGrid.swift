import Quantization

/// The grid llama.cpp's CPU backend rounds activations to before multiplying them with a weight matrix
/// (the weight type's `vec_dot_type`). Emulating it is what makes a quantized model's KL divergence match
/// llama-perplexity: for Q8_0 weights, say, half of the error comes from the Q8_0-quantized activations.
public enum ActivationGrid: Equatable, Sendable {
    /// F32 weights: activations are used as they are.
    case f32
    /// F16 weights: activations rounded to half precision.
    case f16
    /// BF16 weights: activations rounded to bfloat16 (nearest even).
    case bf16
    /// Legacy 32-blocks and IQ4_NL: Q8_0 with an fp16 scale, rounded to nearest even (the AVX2 quantizer).
    case q8_0
    /// K-quants and ternary types: Q8_K (256-blocks, float scale -127/max, `nearest_int`, clamp at 127).
    case q8_K

    /// The grid of activations multiplied with weights of `type`.
    public init(weightType type: GGMLType) {
        switch type {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .tq1_0, .tq2_0: self = .q8_K
        default: self = .q8_0
        }
    }

    /// Rounds `count` values (a multiple of 256 for Q8_K, of 32 for Q8_0) from `x` into `y`.
    public func round(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .f32:
            y.update(from: x, count: count)
        case .f16:
            for i in 0..<count { y[i] = Float(Float16(x[i])) }
        case .bf16:
            for i in 0..<count { y[i] = HalfPrecision.float(bf16: HalfPrecision.bf16Bits(x[i])) }
        case .q8_0:
            var b = 0
            while b < count {
                var amax = SIMD8<Float>()
                for i in stride(from: b, to: b + 32, by: 8) { amax = Self.max8(amax, Self.abs8(Self.load8(x, i))) }
                let m = Self.horizontalMax(amax)
                let d = SIMD8<Float>(repeating: Float(Float16(m / 127)))
                let id = SIMD8<Float>(repeating: m != 0 ? 127 / m : 0)
                for i in stride(from: b, to: b + 32, by: 8) {
                    Self.store8(Self.roundHalfEven(Self.load8(x, i) * id) * d, y, i)
                }
                b += 32
            }
        case .q8_K:
            var b = 0
            while b < count {
                var amax = SIMD8<Float>()
                for i in stride(from: b, to: b + 256, by: 8) { amax = Self.max8(amax, Self.abs8(Self.load8(x, i))) }
                let m = Self.horizontalMax(amax)
                if m == 0 {
                    (y + b).update(repeating: 0, count: 256)
                } else {
                    // The first element of largest magnitude gives the sign (quantize_row_q8_K's `max`).
                    var vmax: Float = 0
                    for i in b..<(b + 256) where abs(x[i]) == m {
                        vmax = x[i]
                        break
                    }
                    let iscale = -127 / vmax
                    let d = SIMD8<Float>(repeating: 1 / iscale), s = SIMD8<Float>(repeating: iscale)
                    for i in stride(from: b, to: b + 256, by: 8) {
                        let r = Self.roundHalfEven(s * Self.load8(x, i))
                        let q = r.replacing(with: 127, where: r .> 127)
                        Self.store8(q * d, y, i)
                    }
                }
                b += 256
            }
        }
    }

    @inline(__always) static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }
    /// Lane-wise maximum of non-NaN lanes; `replacing(with:where:)` compiles to `vmaxps`, where the standard
    /// library's `pointwiseMax` and `.max()` are calls in the hot loops.
    @inline(__always) static func max8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: a .< b)
    }
    @inline(__always) static func horizontalMax(_ v: SIMD8<Float>) -> Float {
        let m = v.lowHalf.replacing(with: v.highHalf, where: v.lowHalf .< v.highHalf)
        return Swift.max(Swift.max(m[0], m[1]), Swift.max(m[2], m[3]))
    }
    @inline(__always) static func abs8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }
    /// Round half to even for |v| < 2²² (adding and subtracting 1.5·2²³), as `nearest_int` and `_mm256_round_ps`.
    /// The sign of `v` is kept, so values that round to zero give −0 for negative inputs, as `rounded()` does.
    @inline(__always) static func roundHalfEven(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let r = (v + 12_582_912.0) - 12_582_912.0
        let sign = unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(r, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
    }

    /// The block length the grid needs the row length to be a multiple of.
    public var blockLength: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q8_0: 32
        case .q8_K: 256
        }
    }
}
