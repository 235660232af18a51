import Foundation
import Testing
@testable import Inference

/// SmolLM2-135M-Instruct against `/work/shared/golden/smollm2/kld.md` (llama-perplexity, ctx 512, eval.txt).
/// Slow (two full passes over 19 chunks); the files are made with Kiln from the SmolLM2 checkpoint.
@Suite("SmolLM2 golden statistics", .serialized)
struct GoldenTests {
    static func rel(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }

    @Test("F32 perplexity and Q8_0 KL-divergence statistics match llama-perplexity")
    func f32AndQ8() throws {
        let tokens = try Files.evalTokens()
        #expect(tokens.count == 10_226)
        let f32 = try TransformerModel(url: Files.url("f32.gguf"), threads: 2)
        let ref = try Perplexity.reference(model: f32, tokens: tokens, contextLength: 512, threads: 2)
        #expect(ref.chunkCount == 19)
        // The reference against itself: base PPL (from the 16-bit records) within 0.1% of llama's 11.1303.
        let own = try Perplexity.compare(model: f32, reference: ref, threads: 2)
        #expect(Self.rel(own.basePerplexity, 11.130274) < 0.001)
        #expect(Self.rel(own.perplexity, 11.130274) < 0.001)
        #expect(own.meanKLD < 1e-5)
        let q8 = try TransformerModel(url: Files.url("Q8_0.gguf"), threads: 2)
        let s = try Perplexity.compare(model: q8, reference: ref, threads: 2)
        #expect(s.count == 19 * 255)
        // kld.md row Q8_0. Means, medians, the 99th percentile, RMS Δp and same-top within 2%; PPL within 0.2%.
        // ln(PPL ratio) and the maximum are dominated by rounding noise (llama's own ± on ln ratio is 0.0013),
        // so they get absolute tolerances.
        #expect(Self.rel(s.perplexity, 11.170902) < 0.002)
        #expect(abs(s.logPerplexityRatio - 0.003644) < 0.0015)
        #expect(Self.rel(s.meanKLD, 0.003943) < 0.02)
        #expect(Self.rel(Double(s.medianKLD), 0.003179) < 0.02)
        #expect(Self.rel(Double(s.kld99), 0.017255) < 0.03)
        #expect(abs(Double(s.maximumKLD) - 0.071595) < 0.02)
        #expect(Self.rel(100 * s.rmsPDiff, 1.677) < 0.02)
        #expect(Self.rel(100 * s.sameTop, 96.636) < 0.02)
    }
}
