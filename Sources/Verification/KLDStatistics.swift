import Foundation
import Inference

/// Accumulates ``PositionComparison``s in order, as llama-perplexity's `kl_divergence_result` does.
public struct KLDAccumulator: Sendable {
    public private(set) var sumNLL = 0.0, sumNLL2 = 0.0
    public private(set) var sumNLLBase = 0.0, sumNLLBase2 = 0.0, sumNLLNLLBase = 0.0
    public private(set) var sumKLD = 0.0, sumKLD2 = 0.0
    public private(set) var sumPDiff = 0.0, sumPDiff2 = 0.0, sumPDiff4 = 0.0
    public private(set) var maxPDiff: Float = 0
    public private(set) var sameTop = 0
    public private(set) var kldValues: [Float] = []
    public private(set) var pDiffValues: [Float] = []

    public init() {}

    public var count: Int { kldValues.count }

    public mutating func add(_ c: PositionComparison) {
        sumNLL += Double(c.nll)
        sumNLL2 += Double(c.nll * c.nll)
        sumNLLBase += Double(c.nllBase)
        sumNLLBase2 += Double(c.nllBase * c.nllBase)
        sumNLLNLLBase += Double(c.nll * c.nllBase)
        sumKLD += c.kld
        sumKLD2 += c.kld * c.kld
        if c.sameTop { sameTop += 1 }
        sumPDiff += Double(c.pDiff)
        let p2 = Double(c.pDiff * c.pDiff)
        sumPDiff2 += p2
        sumPDiff4 += p2 * p2
        maxPDiff = max(maxPDiff, abs(c.pDiff))
        kldValues.append(Float(c.kld))
        pDiffValues.append(c.pDiff)
    }

    /// The final statistics (llama-perplexity prints them only when `count >= 100`).
    public var statistics: KLDStatistics { KLDStatistics(self) }
}

/// The numbers of llama-perplexity's `--kl-divergence` final report.
public struct KLDStatistics: Sendable, Equatable {
    public var count: Int
    public var perplexity: Double
    public var perplexityUncertainty: Double
    public var basePerplexity: Double
    public var correlation: Double
    public var logPerplexityRatio: Double
    public var logPerplexityRatioUncertainty: Double
    public var meanKLD: Double
    public var meanKLDUncertainty: Double
    public var maximumKLD: Float
    public var kld999: Float, kld99: Float, kld95: Float, kld90: Float
    public var medianKLD: Float
    public var kld10: Float, kld05: Float, kld01: Float, kld001: Float
    public var minimumKLD: Float
    public var meanPDiff: Double
    public var medianPDiff: Float
    public var maximumPDiff: Float
    public var minimumPDiff: Float
    public var rmsPDiff: Double
    public var rmsPDiffUncertainty: Double
    public var sameTop: Double
    public var sameTopUncertainty: Double

    static func meanAndUncertainty(_ sum: Double, _ sum2: Double, _ n: Int) -> (Double, Double) {
        if n < 1 { return (0, 0) }
        let f = sum / Double(n)
        var df = sum2 / Double(n) - f * f
        df = df > 0 && n > 10 ? (df / Double(n - 1)).squareRoot() : 0
        return (f, df)
    }

    /// llama-perplexity's percentile: linear interpolation at `fraction·(n−1)` on sorted values, in float.
    static func percentile(_ v: [Float], _ fraction: Float) -> Float {
        if fraction <= 0 { return v.first! }
        if fraction >= 1 { return v.last! }
        var p = fraction * Float(v.count - 1)
        let ip = Int(p)
        p -= Float(ip)
        return (1 - p) * v[ip] + p * v[min(ip + 1, v.count - 1)]
    }

    static func median(_ v: [Float]) -> Float {
        v.count % 2 == 0 ? 0.5 * (v[v.count / 2] + v[v.count / 2 - 1]) : v[v.count / 2]
    }

    init(_ a: KLDAccumulator) {
        let n = a.count
        count = n
        let kl = a.kldValues.sorted(), pd = a.pDiffValues.sorted()
        let lq = Self.meanAndUncertainty(a.sumNLL, a.sumNLL2, n)
        let lb = Self.meanAndUncertainty(a.sumNLLBase, a.sumNLLBase2, n)
        perplexity = exp(lq.0)
        perplexityUncertainty = perplexity * lq.1
        basePerplexity = exp(lb.0)
        let cov =
            n < 10
            ? 0 : (a.sumNLLNLLBase / Double(n) - (a.sumNLL / Double(n)) * (a.sumNLLBase / Double(n))) / Double(n - 1)
        correlation = cov / (lq.1 * lb.1)
        logPerplexityRatio = lq.0 - lb.0
        logPerplexityRatioUncertainty = (lq.1 * lq.1 + lb.1 * lb.1 - 2 * cov).squareRoot()
        let k = Self.meanAndUncertainty(a.sumKLD, a.sumKLD2, n)
        meanKLD = k.0
        meanKLDUncertainty = k.1
        maximumKLD = kl.last ?? 0
        minimumKLD = kl.first ?? 0
        let empty = kl.isEmpty
        kld999 = empty ? 0 : Self.percentile(kl, 0.999)
        kld99 = empty ? 0 : Self.percentile(kl, 0.99)
        kld95 = empty ? 0 : Self.percentile(kl, 0.95)
        kld90 = empty ? 0 : Self.percentile(kl, 0.90)
        medianKLD = empty ? 0 : Self.median(kl)
        kld10 = empty ? 0 : Self.percentile(kl, 0.10)
        kld05 = empty ? 0 : Self.percentile(kl, 0.05)
        kld01 = empty ? 0 : Self.percentile(kl, 0.01)
        kld001 = empty ? 0 : Self.percentile(kl, 0.001)
        meanPDiff = Self.meanAndUncertainty(a.sumPDiff, a.sumPDiff2, n).0
        medianPDiff = empty ? 0 : Self.median(pd)
        maximumPDiff = pd.last ?? 0
        minimumPDiff = pd.first ?? 0
        let mse = Self.meanAndUncertainty(a.sumPDiff2, a.sumPDiff4, n)
        rmsPDiff = mse.0.squareRoot()
        rmsPDiffUncertainty = 0.5 / rmsPDiff * mse.1
        sameTop = n > 0 ? Double(a.sameTop) / Double(n) : 0
        sameTopUncertainty = n > 1 ? (sameTop * (1 - sameTop) / Double(n - 1)).squareRoot() : 0
    }

    /// The report in llama-perplexity's layout (the main lines).
    public var report: String {
        func f(_ v: Double, _ w: Int = 10, _ p: Int = 6) -> String { String(format: "%\(w).\(p)f", v) }
        return """
            ====== Perplexity statistics ======
            Mean PPL(Q)                   : \(f(perplexity)) ± \(f(perplexityUncertainty))
            Mean PPL(base)                : \(f(basePerplexity))
            Cor(ln(PPL(Q)), ln(PPL(base))): \(f(100 * correlation, 6, 2))%
            Mean ln(PPL(Q)/PPL(base))     : \(f(logPerplexityRatio)) ± \(f(logPerplexityRatioUncertainty))

            ====== KL divergence statistics ======
            Mean    KLD: \(f(meanKLD)) ± \(f(meanKLDUncertainty))
            Maximum KLD: \(f(Double(maximumKLD)))
            99.9%   KLD: \(f(Double(kld999)))
            99.0%   KLD: \(f(Double(kld99)))
            Median  KLD: \(f(Double(medianKLD)))
            Minimum KLD: \(f(Double(minimumKLD)))

            ====== Token probability statistics ======
            Mean    Δp: \(f(100 * meanPDiff, 6, 3)) %
            RMS Δp    : \(f(100 * rmsPDiff, 6, 3)) ± \(f(100 * rmsPDiffUncertainty, 5, 3)) %
            Same top p: \(f(100 * sameTop, 6, 3)) ± \(f(100 * sameTopUncertainty, 5, 3)) %
            """
    }
}
