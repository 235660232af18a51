import Foundation

/// `kiln verify`: KL divergence of quantized GGUFs against a reference GGUF over a token sequence, computed
/// as `llama-perplexity --kl-divergence` does. Tokens come from a caller-supplied closure so any tokenizer
/// can be plugged in; the reference's encoded log-probabilities may be cached on disk.
public struct Verifier {
    public var referenceURL: URL
    public var contextLength: Int
    public var threads: Int
    /// Where to cache the reference log-probabilities (nil: keep them in memory only).
    public var cacheURL: URL?

    public init(referenceURL: URL, contextLength: Int = 512, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                cacheURL: URL? = nil) {
        self.referenceURL = referenceURL
        self.contextLength = contextLength
        self.threads = threads
        self.cacheURL = cacheURL
    }

    /// Throws ``InferenceError/referenceMismatch(_:)`` when `model` cannot be compared with `reference`.
    public static func checkCompatible(_ model: ModelConfiguration, reference: ModelConfiguration) throws(InferenceError) {
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
    public func reference(tokens: [Int32], progress: Perplexity.Progress? = nil) throws(InferenceError) -> (ReferenceLogProbabilities, ModelConfiguration) {
        let (chunked, _) = try Perplexity.chunkTokens(tokens, contextLength: contextLength)
        let model = try TransformerModel(url: referenceURL, threads: threads)
        var hash: [UInt8] = []
        if let cacheURL {
            hash = try LogitsCache.contentHash(of: referenceURL)
            if let r = try LogitsCache.read(from: cacheURL, modelHash: hash, tokens: chunked, contextLength: contextLength) {
                guard r.vocabularySize == model.configuration.vocabularySize else {
                    throw .corruptLogitsCache(path: cacheURL.path, reason: "vocabulary size \(r.vocabularySize) differs from the reference model's")
                }
                return (r, model.configuration)
            }
        }
        let r = try Perplexity.reference(model: model, tokens: chunked, contextLength: contextLength, threads: threads, progress: progress)
        if let cacheURL { try LogitsCache.write(r, modelHash: hash, to: cacheURL) }
        return (r, model.configuration)
    }

    /// Verifies each of `models`, returning llama-perplexity's statistics per model.
    public func run(models: [URL], tokens: () throws -> [Int32], progress: ((URL, Int, Int) -> Void)? = nil) throws -> [KLDStatistics] {
        let toks = try tokens()
        let (ref, refConfig) = try reference(tokens: toks) { i, n in progress?(referenceURL, i, n) }
        var out: [KLDStatistics] = []
        for url in models {
            let m = try TransformerModel(url: url, threads: threads)
            try Self.checkCompatible(m.configuration, reference: refConfig)
            out.append(try Perplexity.compare(model: m, reference: ref, threads: threads) { i, n in progress?(url, i, n) })
        }
        return out
    }
}

private extension Equatable {
    func isEqual(_ other: Any) -> Bool { (other as? Self) == self }
}
