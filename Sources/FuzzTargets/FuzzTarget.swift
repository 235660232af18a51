import Catalog
import ChatTemplates
import Conversion
import Foundation
import GGUF
import JSON
import Pipeline
import Safetensors
import Tokenization
import Verification

/// The parsers that read files from strangers, each driven with arbitrary bytes. A target writes the input
/// where Kiln would find it (a file in a scratch folder, since the readers map files), runs the public reader
/// and then uses what it returned the way a command would (every tensor's bytes, a tokenization, a render),
/// so that a reader that accepts a lying header is caught by what follows. Errors are the expected outcome;
/// a crash, a hang or an unbounded allocation is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case gguf
    case safetensors
    case safetensorsIndex = "safetensors-index"
    case tokenizerJSON = "tokenizer-json"
    case sentencePiece = "sentencepiece"
    case imatrix
    case logitsCache = "logits-cache"
    case recipe
    case chatTemplate = "chat-template"
    case manifest

    /// Runs the target on one input and tells whether its reader accepted it. Never throws: a thrown error is a
    /// correct refusal.
    @discardableResult
    public func run(_ input: UnsafeRawBufferPointer, scratch: Scratch) -> Bool {
        let data = Data(input)
        switch self {
        case .gguf: return Self.gguf(scratch.write(data, as: "model.gguf"))
        case .safetensors: return Self.safetensors(scratch.write(data, as: "model.safetensors"))
        case .safetensorsIndex: return Self.safetensorsIndex(data, scratch: scratch)
        case .tokenizerJSON: return Self.tokenizer(scratch.folder(with: "tokenizer.json", data))
        case .sentencePiece: return Self.tokenizer(scratch.folder(with: "tokenizer.model", data))
        case .imatrix: return Self.imatrix(scratch.write(data, as: "imatrix.gguf"))
        case .logitsCache: return Self.logitsCache(input, url: scratch.write(data, as: "reference.logits"))
        case .recipe: return (try? Recipe(yaml: String(decoding: data, as: UTF8.self), file: "fuzz.yaml")) != nil
        case .chatTemplate: return Self.chatTemplate(String(decoding: data, as: UTF8.self))
        case .manifest: return Self.manifest(data, url: scratch.write(data, as: "manifest.json"))
        }
    }

    /// Text a tokenizer is run on: ASCII words and digits, spaces and newlines, accents, CJK, an emoji, and
    /// marker-like text.
    static let sample = "Hello world, it's 2026!\n  Ünïcödé  日本語テキスト 🙂 <|im_start|>user\t[INST] 12345"

    static func gguf(_ url: URL) -> Bool {
        guard let file = try? GGUFFile(url: url) else { return false }
        touch(file.tensors.map(file.data(for:)))
        if let tokenizer = try? Tokenizer(gguf: file) { exercise(tokenizer) }
        return true
    }

    static func safetensors(_ url: URL) -> Bool {
        guard let file = try? SafetensorsFile(url: url) else { return false }
        touch(file.tensors.map(file.data(for:)))
        return true
    }

    /// The index beside two valid shards, so that a well-formed index reaches the checks that join them.
    static func safetensorsIndex(_ data: Data, scratch: Scratch) -> Bool {
        let folder = scratch.folder(with: "model.safetensors.index.json", data)
        for (k, shard) in Seeds.indexShards.enumerated() {
            let url = folder.appendingPathComponent("model-0000\(k + 1)-of-00002.safetensors")
            if !FileManager.default.fileExists(atPath: url.path) { try? Data(shard).write(to: url) }
        }
        guard let checkpoint = try? SafetensorsCheckpoint(directory: folder) else { return false }
        touch(checkpoint.orderedTensors.map { $0.file.data(for: $0.tensor) })
        return true
    }

    static func tokenizer(_ folder: URL) -> Bool {
        guard let tokenizer = try? Tokenizer(directory: folder) else { return false }
        exercise(tokenizer)
        return true
    }

    static func exercise(_ tokenizer: Tokenizer) {
        let ids = tokenizer.encode(sample)
        blackHole(tokenizer.decode(ids).utf8.count)
        blackHole(tokenizer.decode(Array(0..<min(tokenizer.vocabularySize, 64))).utf8.count)
    }

    static func imatrix(_ url: URL) -> Bool {
        let matrix = try? ImportanceMatrix(url: url)
        blackHole(matrix?.entries.count ?? 0)
        var statistics = ImportanceStatistics(chunkSize: 512)
        let merged = (try? statistics.merge(contentsOf: url)) != nil
        blackHole(statistics.entries.count)
        return matrix != nil && merged
    }

    /// Kiln's cache for the seeds' tokens and context, then llama-perplexity's `_logits_` layout.
    static func logitsCache(_ input: UnsafeRawBufferPointer, url: URL) -> Bool {
        let cached = try? LogitsCache.read(
            from: url, modelHash: Seeds.modelHash, tokens: Seeds.cacheTokens, contextLength: Seeds.cacheContext)
        blackHole(cached?.records.count ?? 0)
        let reference = try? ReferenceLogProbabilities(llamaFormat: input, path: url.path)
        blackHole(reference?.records.count ?? 0)
        return cached != nil || reference != nil
    }

    static func chatTemplate(_ source: String) -> Bool {
        guard let template = try? ChatTemplate(source, origin: "fuzz") else { return false }
        let limits = RenderLimits(
            maxCallDepth: 32, maxLoopIterations: 20_000, maxOutputBytes: 1 << 20, maxStringBytes: 1 << 20)
        let messages: [JSONValue] = [
            .object([("role", .string("system")), ("content", .string("Be brief."))]),
            .object([("role", .string("user")), ("content", .string("Hi <b>there</b>"))]),
            .object([("role", .string("assistant")), ("content", .string("Hello."))]),
            .object([("role", .string("user")), ("content", .string("2+2?"))])
        ]
        let request = ChatRequest(
            messages: messages, addGenerationPrompt: true,
            specialTokens: [("bos_token", "<s>"), ("eos_token", "</s>")])
        let text = try? template.apply(
            request, options: RenderOptions(now: Date(timeIntervalSince1970: 0), limits: limits))
        blackHole(text?.utf8.count ?? 0)
        return true
    }

    static func manifest(_ data: Data, url: URL) -> Bool {
        let manifest = try? Manifest(contentsOf: url)
        blackHole(manifest?.variants.count ?? 0)
        let index = try? JSONDecoder().decode(CatalogIndex.self, from: data)
        blackHole(index?.models.count ?? 0)
        return manifest != nil || index != nil
    }

    /// Reads the first and last byte of every tensor's range, which faults if a reader let a range run past
    /// its mapping.
    static func touch(_ tensors: [UnsafeRawBufferPointer]) {
        var checksum: UInt8 = 0
        for bytes in tensors {
            if let first = bytes.first, let last = bytes.last { checksum ^= first ^ last }
        }
        blackHole(checksum)
    }

    @inline(never) static func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }
}

/// A private folder for one fuzzing process: inputs are written here under the names the readers expect.
public final class Scratch: @unchecked Sendable {
    public let root: URL

    public init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        // One folder per Scratch: tests run several targets at once in one process.
        root = URL(fileURLWithPath: base).appendingPathComponent("kiln-fuzz-\(getpid())-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func write(_ data: Data, as name: String) -> URL {
        let url = root.appendingPathComponent(name)
        try? data.write(to: url)
        return url
    }

    /// A folder holding only `name` (and whatever the target adds itself).
    func folder(with name: String, _ data: Data) -> URL {
        let folder = root.appendingPathComponent("folder-" + name)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try? data.write(to: folder.appendingPathComponent(name))
        return folder
    }
}
