import FileAccess
import Foundation
import GGUF
import Inference

/// The model quantized files are measured against: how to load it and what identifies its content (the
/// logits cache key).
public struct ReferenceModel: Sendable {
    /// A path for messages and reports.
    public let name: String
    let load: @Sendable (_ threads: Int) throws -> TransformerModel
    let contentHash: @Sendable () throws -> [UInt8]
    /// The file identity that memoizes `contentHash` in a cache (``LogitsCache/fileIdentity(of:)``), if any.
    let identity: @Sendable () -> [UInt8]?
    /// The hyperparameters alone, for a cache hit (no weights are loaded).
    let configuration: @Sendable () throws -> ModelConfiguration

    public init(
        name: String, load: @escaping @Sendable (_ threads: Int) throws -> TransformerModel,
        contentHash: @escaping @Sendable () throws -> [UInt8],
        identity: @escaping @Sendable () -> [UInt8]? = { nil },
        configuration: (@Sendable () throws -> ModelConfiguration)? = nil
    ) {
        self.name = name
        self.load = load
        self.contentHash = contentHash
        self.identity = identity
        self.configuration = configuration ?? { try load(1).configuration }
    }

    /// The model, loaded for a forward pass.
    public func loadModel(threads: Int) throws -> TransformerModel { try load(threads) }

    /// A GGUF file (for example the F32 conversion); its bytes are the cache key.
    public static func gguf(_ url: URL) -> ReferenceModel {
        ReferenceModel(
            name: url.path, load: { threads in try TransformerModel(url: url, threads: threads) },
            contentHash: { try LogitsCache.contentHash(of: url) },
            identity: { LogitsCache.fileIdentity(of: url) },
            configuration: {
                let file: GGUFFile
                do { file = try GGUFFile(url: url) } catch {
                    throw InferenceError.io(path: url.path, reason: "\(error)")
                }
                return try ModelConfiguration(file: file)
            })
    }
}

/// `kiln verify`: KL divergence of quantized GGUFs against a reference model over a token sequence, computed
/// as `llama-perplexity --kl-divergence` does. Tokens come from a caller-supplied closure so any tokenizer
/// can be plugged in; the reference's encoded log-probabilities may be cached on disk.
public struct Verifier {
    public var reference: ReferenceModel
    public var contextLength: Int
    public var threads: Int
    /// Where to cache the reference log-probabilities (nil: keep them in memory only).
    public var cacheURL: URL?
    /// Evaluate at most this many chunks (llama-perplexity's `--chunks`).
    public var maxChunks: Int?

    public init(
        reference: ReferenceModel, contextLength: Int = 512,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        cacheURL: URL? = nil
    ) {
        self.reference = reference
        self.contextLength = contextLength
        self.threads = threads
        self.cacheURL = cacheURL
    }

    public init(
        referenceURL: URL, contextLength: Int = 512, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        cacheURL: URL? = nil
    ) {
        self.init(reference: .gguf(referenceURL), contextLength: contextLength, threads: threads, cacheURL: cacheURL)
    }

    /// Throws ``InferenceError/referenceMismatch(_:)`` when `model` cannot be compared with `reference`.
    public static func checkCompatible(
        _ model: ModelConfiguration, reference: ModelConfiguration
    ) throws(InferenceError) {
        func check(_ what: String, _ a: some Equatable, _ b: some Equatable) throws(InferenceError) {
            if !(a as any Equatable).isEqual(b) { throw .referenceMismatch("\(what) \(a) vs reference \(b)") }
        }
        try check("vocabulary size", model.vocabularySize, reference.vocabularySize)
        try check("architecture", model.architecture, reference.architecture)
        try check("embedding length", model.embeddingLength, reference.embeddingLength)
        try check("block count", model.blockCount, reference.blockCount)
        try check("head count", model.headCount, reference.headCount)
        try check("KV head count", model.headCountKV, reference.headCountKV)
        try check("feed-forward length", model.feedForwardLength, reference.feedForwardLength)
    }

    /// The reference log-probabilities for `tokens`, from the cache when it holds them.
    public func reference(
        tokens: [Int32], progress: Perplexity.Progress? = nil
    ) throws -> (ReferenceLogProbabilities, ModelConfiguration) {
        let (chunked, chunks) = try Perplexity.chunkTokens(tokens, contextLength: contextLength, maxChunks: maxChunks)
        var hash: [UInt8]? = nil
        let identity = reference.identity()
        if let cacheURL {
            let computeHash = { () throws(InferenceError) -> [UInt8] in
                if let hash { return hash }
                do { hash = try reference.contentHash() } catch let e as InferenceError { throw e } catch {
                    throw .io(path: reference.name, reason: "\(error)")
                }
                return hash!
            }
            if let r = try LogitsCache.read(
                from: cacheURL, identity: identity, hash: computeHash, tokens: chunked,
                contextLength: contextLength)
            {
                let configuration = try reference.configuration()
                guard r.vocabularySize == configuration.vocabularySize else {
                    throw InferenceError.corruptLogitsCache(
                        path: cacheURL.path,
                        reason: "vocabulary size \(r.vocabularySize) differs from the reference model's")
                }
                return (r, configuration)
            }
        }
        let model = try reference.load(threads)
        if let cacheURL {
            // Each chunk's records go straight to the cache file, which the comparisons then read mapped.
            let h = try hash ?? reference.contentHash()
            let writer = try LogitsCache.Writer(
                url: cacheURL, modelHash: h, identity: identity, contextLength: contextLength,
                vocabularySize: model.configuration.vocabularySize, chunkCount: chunks,
                tokens: chunked)
            try Perplexity.reference(
                model: model, tokens: chunked, chunks: chunks, contextLength: contextLength,
                threads: threads, progress: progress
            ) { (r: UnsafeBufferPointer<UInt16>) throws(InferenceError) in
                try writer.append(r)
            }
            try writer.commit()
            guard
                let r = try LogitsCache.read(
                    from: cacheURL, identity: identity, hash: { h }, tokens: chunked,
                    contextLength: contextLength)
            else {
                throw InferenceError.corruptLogitsCache(
                    path: cacheURL.path, reason: "not readable right after it was written")
            }
            return (r, model.configuration)
        }
        let r = try Perplexity.reference(
            model: model, tokens: tokens, contextLength: contextLength, maxChunks: maxChunks,
            threads: threads, progress: progress)
        return (r, model.configuration)
    }

    /// Verifies each of `models`, returning llama-perplexity's statistics per model.
    public func run(
        models: [URL], tokens: () throws -> [Int32], progress: ((URL, Int, Int) -> Void)? = nil
    ) throws -> [KLDStatistics] {
        let toks = try tokens()
        let (ref, refConfig) = try reference(tokens: toks) { i, n in
            progress?(URL(fileURLWithPath: reference.name), i, n)
        }
        return try models.map { url in
            try compare(model: url, against: (ref, refConfig)) { i, n in progress?(url, i, n) }
        }
    }

    /// Loads `model` and compares it with reference log-probabilities computed (or read) once by
    /// ``reference(tokens:progress:)``, so a ladder pays for the reference once.
    public func compare(
        model url: URL, against reference: (ReferenceLogProbabilities, ModelConfiguration),
        progress: Perplexity.Progress? = nil
    ) throws -> KLDStatistics {
        let m = try NamedFileError.naming(url.path) { try TransformerModel(url: url, threads: threads) }
        do {
            try Self.checkCompatible(m.configuration, reference: reference.1)
        } catch {
            throw NamedFileError(path: url.path, message: "\(error) (the reference: \(self.reference.name))")
        }
        return try Perplexity.compare(model: m, reference: reference.0, threads: threads, progress: progress)
    }
}

extension Equatable {
    fileprivate func isEqual(_ other: Any) -> Bool { (other as? Self) == self }
}
