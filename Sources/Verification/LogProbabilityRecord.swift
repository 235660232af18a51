import Foundation
import Inference

/// llama-perplexity's compact encoding of one position's log-probabilities (`--kl-divergence-base`):
/// two float32 slots (`scale`, `min_log_prob`) followed by one uint16 per vocabulary entry, padded to an
/// even count. The encoding is lossy (a 16-unit range of log-probability in 65,535 steps); the KL divergence
/// is computed against the decoded values, so Kiln encodes the reference exactly as llama.cpp does.
public enum LogProbabilityRecord {
    /// uint16 slots per record for a vocabulary of `n` entries: `2*((n+1)/2) + 4`.
    @inlinable
    public static func slots(vocabularySize n: Int) -> Int { 2 * ((n + 1) / 2) + 4 }

    /// Encodes `logits` into `record`, returning the negative log-likelihood of `token` (as a double,
    /// computed like llama.cpp's base pass).
    @discardableResult
    public static func encode(
        logits: UnsafePointer<Float>, vocabularySize n: Int, token: Int,
        into record: UnsafeMutablePointer<UInt16>
    ) -> Double {
        var maxLogit = logits[0], minLogit = logits[0]
        for i in 1..<n {
            maxLogit = max(maxLogit, logits[i])
            minLogit = min(minLogit, logits[i])
        }
        minLogit = max(minLogit, maxLogit - 16)
        var sumExp = 0.0
        for i in 0..<n { sumExp += Double(expf(logits[i] - maxLogit)) }
        let logSumExp = Float(log(sumExp))
        let minLogProb = minLogit - maxLogit - logSumExp
        let scale = (maxLogit - minLogit) / 65535
        let raw = UnsafeMutableRawPointer(record)
        raw.storeBytes(of: scale.bitPattern.littleEndian, toByteOffset: 0, as: UInt32.self)
        raw.storeBytes(of: minLogProb.bitPattern.littleEndian, toByteOffset: 4, as: UInt32.self)
        let q = record + 4
        if scale != 0 {
            let invScale = 1 / scale
            for i in 0..<n {
                q[i] =
                    logits[i] > minLogit ? UInt16(truncatingIfNeeded: nearestInt(invScale * (logits[i] - minLogit))) : 0
            }
        } else {
            q.update(repeating: 0, count: n)
        }
        for i in n..<(slots(vocabularySize: n) - 4) { q[i] = 0 }
        return Double(maxLogit + logSumExp - logits[token])
    }

    /// `scale` and `min_log_prob` of a record.
    @inlinable
    public static func header(_ record: UnsafePointer<UInt16>) -> (scale: Float, minLogProb: Float) {
        let raw = UnsafeRawPointer(record)
        return (
            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self))),
            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        )
    }

    /// ggml's `nearest_int`: round half to even via the 1.5·2²³ trick.
    @inlinable
    static func nearestInt(_ f: Float) -> Int32 {
        let v = f + 12582912
        return Int32(bitPattern: v.bitPattern & 0x007f_ffff) - 0x0040_0000
    }
}

/// The per-position quantities llama-perplexity derives from a model's logits and a reference record.
public struct PositionComparison: Sendable {
    public var nll: Float
    public var nllBase: Float
    public var kld: Double
    public var pDiff: Float
    public var sameTop: Bool

    /// Compares `logits` with a reference `record` for the position predicting `token` (llama-perplexity's
    /// `log_softmax(..., base_log_prob, tok, kld)`, with its float/double precision).
    public init(logits: UnsafePointer<Float>, vocabularySize n: Int, record: UnsafePointer<UInt16>, token: Int) {
        var maxLogit = logits[0]
        var imax = 0
        for i in 1..<n where logits[i] > maxLogit {
            maxLogit = logits[i]
            imax = i
        }
        var sumExp = 0.0
        for i in 0..<n { sumExp += Double(expf(logits[i] - maxLogit)) }
        let logSumExp = Float(log(sumExp))
        let (scale, minLogProb) = LogProbabilityRecord.header(record)
        let q = record + 4
        nll = maxLogit + logSumExp - logits[token]
        nllBase = -(scale * Float(q[token]) + minLogProb)
        let shifted = maxLogit + logSumExp
        var sum = 0.0
        var imaxBase = -1
        var pLogBaseMax: Float = 0
        for i in 0..<n {
            let pLogBase = scale * Float(q[i]) + minLogProb
            if i == 0 || pLogBase > pLogBaseMax {
                pLogBaseMax = pLogBase
                imaxBase = i
            }
            if pLogBase > -16 {
                let pBase = expf(pLogBase)
                sum += Double(pBase * (pLogBase - logits[i] + shifted))
            }
        }
        kld = sum
        sameTop = imax == imaxBase
        pDiff = expf(-nll) - expf(-nllBase)
    }
}
