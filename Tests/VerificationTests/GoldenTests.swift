import Foundation
import Inference
import KilnTestSupport
import Testing

@testable import Verification

/// SmolLM2-135M-Instruct against `../shared/golden/smollm2/kld.md` (llama-perplexity, ctx 512, eval.txt).
/// Slow (seven passes over 19 chunks); the files are made with Kiln from the SmolLM2 checkpoint.
///
/// The forward pass follows llama.cpp's CPU order and llama-perplexity's micro-batches, so every statistic
/// must print exactly as llama-perplexity printed it: the check compares the formatted strings.
@Suite("SmolLM2 golden statistics", .tags(.golden, .slow), .fullTier, .serialized)
struct GoldenTests {
    /// kld.md's rows by model name: PPL, ln ratio, mean, median, 99% and max KLD, RMS Δp %, same top %.
    static func table() throws -> [String: [String]] {
        let shared = try TestEnvironment.shared
        let text = try String(contentsOf: shared.appendingPathComponent("golden/smollm2/kld.md"), encoding: .utf8)
        var rows: [String: [String]] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 9, Double(cells[1]) != nil else { continue }
            rows[cells[0]] = Array(cells[1...])
        }
        return rows
    }

    /// The statistics as llama-perplexity prints them (`%.6f`, Δp and same-top in percent with `%.3f`).
    static func printed(_ s: KLDStatistics) -> [String] {
        func f(_ v: Double, _ digits: Int = 6) -> String { String(format: "%.\(digits)f", v) }
        return [
            f(s.perplexity), f(s.logPerplexityRatio), f(s.meanKLD), f(Double(s.medianKLD)), f(Double(s.kld99)),
            f(Double(s.maximumKLD)), f(100 * s.rmsPDiff, 3), f(100 * s.sameTop, 3)
        ]
    }

    @Test("Every statistic of F16, Q8_0, Q6_K, Q4_K_M, Q4_0 and Q2_K prints as llama-perplexity printed it")
    func ladder() throws {
        let tokens = try ModelFiles.evalTokens()
        #expect(tokens.count == 10_226)
        let table = try Self.table()
        let f32 = try TransformerModel(url: ModelFiles.url("f32.gguf"), threads: 2)
        let ref = try Perplexity.reference(model: f32, tokens: tokens, contextLength: 512, threads: 2)
        #expect(ref.chunkCount == 19)
        // The reference against itself: llama-perplexity's final estimate for the F32 file and kld.md's base PPL.
        let own = try Perplexity.compare(model: f32, reference: ref, threads: 2)
        #expect(String(format: "%.4f", own.perplexity) == "11.1303")
        #expect(String(format: "%.6f", own.basePerplexity) == "11.130274")
        for name in ["F16", "Q8_0", "Q6_K", "Q4_K_M", "Q4_0", "Q2_K"] {
            let expected = try #require(table[name], "kld.md has no \(name) row")
            let model = try TransformerModel(url: ModelFiles.url("\(name).gguf"), threads: 2)
            let s = try Perplexity.compare(model: model, reference: ref, threads: 2)
            #expect(s.count == 19 * 255)
            #expect(String(format: "%.6f", s.basePerplexity) == "11.130274", "\(name) base PPL")
            #expect(Self.printed(s) == expected, "\(name)")
        }
    }

    @Test("llama-perplexity's micro-batches: four chunks per batch, equal shares of 512 tokens")
    func microBatches() {
        // 19 chunks of 512: batches of 4, 4, 4, 4, 3; the last batch's micro-batches take 170 tokens of each
        // chunk, then the last 2.
        let early = Perplexity.microBatches(chunk: 5, chunks: 19, contextLength: 512)
        #expect(early.pieces == [0..<128, 128..<256, 256..<384, 384..<512])
        #expect(early.placement == InferenceSession.MicroBatch(sequence: 1, sequences: 4))
        let late = Perplexity.microBatches(chunk: 17, chunks: 19, contextLength: 512)
        #expect(late.pieces == [0..<170, 170..<340, 340..<510, 510..<512])
        #expect(late.placement == InferenceSession.MicroBatch(sequence: 1, sequences: 3))
        // One chunk per batch from 2048 tokens on: runs of 512.
        let long = Perplexity.microBatches(chunk: 0, chunks: 2, contextLength: 4096)
        #expect(long.pieces.count == 8 && long.pieces.allSatisfy { $0.count == 512 })
        #expect(long.placement == .alone)
    }
}
