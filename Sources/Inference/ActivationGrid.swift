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
    @inlinable
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
                var amax: Float = 0
                for i in b..<(b + 32) { amax = max(amax, abs(x[i])) }
                let d = Float(Float16(amax / 127))
                let id: Float = amax != 0 ? 127 / amax : 0
                for i in b..<(b + 32) { y[i] = (x[i] * id).rounded(.toNearestOrEven) * d }
                b += 32
            }
        case .q8_K:
            var b = 0
            while b < count {
                var amax: Float = 0, vmax: Float = 0
                for i in b..<(b + 256) where abs(x[i]) > amax {
                    amax = abs(x[i]); vmax = x[i]
                }
                if amax == 0 {
                    for i in b..<(b + 256) { y[i] = 0 }
                } else {
                    let iscale = -127 / vmax
                    let d = 1 / iscale
                    for i in b..<(b + 256) { y[i] = min(127, (iscale * x[i]).rounded(.toNearestOrEven)) * d }
                }
                b += 256
            }
        }
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
