import Conversion
import Foundation
import Inference

/// `llama-imatrix`'s computation with Kiln's forward pass: the sum of squared input activations of every
/// weight matrix over a calibration text, chunk by chunk.
///
/// The chunks are evaluated in llama-imatrix's schedule, which decides the order in which activation rows
/// are summed (float sums, so the order shows in the bits): `2048 / n_ctx` chunks at a time as parallel
/// sequences, each micro-batch taking the same number of consecutive tokens from every sequence, one
/// sequence after another. Kiln keeps one session per sequence and evaluates each sequence's share of a
/// micro-batch in turn, so every weight sees its rows in exactly that order. Each chunk starts with BOS
/// (its first token replaced) when the vocabulary adds one, every token is an output, and the running
/// perplexity scores the second half of each chunk as llama-imatrix prints it.
public struct ImportanceCollection {
    public struct Options: Sendable {
        public var contextLength = 512
        public var maxChunks: Int?
        /// Collect `output.weight` too (`--process-output`); a tied output (`token_embd.weight`) never is.
        public var processOutput = false
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        public init() {}
    }

    /// After each chunk: chunks done, chunk count, the running perplexity.
    public typealias Progress = (_ done: Int, _ chunks: Int, _ perplexity: Double) -> Void

    public struct Result: Sendable {
        public var chunks: Int
        public var perplexity: Double
        /// The standard error of the perplexity, as llama-imatrix's final estimate prints it.
        public var perplexityError: Double
    }

    /// Runs `model` over `tokens` (already tokenized with BOS where the vocabulary adds one) and adds the
    /// activations to `statistics`, whose chunk size must be the context length.
    public static func run(
        model: TransformerModel, tokens allTokens: [Int32], options: Options,
        into statistics: inout ImportanceStatistics, progress: Progress? = nil
    ) throws(InferenceError) -> Result {
        let n = options.contextLength
        let (tokens, chunks) = try Perplexity.chunkTokens(allTokens, contextLength: n, maxChunks: options.maxChunks)
        let c = model.configuration
        let vocab = c.vocabularySize
        let parallel = max(1, 2048 / n)
        let sessions = (0..<min(parallel, chunks)).map { _ in
            InferenceSession(model: model, contextLength: n, threads: options.threads)
        }
        let collector = Collector(statistics: statistics, processOutput: options.processOutput)
        for session in sessions {
            session.observeProduct = { weight, rows, tokens, microBatchTokens in
                collector.add(weight, rows, tokens: tokens, microBatchTokens: microBatchTokens)
            }
        }
        defer { for session in sessions { session.observeProduct = nil } }

        let first = n / 2
        var nll = 0.0, nll2 = 0.0, scored = 0
        var group = 0
        while group < chunks {
            let sequences = min(parallel, chunks - group)
            let (pieces, _) = Perplexity.microBatches(chunk: group, chunks: chunks, contextLength: n)
            var inputs: [[Int32]] = []
            for s in 0..<sequences {
                var chunk = Array(tokens[((group + s) * n)..<((group + s + 1) * n)])
                if c.addsBOS, let bos = c.bosToken { chunk[0] = bos }
                inputs.append(chunk)
                sessions[s].reset()
            }
            var logits = [[Float]](repeating: [], count: sequences)
            for piece in pieces {
                for s in 0..<sequences {
                    // Every token is an output in llama-imatrix: the output projection sees all rows when it
                    // is collected; otherwise only the scored half is computed (the other rows are not used).
                    let from = options.processOutput ? 0 : min(piece.count, max(0, first - piece.lowerBound))
                    let part = try sessions[s].evaluate(
                        Array(inputs[s][piece]), logitsFrom: from,
                        microBatch: InferenceSession.MicroBatch(sequence: s, sequences: sequences))
                    if let failure = collector.failure { throw .invalidArgument(failure) }
                    let skip = options.processOutput ? max(0, first - piece.lowerBound) : 0
                    logits[s] += part.dropFirst(min(skip, piece.count) * vocab)
                }
            }
            for s in 0..<sequences {
                let chunkIndex = group + s
                logits[s].withUnsafeBufferPointer { l in
                    for j in 0..<(n - 1 - first) {
                        let row = l.baseAddress! + j * vocab
                        let target = Int(tokens[chunkIndex * n + first + j + 1])
                        var maximum = row[0]
                        for v in 0..<vocab where row[v] > maximum { maximum = row[v] }
                        var sum = 0.0
                        for v in 0..<vocab { sum += Double(expf(row[v] - maximum)) }
                        let value = -(Double(row[target] - maximum) - log(sum))
                        nll += value
                        nll2 += value * value
                    }
                }
                scored += n - 1 - first
                progress?(chunkIndex + 1, chunks, exp(nll / Double(scored)))
            }
            group += sequences
        }
        statistics = collector.statistics
        let mean = nll / Double(max(1, scored)), mean2 = nll2 / Double(max(1, scored))
        let ppl = exp(mean)
        let variance = mean2 - mean * mean
        let error = scored > 1 && variance > 0 ? ppl * (variance / Double(scored - 1)).squareRoot() : 0
        return Result(chunks: chunks, perplexity: ppl, perplexityError: error)
    }

    /// Sums squared activations into the statistic as the products happen.
    final class Collector {
        var statistics: ImportanceStatistics
        let processOutput: Bool
        /// The first tensor whose sums stopped being finite (llama-imatrix stops there).
        var failure: String?

        init(statistics: ImportanceStatistics, processOutput: Bool) {
            self.statistics = statistics
            self.processOutput = processOutput
        }

        /// llama-imatrix's filter: block weights (and `output.weight` when asked), products of micro-batches
        /// of at least 16 rows.
        func collects(_ name: String, microBatchTokens: Int) -> Bool {
            guard microBatchTokens >= 16 else { return false }
            return name.hasPrefix("blk.") || (processOutput && name == "output.weight")
        }

        func add(_ weight: WeightMatrix, _ rows: UnsafeBufferPointer<Float>, tokens: Int, microBatchTokens: Int) {
            guard failure == nil, collects(weight.name, microBatchTokens: microBatchTokens) else { return }
            let columns = weight.columns
            var entry =
                statistics.entries.removeValue(forKey: weight.name)
                ?? ImportanceStatistics.Entry(sums: [Float](repeating: 0, count: columns), counts: [0])
            if entry.counts.count > 1, Set(entry.counts).count == 1 { entry.counts = [entry.counts[0]] }
            guard entry.sums.count == columns, entry.counts.count == 1 else {
                failure = "\(weight.name): the statistic has \(entry.sums.count) values, the weight \(columns) columns"
                statistics.entries[weight.name] = entry
                return
            }
            entry.sums.withUnsafeMutableBufferPointer { sums in
                Self.accumulate(rows.baseAddress!, rows: tokens, columns: columns, into: sums.baseAddress!)
            }
            entry.counts[0] += Int64(tokens)
            if entry.sums.contains(where: { !$0.isFinite }) {
                failure = "non-finite values in the activations of \(weight.name)"
            }
            statistics.entries[weight.name] = entry
        }

        /// `sums[j] += x[j]·x[j]` for each row in order: the product rounded, then the float add (no fused
        /// multiply-add), columns independent, so vectorizing across columns keeps the bits.
        static func accumulate(
            _ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>
        ) {
            let wide = columns / 16 * 16
            for r in 0..<rows {
                let row = x + r * columns
                var j = 0
                while j < wide {
                    let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
                    let s = UnsafeRawPointer(sums + j).loadUnaligned(as: SIMD16<Float>.self)
                    let square = v * v
                    UnsafeMutableRawPointer(sums + j).storeBytes(of: s + square, as: SIMD16<Float>.self)
                    j += 16
                }
                while j < columns {
                    let square = row[j] * row[j]
                    sums[j] = sums[j] + square
                    j += 1
                }
            }
        }
    }
}

extension ImportanceCollection {
    /// `kiln imatrix --json`: one `chunk` event per chunk, then one `done` summary.
    public struct ChunkEvent: Codable, Sendable, Equatable {
        public var event = "chunk"
        public var chunk: Int, chunks: Int
        public var perplexity: Double

        public init(chunk: Int, chunks: Int, perplexity: Double) {
            (self.chunk, self.chunks, self.perplexity) = (chunk, chunks, perplexity)
        }
    }

    public struct Done: Codable, Sendable, Equatable {
        public var event = "done"
        /// The file written and its format (`gguf` or `dat`).
        public var output: String, format: String
        /// Entries, chunks covered and tokens per chunk.
        public var tensors: Int, chunks: Int, chunkSize: Int
        public var datasets: [String]
        /// Nil when only earlier files were merged (no text was evaluated).
        public var perplexity: Double?
        public var perplexityError: Double?
        public var seconds: Double

        public init(
            output: String, format: String, statistics: ImportanceStatistics, result: Result?, seconds: Double
        ) {
            (self.output, self.format, self.seconds) = (output, format, seconds)
            (tensors, chunks, chunkSize) = (statistics.entries.count, statistics.chunkCount, statistics.chunkSize)
            (datasets, perplexity, perplexityError) = (statistics.datasets, result?.perplexity, result?.perplexityError)
        }
    }
}
