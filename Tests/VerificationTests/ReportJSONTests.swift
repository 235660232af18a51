import Foundation
import JSON
import Testing

@testable import Verification

/// `kiln verify --json` and a manifest's quality record go through `JSONOutput`: a NaN or infinite statistic
/// is written as the strings "NaN", "Infinity", "-Infinity", the line stays valid JSON, and it reads back.
@Suite("Reports with non-finite statistics")
struct ReportJSONTests {
    /// Statistics of one real comparison (identical logits), then made non-finite where a broken model would.
    func statistics() -> KLDStatistics {
        let n = 64
        let logits = (0..<n).map { Float(sin(Double($0) * 0.7) * 3) }
        var record = [UInt16](repeating: 0, count: LogProbabilityRecord.slots(vocabularySize: n))
        _ = logits.withUnsafeBufferPointer { l in
            record.withUnsafeMutableBufferPointer {
                LogProbabilityRecord.encode(logits: l.baseAddress!, vocabularySize: n, token: 3, into: $0.baseAddress!)
            }
        }
        let comparison = logits.withUnsafeBufferPointer { l in
            record.withUnsafeBufferPointer {
                PositionComparison(logits: l.baseAddress!, vocabularySize: n, record: $0.baseAddress!, token: 3)
            }
        }
        var accumulator = KLDAccumulator()
        accumulator.add(comparison)
        var s = accumulator.statistics
        s.meanKLD = .nan
        s.perplexity = .infinity
        s.logPerplexityRatio = -.infinity
        s.maximumKLD = .nan
        return s
    }

    @Test func nonFiniteStatisticsStayInTheReport() throws {
        let report = VerificationReport(
            model: "m.gguf", reference: "ref.gguf", text: "eval.txt", ctx: 512, chunks: 1, tokens: 513,
            statistics: statistics(), gates: QualityGates(maxMeanKLD: 0.1, minSameTopPercent: 90))
        let line = try JSONOutput.line(report)
        #expect(!line.contains("\n"))
        // Valid JSON for a strict parser, with every member present.
        let parsed = try JSONParser.parse(Data(line.utf8))
        #expect(parsed["mean_kld"] == .string("NaN"))
        #expect(parsed["max_kld"] == .string("NaN"))
        #expect(parsed["ppl"] == .string("Infinity"))
        #expect(parsed["ln_ppl_ratio"] == .string("-Infinity"))
        #expect(parsed["model"] == .string("m.gguf"))
        // A NaN statistic fails its gate rather than passing it by comparison.
        #expect(parsed["passed"] == .bool(false))
        #expect(JSONSerialization.isValidJSONObject(try JSONSerialization.jsonObject(with: Data(line.utf8))))
        // And it reads back with the same representation.
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let back = try decoder.decode(VerificationReport.self, from: Data(line.utf8))
        #expect(back.meanKLD.isNaN && back.ppl == .infinity && back.lnPPLRatio == -.infinity)
        #expect(back.model == report.model && back.verdicts.count == 2)
    }
}
