import Foundation
import Inference
import KilnTestSupport
import Testing

@testable import Verification

@Suite("Verifier on tiny models")
struct VerifierTests {
    @Test("Text shorter than two chunks is an error")
    func textTooShort() {
        #expect(throws: InferenceError.textTooShort(tokens: 1000, required: 1024)) {
            try Perplexity.chunkTokens([Int32](repeating: 1, count: 1000), contextLength: 512)
        }
    }

    @Test("A reference with another vocabulary or shape is rejected")
    func referenceMismatch() throws {
        let tokens: [Int32] = (0..<64).map { Int32(($0 * 13) % 448) }
        let llama = try TransformerModel(url: ModelFiles.url("tiny-llama-f32.gguf"), threads: 2)
        let ref = try Perplexity.reference(model: llama, tokens: tokens, contextLength: 32, threads: 2)
        let mistral = try TransformerModel(url: ModelFiles.url("tiny-mistral-f32.gguf"), threads: 2)
        #expect(throws: InferenceError.referenceMismatch("vocabulary size 448 vs reference 512")) {
            try Perplexity.compare(model: mistral, reference: ref, threads: 2)
        }
        #expect(throws: InferenceError.self) {
            try Verifier.checkCompatible(mistral.configuration, reference: llama.configuration)
        }
        // The same model against its own reference: zero divergence (up to the 16-bit encoding).
        let s = try Perplexity.compare(model: llama, reference: ref, threads: 2)
        #expect(s.meanKLD < 1e-5)
        #expect(s.sameTop > 0.99)
    }

    @Test("Verifier caches the reference and reuses it")
    func verifierCache() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = Verifier(
            referenceURL: try ModelFiles.url("tiny-llama-f32.gguf"), contextLength: 32, threads: 2,
            cacheURL: dir.appendingPathComponent("ref.cache"))
        let tokens: [Int32] = (0..<200).map { Int32(($0 * 29) % 512) }
        let a = try v.run(models: [ModelFiles.url("tiny-llama-q8_0.gguf")], tokens: { tokens })
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ref.cache").path))
        let b = try v.run(models: [ModelFiles.url("tiny-llama-q8_0.gguf")], tokens: { tokens })
        #expect(a == b)
        #expect(a[0].meanKLD > 0 && a[0].meanKLD < 0.05)
    }
}
