import Foundation
import Architectures
import Conversion
import GGUF
import Testing
@testable import Inference

/// The model files the tests read, built on first use with Kiln's own converter and quantizer (from the
/// committed fixtures and the SmolLM2 checkpoint that `scripts/test` prepares).
enum Files {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data")
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-inference-\(getpid())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()
    private static let lock = NSLock()

    static func evalTokens() throws -> [Int32] { try TokenIDs.read(data.appendingPathComponent("eval-ids.txt")) }

    /// `tiny-NAME-f32.gguf`, `tiny-NAME-q8_0.gguf` from `fixtures/tiny-NAME`; `f32.gguf` and `Q8_0.gguf`
    /// from the SmolLM2 checkpoint (`KILN_SMOLLM2_DIR`).
    static func url(_ name: String) throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        let out = dir.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: out.path) { return out }
        if name.hasPrefix("tiny-") {
            let stem = String(name.dropLast(".gguf".count))
            let type = stem.split(separator: "-").last.map(String.init)!
            let fixture = String(stem.dropLast(type.count + 1))
            _ = try Converter.convert(ConversionOptions(
                checkpoint: repositoryRoot.appendingPathComponent("fixtures/\(fixture)"), output: out,
                outputType: OutputType(rawValue: type)!, threads: 2))
        } else {
            guard let smol = ProcessInfo.processInfo.environment["KILN_SMOLLM2_DIR"] else {
                Issue.record("KILN_SMOLLM2_DIR is not set: run the suite with scripts/test")
                throw CocoaError(.fileNoSuchFile)
            }
            let f32 = dir.appendingPathComponent("f32.gguf")
            if !FileManager.default.fileExists(atPath: f32.path) {
                _ = try Converter.convert(ConversionOptions(checkpoint: URL(fileURLWithPath: smol), output: f32, outputType: .f32, threads: 2))
            }
            if name != "f32.gguf" {
                let type = LlamaFileType(parsing: String(name.dropLast(".gguf".count)))!
                _ = try Quantize.run(QuantizeOptions(input: f32, output: out, fileType: type, threads: 2))
            }
        }
        return out
    }
}

@Suite("Forward pass on tiny models")
struct TinyModelTests {
    @Test("Batched prompt evaluation equals token-by-token decoding with the KV cache")
    func batchEqualsIncremental() throws {
        let m = try TransformerModel(url: Files.url("tiny-llama-f32.gguf"), threads: 2)
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
        let m = try TransformerModel(url: Files.url("tiny-llama-q8_0.gguf"), threads: 2)
        let toks: [Int32] = (0..<40).map { Int32(($0 * 37) % 512) }
        let a = try InferenceSession(model: m, contextLength: 64, threads: 1).evaluate(toks, logitsFrom: 0)
        let b = try InferenceSession(model: m, contextLength: 64, threads: 2).evaluate(toks, logitsFrom: 0)
        #expect(a == b)
    }

    @Test("Unsupported architectures are rejected by name, with the supported list, on one line")
    func unsupportedArchitecture() throws {
        // A minimal GGUF (metadata only) declaring an architecture no module runs.
        let url = Files.dir.appendingPathComponent("unsupported-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try GGUFWriter(destination: url, metadata: GGUFMetadata([("general.architecture", .string("kiln-test-arch"))]), tensors: [])
        try writer.finish()
        #expect(throws: InferenceError.unsupportedArchitecture("kiln-test-arch")) {
            try TransformerModel(url: url)
        }
        let message = InferenceError.unsupportedArchitecture("kiln-test-arch").description
        #expect(message == "unsupported architecture 'kiln-test-arch' (supported: llama, qwen2, qwen3, phi3, gemma, gemma2, gemma3)")
        #expect(!message.contains("\n"))
    }

    @Test("Every family's tiny fixture loads; a batch is the same split in two calls, and decoding agrees with it",
          arguments: ["qwen2", "qwen3", "phi3", "gemma", "gemma2", "gemma3"])
    func familyLoads(_ family: String) throws {
        let m = try TransformerModel(url: Files.url("tiny-\(family)-q8_0.gguf"), threads: 2)
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
        let m = try TransformerModel(url: Files.url("tiny-gemma3-q8_0.gguf"), threads: 2)
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
        let m = try TransformerModel(url: Files.url("tiny-llama-f32.gguf"), threads: 1)
        let s = InferenceSession(model: m, contextLength: 4, threads: 1)
        #expect(throws: InferenceError.tokenOutOfRange(token: 512, vocabularySize: 512)) { try s.evaluate([512]) }
        #expect(throws: InferenceError.self) { try s.evaluate([1, 2, 3, 4, 5]) }
    }

    @Test("Text shorter than two chunks is an error")
    func textTooShort() {
        #expect(throws: InferenceError.textTooShort(tokens: 1000, required: 1024)) {
            try Perplexity.chunkTokens([Int32](repeating: 1, count: 1000), contextLength: 512)
        }
    }

    @Test("A reference with another vocabulary or shape is rejected")
    func referenceMismatch() throws {
        let tokens: [Int32] = (0..<64).map { Int32(($0 * 13) % 448) }
        let llama = try TransformerModel(url: Files.url("tiny-llama-f32.gguf"), threads: 2)
        let ref = try Perplexity.reference(model: llama, tokens: tokens, contextLength: 32, threads: 2)
        let mistral = try TransformerModel(url: Files.url("tiny-mistral-f32.gguf"), threads: 2)
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
        let v = Verifier(referenceURL: try Files.url("tiny-llama-f32.gguf"), contextLength: 32, threads: 2,
                         cacheURL: dir.appendingPathComponent("ref.cache"))
        let tokens: [Int32] = (0..<200).map { Int32(($0 * 29) % 512) }
        let a = try v.run(models: [Files.url("tiny-llama-q8_0.gguf")], tokens: { tokens })
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ref.cache").path))
        let b = try v.run(models: [Files.url("tiny-llama-q8_0.gguf")], tokens: { tokens })
        #expect(a == b)
        #expect(a[0].meanKLD > 0 && a[0].meanKLD < 0.05)
    }
}
