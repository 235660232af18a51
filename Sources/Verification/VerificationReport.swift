import Foundation

/// Thresholds a verified model must meet (`kiln verify --max-kld/--min-same-top-p`, a recipe's `verify`
/// section). A model that misses one is rejected: `kiln verify` exits with status 3, a build does not
/// publish it.
public struct QualityGates: Codable, Sendable, Equatable {
    /// Highest acceptable mean KLD.
    public var maxMeanKLD: Double?
    /// Lowest acceptable same-top-p, in percent.
    public var minSameTopPercent: Double?

    enum CodingKeys: String, CodingKey {
        case maxMeanKLD = "max_kld"
        case minSameTopPercent = "min_same_top_p_percent"
    }

    public init(maxMeanKLD: Double? = nil, minSameTopPercent: Double? = nil) {
        self.maxMeanKLD = maxMeanKLD
        self.minSameTopPercent = minSameTopPercent
    }

    /// One gate's verdict.
    public struct Verdict: Codable, Sendable, Equatable {
        public var gate: String
        public var limit: Double
        public var value: Double
        public var passed: Bool
    }

    /// Every configured gate checked against `s`. A NaN statistic fails its gate.
    public func verdicts(_ s: KLDStatistics) -> [Verdict] {
        var out: [Verdict] = []
        if let maxMeanKLD {
            out.append(Verdict(gate: "max_kld", limit: maxMeanKLD, value: s.meanKLD, passed: s.meanKLD <= maxMeanKLD))
        }
        if let minSameTopPercent {
            let v = s.sameTop * 100
            out.append(
                Verdict(
                    gate: "min_same_top_p_percent", limit: minSameTopPercent, value: v, passed: v >= minSameTopPercent))
        }
        return out
    }
}

/// What `kiln verify --json` prints for one model, and what a manifest records of a variant's quality: the
/// statistics `llama-perplexity --kl-divergence` prints, the measurement's inputs, and the gates. Non-finite
/// statistics are written as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (see `JSONOutput`).
public struct VerificationReport: Codable, Sendable, Equatable {
    public var model: String
    public var reference: String
    public var text: String
    public var ctx: Int
    public var chunks: Int
    public var tokens: Int
    public var positions: Int
    public var gates: QualityGates
    public var ppl: Double
    public var pplReference: Double
    public var lnPPLRatio: Double
    public var meanKLD: Double
    public var medianKLD: Double
    public var kld99: Double
    public var maxKLD: Double
    public var rmsDpPercent: Double
    public var sameTopPPercent: Double
    public var verdicts: [QualityGates.Verdict]
    public var passed: Bool

    enum CodingKeys: String, CodingKey {
        case model, reference, text, ctx, chunks, tokens, positions, gates, ppl, verdicts, passed
        case pplReference = "ppl_reference"
        case lnPPLRatio = "ln_ppl_ratio"
        case meanKLD = "mean_kld"
        case medianKLD = "median_kld"
        case kld99 = "kld_99"
        case maxKLD = "max_kld"
        case rmsDpPercent = "rms_dp_percent"
        case sameTopPPercent = "same_top_p_percent"
    }

    public init(
        model: String, reference: String, text: String, ctx: Int, chunks: Int, tokens: Int, statistics s: KLDStatistics,
        gates: QualityGates
    ) {
        self.model = model
        self.reference = reference
        self.text = text
        self.ctx = ctx
        self.chunks = chunks
        self.tokens = tokens
        positions = s.count
        self.gates = gates
        ppl = s.perplexity
        pplReference = s.basePerplexity
        lnPPLRatio = s.logPerplexityRatio
        meanKLD = s.meanKLD
        medianKLD = Double(s.medianKLD)
        kld99 = Double(s.kld99)
        maxKLD = Double(s.maximumKLD)
        rmsDpPercent = s.rmsPDiff * 100
        sameTopPPercent = s.sameTop * 100
        verdicts = gates.verdicts(s)
        passed = verdicts.allSatisfy(\.passed)
    }
}
