import Foundation
import Inference

/// llama-perplexity's chunked evaluation (`-c n_ctx`, `--kl-divergence-base`, `--kl-divergence`).
///
/// The tokens are cut into `count / n_ctx` chunks; each chunk is evaluated from an empty cache (its first
/// token replaced by BOS when the vocabulary adds BOS), and positions `n_ctx/2 … n_ctx−2` are scored, each
/// predicting the next token.
public enum Perplexity {
    /// Progress callback: (chunks done, chunk count).
    public typealias Progress = (Int, Int) -> Void

    /// The chunks llama-perplexity would evaluate (at most `maxChunks`, its `--chunks`), throwing when fewer
    /// than `2·n_ctx` tokens are given.
    public static func chunkTokens(
        _ tokens: [Int32], contextLength: Int, maxChunks: Int? = nil
    ) throws(InferenceError) -> (tokens: [Int32], chunks: Int) {
        guard contextLength >= 8, contextLength % 2 == 0 else {
            throw .invalidArgument("context length \(contextLength) must be even and ≥ 8")
        }
        if let maxChunks, maxChunks < 1 { throw .invalidArgument("chunk count \(maxChunks) must be at least 1") }
        guard tokens.count >= 2 * contextLength else {
            throw .textTooShort(tokens: tokens.count, required: 2 * contextLength)
        }
        let chunks = min(tokens.count / contextLength, maxChunks ?? .max)
        return (Array(tokens[0..<(chunks * contextLength)]), chunks)
    }

    /// How llama-perplexity has llama.cpp evaluate chunk `i` of `chunks`: it decodes `n_seq = 2048 / n_ctx`
    /// chunks per batch (its default batch of 2048 tokens) as separate sequences, and llama.cpp splits the
    /// batch into micro-batches of at most 512 tokens taking the same number from each sequence (512 / the
    /// sequences in the batch; with one sequence per batch, plain runs of 512). Returns the chunk's position
    /// ranges in evaluation order and its place in each micro-batch.
    static func microBatches(
        chunk i: Int, chunks: Int, contextLength n: Int
    ) -> (pieces: [Range<Int>], placement: InferenceSession.MicroBatch) {
        let batch = 2048, ubatch = 512
        let parallel = max(1, batch / n)
        let sequences = min(parallel, chunks - i / parallel * parallel)
        let step = max(1, ubatch / sequences)
        let pieces = stride(from: 0, to: n, by: step).map { $0..<min(n, $0 + step) }
        return (pieces, InferenceSession.MicroBatch(sequence: i % parallel, sequences: sequences))
    }

    /// ``microBatches(chunk:chunks:contextLength:)`` with runs of pieces merged where one call gives the same
    /// bits: every piece has at least 64 tokens (tiled attention either way) and fills its micro-batch in
    /// groups of 4 (no rows take a repacked kernel's leftover route), so each token's arithmetic is the same
    /// in one call. Fewer, longer calls amortize decoding the weight panels.
    static func calls(
        chunk i: Int, chunks: Int, contextLength n: Int
    ) -> [(range: Range<Int>, placement: InferenceSession.MicroBatch)] {
        let (pieces, placement) = microBatches(chunk: i, chunks: chunks, contextLength: n)
        let mergeable = pieces.allSatisfy {
            $0.count >= InferenceSession.queryTile && ($0.count * placement.sequences) % 4 == 0
        }
        if mergeable, n % 4 == 0 { return [(0..<n, .alone)] }
        return pieces.map { ($0, placement) }
    }

    /// Evaluates chunk `i` of `chunks` in `tokens`, in llama-perplexity's micro-batches, and calls `body` with
    /// the logits of positions `first…n_ctx−1`.
    static func evaluateChunk<R>(
        _ session: InferenceSession, tokens: [Int32], chunk i: Int, chunks: Int, contextLength n: Int,
        _ body: (UnsafePointer<Float>) -> R
    ) throws(InferenceError) -> R {
        let c = session.model.configuration
        var chunk = Array(tokens[(i * n)..<((i + 1) * n)])
        if c.addsBOS, let bos = c.bosToken { chunk[0] = bos }
        session.reset()
        let first = n / 2
        var logits: [Float] = []
        for (piece, placement) in calls(chunk: i, chunks: chunks, contextLength: n) {
            let from = min(piece.count, max(0, first - piece.lowerBound))
            let part = try session.evaluate(Array(chunk[piece]), logitsFrom: from, microBatch: placement)
            if logits.isEmpty { logits = part } else { logits += part }
        }
        return logits.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Runs `model` over `tokens` and encodes the scored log-probabilities, as `--kl-divergence-base` does.
    public static func reference(
        model: TransformerModel, tokens allTokens: [Int32], contextLength n: Int = 512,
        maxChunks: Int? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        progress: Progress? = nil
    ) throws(InferenceError) -> ReferenceLogProbabilities {
        let (tokens, chunks) = try chunkTokens(allTokens, contextLength: n, maxChunks: maxChunks)
        var records: [UInt16] = []
        try reference(
            model: model, tokens: tokens, chunks: chunks, contextLength: n, threads: threads, progress: progress
        ) { chunk in
            records += chunk
        }
        return ReferenceLogProbabilities(
            contextLength: n, vocabularySize: model.configuration.vocabularySize, chunkCount: chunks,
            tokens: tokens, records: records)
    }

    /// The reference pass over `chunks` chunks of `tokens` (already cut by ``chunkTokens(_:contextLength:maxChunks:)``),
    /// handing each chunk's records to `sink` in order.
    static func reference(
        model: TransformerModel, tokens: [Int32], chunks: Int, contextLength n: Int, threads: Int,
        progress: Progress?, sink: (UnsafeBufferPointer<UInt16>) throws(InferenceError) -> Void
    ) throws(InferenceError) {
        let vocab = model.configuration.vocabularySize
        let slots = LogProbabilityRecord.slots(vocabularySize: vocab)
        let scored = n - 1 - n / 2, first = n / 2
        var records = [UInt16](repeating: 0, count: scored * slots)
        let session = InferenceSession(model: model, contextLength: n, threads: threads)
        for i in 0..<chunks {
            try records.withUnsafeMutableBufferPointer {
                (rec: inout UnsafeMutableBufferPointer<UInt16>) throws(InferenceError) in
                let out = SendablePointer(rec.baseAddress!)
                try evaluateChunk(session, tokens: tokens, chunk: i, chunks: chunks, contextLength: n) { logits in
                    let l = UncheckedBox(logits)
                    parallelFor(scored, threads: threads) { r in
                        for j in r {
                            let tok = Int(tokens[i * n + first + j + 1])
                            LogProbabilityRecord.encode(
                                logits: l.value + j * vocab, vocabularySize: vocab, token: tok,
                                into: out.p + j * slots)
                        }
                    }
                }
            }
            try records.withUnsafeBufferPointer { (r: UnsafeBufferPointer<UInt16>) throws(InferenceError) in try sink(r)
            }
            progress?(i + 1, chunks)
        }
    }

    /// Runs `model` over the reference's tokens and accumulates llama-perplexity's KL-divergence statistics.
    public static func compare(
        model: TransformerModel, reference ref: ReferenceLogProbabilities,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        progress: Progress? = nil
    ) throws(InferenceError) -> KLDStatistics {
        let vocab = model.configuration.vocabularySize
        guard vocab == ref.vocabularySize else {
            throw .referenceMismatch("vocabulary size \(vocab) vs reference \(ref.vocabularySize)")
        }
        let n = ref.contextLength, scored = ref.scoredPerChunk, first = n / 2, slots = ref.slots
        let session = InferenceSession(model: model, contextLength: n, threads: threads)
        var acc = KLDAccumulator()
        for i in 0..<ref.chunkCount {
            let results = try evaluateChunk(
                session, tokens: ref.tokens, chunk: i, chunks: ref.chunkCount, contextLength: n
            ) { logits in
                let l = UncheckedBox(logits)
                return ref.records.withUnsafeBufferPointer { rec in
                    let base = UncheckedBox(rec.baseAddress! + i * scored * slots)
                    return [PositionComparison](unsafeUninitializedCapacity: scored) { buf, count in
                        let out = SendablePointer(buf.baseAddress!)
                        parallelFor(scored, threads: threads) { r in
                            for j in r {
                                let tok = Int(ref.tokens[i * n + first + j + 1])
                                (out.p + j).initialize(
                                    to: PositionComparison(
                                        logits: l.value + j * vocab, vocabularySize: vocab,
                                        record: base.value + j * slots, token: tok))
                            }
                        }
                        count = scored
                    }
                }
            }
            ref.records.release((i * scored * slots)..<((i + 1) * scored * slots))
            for r in results { acc.add(r) }
            progress?(i + 1, ref.chunkCount)
        }
        return acc.statistics
    }

    /// Perplexity of `model` alone over the scored positions (llama-perplexity without a base).
    public static func perplexity(
        model: TransformerModel, tokens allTokens: [Int32], contextLength n: Int = 512,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        progress: Progress? = nil
    ) throws(InferenceError) -> Double {
        let (tokens, chunks) = try chunkTokens(allTokens, contextLength: n)
        let vocab = model.configuration.vocabularySize
        let scored = n - 1 - n / 2, first = n / 2
        let session = InferenceSession(model: model, contextLength: n, threads: threads)
        var nll = 0.0
        for i in 0..<chunks {
            nll += try evaluateChunk(session, tokens: tokens, chunk: i, chunks: chunks, contextLength: n) { logits in
                var s = 0.0
                for j in 0..<scored {
                    let row = logits + j * vocab
                    var m = row[0]
                    for k in 1..<vocab { m = max(m, row[k]) }
                    var se = 0.0
                    for k in 0..<vocab { se += Double(expf(row[k] - m)) }
                    s += Double(m) + log(se) - Double(row[Int(tokens[i * n + first + j + 1])])
                }
                return s
            }
            progress?(i + 1, chunks)
        }
        return exp(nll / Double(chunks * scored))
    }
}
