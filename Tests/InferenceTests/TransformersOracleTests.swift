import Foundation
import GGUF
import KilnTestSupport
import Testing

@testable import Inference

/// Kiln's F32 forward pass against the `transformers` package (F32, eager attention): every position's
/// logits of several token sequences, on SmolLM2 and the tiny fixture of every supported family.
///
/// The GGUFs are converted by Kiln itself; Kiln runs with an F32 KV cache (llama.cpp's default F16 cache
/// alone moves logits by more than the tolerance). Sequences are token ids, so the tokenizer is not part of
/// the comparison. The interpreter comes from `KILN_ORACLE_PYTHON` (prepared by `scripts/test`); a missing
/// variable is a failure, never a skip.
@Suite("Forward pass against transformers", .tags(.oracle, .slow), .fullTier, .serialized)
struct TransformersOracleTests {
    /// Largest tolerated |Δ logit|.
    static let tolerance: Float = 1e-3

    /// Fixture name and the sequence lengths run on it. Gemma 2 slides over 4096 positions on even layers
    /// and Gemma 3 over 512 on layers 0–4 of 6, so each also gets a sequence longer than its window;
    /// tiny-llama-sharded's Llama-3 rope factors (`rope_freqs.weight`) move logits by 4e-5 at 40 positions
    /// but 2e-3 at 2000.
    static let fixtures: [(String, [Int])] = [
        ("tiny-llama", [8, 23, 40]),
        ("tiny-llama-sharded", [8, 23, 40, 2000]),
        ("tiny-mistral", [8, 23, 40]),
        ("tiny-qwen2", [8, 23, 40]),
        ("tiny-qwen3", [8, 23, 40]),
        ("tiny-phi3", [8, 23, 40]),
        ("tiny-gemma", [8, 23, 40]),
        ("tiny-gemma2", [8, 23, 40, 4200]),
        ("tiny-gemma3", [8, 23, 40, 600])
    ]

    @Test("Tiny fixtures match transformers within 1e-3", arguments: fixtures.map(\.0))
    func tinyFixture(_ name: String) throws {
        let lengths = Self.fixtures.first { $0.0 == name }!.1
        let model = try TransformerModel(url: ModelFiles.url("\(name)-f32.gguf"), threads: 2)
        let vocab = model.configuration.vocabularySize
        let sequences = lengths.enumerated().map { i, n in
            Self.pseudoRandomIDs(count: n, below: vocab, seed: UInt64(i + 1))
        }
        let deltas = try Self.maxDeltas(
            model: model, checkpoint: ModelFiles.repositoryRoot.appendingPathComponent("fixtures/\(name)"),
            sequences: sequences)
        print("oracle \(name): max |Δ logit| per sequence \(zip(lengths, deltas).map { "\($0)→\($1)" })")
        for (n, d) in zip(lengths, deltas) {
            #expect(d <= Self.tolerance, "\(name), \(n) tokens: max |Δ logit| \(d)")
        }
    }

    /// A fixture run with features its config leaves idle switched on, on both sides: metadata set on
    /// Kiln's GGUF and the matching config attributes on transformers'.
    struct Variant: Sendable, CustomTestStringConvertible {
        let fixture: String
        let lengths: [Int]
        let metadata: [(String, GGUFValue)]
        let config: [String: String]
        var testDescription: String { fixture + " with " + config.keys.sorted().joined(separator: ", ") }
    }

    /// tiny-gemma2's caps (50, 30) barely move its small scores and logits (< 1e-4), so they are lowered
    /// until they bend them. tiny-gemma3 (two layers, pattern 6) has no global layer, no rope scaling and no
    /// final cap: with pattern 2 its layer 1 attends globally with the scaled 1e6 base while layer 0 keeps
    /// the 512-window and the 10000 local base.
    static let variants: [Variant] = [
        Variant(
            fixture: "tiny-gemma2", lengths: [8, 40],
            metadata: [
                ("gemma2.attn_logit_softcapping", .float32(0.02)), ("gemma2.final_logit_softcapping", .float32(0.5))
            ],
            config: ["attn_logit_softcapping": "0.02", "final_logit_softcapping": "0.5"]),
        Variant(
            fixture: "tiny-gemma3", lengths: [8, 40, 600],
            metadata: [
                ("gemma3.attention.sliding_window_pattern", .uint32(2)),
                ("gemma3.rope.scaling.type", .string("linear")),
                ("gemma3.rope.scaling.factor", .float32(8)), ("gemma3.final_logit_softcapping", .float32(0.5))
            ],
            config: [
                "layer_types": #"["sliding_attention", "full_attention"]"#,
                "rope_parameters":
                    #"{"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}, "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}"#,
                "final_logit_softcapping": "0.5"
            ])
    ]

    @Test("Soft-capping, a global gemma3 layer and linear rope scaling match transformers", arguments: variants)
    func variant(_ v: Variant) throws {
        let file = try GGUFFile(url: ModelFiles.url("\(v.fixture)-f32.gguf"))
        var metadata = file.metadata
        for (key, value) in v.metadata { metadata.set(key, value) }
        let model = try TransformerModel(file: MetadataOverride(file, metadata: metadata), threads: 2)
        let c = model.configuration
        if v.fixture == "tiny-gemma3" {
            #expect(c.slidingLayers == [true, false] && c.ropeFreqScale == 0.125 && c.finalLogitSoftcap == 0.5)
        } else {
            #expect(c.attentionLogitSoftcap == 0.02 && c.finalLogitSoftcap == 0.5)
        }
        let sequences = v.lengths.enumerated().map { i, n in
            Self.pseudoRandomIDs(count: n, below: c.vocabularySize, seed: UInt64(i + 11))
        }
        let deltas = try Self.maxDeltas(
            model: model, checkpoint: ModelFiles.repositoryRoot.appendingPathComponent("fixtures/\(v.fixture)"),
            sequences: sequences, config: v.config)
        print("oracle \(v.testDescription): max |Δ logit| per sequence \(zip(v.lengths, deltas).map { "\($0)→\($1)" })")
        for (n, d) in zip(v.lengths, deltas) {
            #expect(d <= Self.tolerance, "\(v.testDescription), \(n) tokens: max |Δ logit| \(d)")
        }
    }

    @Test("SmolLM2 matches transformers within 1e-3")
    func smolLM2() throws {
        guard let dir = Self.environment("KILN_SMOLLM2_DIR") else { return }
        let model = try TransformerModel(url: ModelFiles.url("f32.gguf"), threads: 2)
        let text = try ModelFiles.evalTokens()
        // Two stretches of real tokenized text (the first with BOS-less start of the file) and two
        // pseudo-random sequences.
        let sequences: [[Int32]] = [
            Array(text[0..<32]), Array(text[5000..<5040]),
            Self.pseudoRandomIDs(count: 8, below: model.configuration.vocabularySize, seed: 7),
            Self.pseudoRandomIDs(count: 21, below: model.configuration.vocabularySize, seed: 8)
        ]
        let deltas = try Self.maxDeltas(model: model, checkpoint: URL(fileURLWithPath: dir), sequences: sequences)
        print("oracle smollm2: max |Δ logit| per sequence \(zip(sequences.map(\.count), deltas).map { "\($0)→\($1)" })")
        for (s, d) in zip(sequences, deltas) {
            #expect(d <= Self.tolerance, "SmolLM2, \(s.count) tokens: max |Δ logit| \(d)")
        }
    }

    @Test("The F16 cache stays the default and differs from the F32 one")
    func cachePrecisionDefault() throws {
        let model = try TransformerModel(url: ModelFiles.url("tiny-qwen2-f32.gguf"), threads: 2)
        let ids = Self.pseudoRandomIDs(count: 24, below: model.configuration.vocabularySize, seed: 3)
        let f16 = InferenceSession(model: model, contextLength: 24, threads: 2)
        #expect(f16.cachePrecision == .f16)
        let a = try f16.evaluate(ids, logitsFrom: 0)
        let b = try InferenceSession(model: model, contextLength: 24, threads: 2, cachePrecision: .f32).evaluate(
            ids, logitsFrom: 0)
        #expect(a != b)
        #expect(zip(a, b).map { abs($0 - $1) }.max()! < 0.05)
    }

    // MARK: - Helpers

    /// Deterministic ids in `0..<below` (a 64-bit LCG, so the sequences never change between runs).
    static func pseudoRandomIDs(count: Int, below: Int, seed: UInt64) -> [Int32] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int32((state >> 33) % UInt64(below))
        }
    }

    /// The variable `name`, recording an issue (a failure, not a skip) when it is unset.
    static func environment(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
            Issue.record("\(name) is not set: run the suite with scripts/test, which prepares it")
            return nil
        }
        return v
    }

    /// Runs `sequences` through Kiln (F32 KV cache) and through transformers on `checkpoint`, and returns
    /// the largest |Δ logit| of each sequence over all its positions and Kiln's vocabulary.
    /// `config` holds transformers config overrides (attribute → JSON value).
    static func maxDeltas(
        model: TransformerModel, checkpoint: URL, sequences: [[Int32]],
        config: [String: String] = [:]
    ) throws -> [Float] {
        guard let python = environment("KILN_ORACLE_PYTHON") else { return [] }
        let vocab = model.configuration.vocabularySize
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let idsURL = dir.appendingPathComponent("ids.txt"), logitsURL = dir.appendingPathComponent("logits.f32")
        try sequences.map { $0.map(String.init).joined(separator: " ") }.joined(separator: "\n")
            .write(to: idsURL, atomically: true, encoding: .utf8)
        let script = ModelFiles.repositoryRoot.appendingPathComponent("scripts/oracle/transformers_logits.py")
        let overrides = config.sorted { $0.key < $1.key }.flatMap { ["--set", "\($0.key)=\($0.value)"] }
        let result = try run(python, [script.path] + overrides + [checkpoint.path, idsURL.path, logitsURL.path])
        guard result.status == 0 else {
            Issue.record("transformers_logits.py failed (\(result.status)): \(result.stderr.suffix(2000))")
            return []
        }
        guard let line = result.stdout.split(separator: "\n").last,
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let oracleVocab = json["vocab_size"] as? Int
        else {
            Issue.record("unexpected output of transformers_logits.py: \(result.stdout)")
            return []
        }
        #expect(oracleVocab >= vocab)
        let data = try Data(contentsOf: logitsURL)
        #expect(data.count == sequences.reduce(0) { $0 + $1.count } * oracleVocab * 4)
        var deltas: [Float] = []
        var offset = 0
        for ids in sequences {
            let session = InferenceSession(model: model, contextLength: ids.count, threads: 2, cachePrecision: .f32)
            let kiln = try session.evaluate(ids, logitsFrom: 0)
            var worst: Float = 0
            data.withUnsafeBytes { raw in
                for t in 0..<ids.count {
                    for j in 0..<vocab {
                        let bits = raw.loadUnaligned(
                            fromByteOffset: offset + (t * oracleVocab + j) * 4, as: UInt32.self)
                        let reference = Float(bitPattern: UInt32(littleEndian: bits))
                        worst = max(worst, abs(kiln[t * vocab + j] - reference))
                    }
                }
            }
            if !kiln.allSatisfy(\.isFinite) { worst = .infinity }
            deltas.append(worst)
            offset += ids.count * oracleVocab * 4
        }
        return deltas
    }
}

/// A GGUF file seen with other metadata (the tensors are the file's).
final class MetadataOverride: WeightSource {
    let file: GGUFFile
    let metadata: GGUFMetadata

    init(_ file: GGUFFile, metadata: GGUFMetadata) {
        self.file = file
        self.metadata = metadata
    }

    var sourceName: String { file.url.path }
    var tensorInfos: [GGUFTensorInfo] { file.tensors }
    func tensor(named name: String) -> GGUFTensorInfo? { file.tensor(named: name) }
    func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer { file.data(for: tensor) }
}
