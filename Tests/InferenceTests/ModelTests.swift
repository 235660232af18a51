import Architectures
import Conversion
import Foundation
import GGUF
import KilnTestSupport
import Testing

@testable import Inference

@Suite("Forward pass on tiny models")
struct TinyModelTests {
    @Test("Batched prompt evaluation equals token-by-token decoding with the KV cache")
    func batchEqualsIncremental() throws {
        let m = try TransformerModel(url: ModelFiles.url("tiny-llama-f32.gguf"), threads: 2)
        let toks: [Int32] = [5, 17, 300, 42, 42, 7, 511, 0, 99, 123]
        let s = InferenceSession(model: m, contextLength: 32, threads: 2)
        let batch = try s.evaluate(toks, logitsFrom: 0)
        s.reset()
        let v = m.configuration.vocabularySize
        for (i, t) in toks.enumerated() {
            let l = try s.evaluate([t])
            // The batch (under 64 tokens) attends key by key as ggml does, with the query and the output
            // accumulator rounded to F16; decoding accumulates in F32.
            for j in 0..<v { #expect(abs(l[j] - batch[i * v + j]) <= 5e-4 * max(1, abs(l[j]))) }
        }
        #expect(s.position == toks.count)
    }

    @Test("Thread count does not change the logits")
    func threadIndependence() throws {
        let m = try TransformerModel(url: ModelFiles.url("tiny-llama-q8_0.gguf"), threads: 2)
        let toks: [Int32] = (0..<40).map { Int32(($0 * 37) % 512) }
        let a = try InferenceSession(model: m, contextLength: 64, threads: 1).evaluate(toks, logitsFrom: 0)
        let b = try InferenceSession(model: m, contextLength: 64, threads: 2).evaluate(toks, logitsFrom: 0)
        #expect(a == b)
    }

    @Test("Unsupported architectures are rejected by name, with the supported list, on one line")
    func unsupportedArchitecture() throws {
        // A minimal GGUF (metadata only) declaring an architecture no module runs.
        let url = ModelFiles.dir.appendingPathComponent("unsupported-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try GGUFWriter(
            destination: url, metadata: GGUFMetadata([("general.architecture", .string("kiln-test-arch"))]), tensors: []
        )
        try writer.finish()
        #expect(throws: InferenceError.unsupportedArchitecture("kiln-test-arch")) {
            try TransformerModel(url: url)
        }
        let message = InferenceError.unsupportedArchitecture("kiln-test-arch").description
        #expect(
            message
                == "unsupported architecture 'kiln-test-arch' (supported: llama, qwen2, qwen3, phi3, gemma, gemma2, gemma3)"
        )
        #expect(!message.contains("\n"))
    }

    @Test(
        "Every family's tiny fixture loads; a batch is the same split in two calls, and decoding agrees with it",
        arguments: ["qwen2", "qwen3", "phi3", "gemma", "gemma2", "gemma3"])
    func familyLoads(_ family: String) throws {
        let m = try TransformerModel(url: ModelFiles.url("tiny-\(family)-q8_0.gguf"), threads: 2)
        #expect(m.configuration.architecture == family)
        let toks: [Int32] = (0..<12).map { Int32(($0 * 53 + 11) % 400) }
        let s = InferenceSession(model: m, contextLength: 16, threads: 2)
        let batch = try s.evaluate(toks, logitsFrom: 0)
        // Micro-batches under 64 tokens attend key by key and multiply in llama.cpp's order: each output
        // depends on its own token only, so two calls give the same bits as one.
        s.reset()
        let split = try s.evaluate(Array(toks[0..<5]), logitsFrom: 0) + s.evaluate(Array(toks[5...]), logitsFrom: 0)
        #expect(split == batch, "\(family): 5 + 7 tokens")
        // One token at a time runs Kiln's decoding kernels, which add in another order and accumulate attention
        // in F32 where the batch (as ggml) rounds its accumulator to F16; activations rounded to the Q8_0 grid
        // then flip now and then, hence a percent or two, not a few ulps.
        s.reset()
        let v = m.configuration.vocabularySize
        for (i, t) in toks.enumerated() {
            let l = try s.evaluate([t])
            let row = batch[(i * v)..<((i + 1) * v)]
            let worst = zip(l, row).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            #expect(worst < 2e-2, "\(family) position \(i): decoding differs from the batch by \(worst)")
        }
    }

    @Test("Past the sliding window, a batch is the same split in two calls, and decoding agrees (gemma3, window 512)")
    func slidingWindowDecoding() throws {
        let m = try TransformerModel(url: ModelFiles.url("tiny-gemma3-q8_0.gguf"), threads: 2)
        let window = try #require(m.configuration.slidingWindow)
        #expect(window == 512)
        let n = window + 21
        let toks: [Int32] = (0..<n).map { Int32(($0 * 53 + 11) % 400) }
        let s = InferenceSession(model: m, contextLength: n, threads: 2)
        let from = window - 9
        let batch = try s.evaluate(toks, logitsFrom: from)
        // Both calls have at least 64 tokens, so both take the tiled attention, windowed by position.
        s.reset()
        _ = try s.evaluate(Array(toks[0..<300]), logitsFrom: 300)
        let split = try s.evaluate(Array(toks[300...]), logitsFrom: from - 300)
        #expect(split == batch)
        s.reset()
        let v = m.configuration.vocabularySize
        for (i, t) in toks.enumerated() {
            let l = try s.evaluate([t])
            guard i >= from else { continue }
            let row = batch[((i - from) * v)..<((i - from + 1) * v)]
            let worst = zip(l, row).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            #expect(worst < 1e-2, "position \(i): decoding differs from the batch by \(worst)")
        }
    }

    @Test("Out-of-vocabulary tokens and context overflow are errors")
    func badTokens() throws {
        let m = try TransformerModel(url: ModelFiles.url("tiny-llama-f32.gguf"), threads: 1)
        let s = InferenceSession(model: m, contextLength: 4, threads: 1)
        #expect(throws: InferenceError.tokenOutOfRange(token: 512, vocabularySize: 512)) { try s.evaluate([512]) }
        #expect(throws: InferenceError.self) { try s.evaluate([1, 2, 3, 4, 5]) }
    }
}
