import Conversion
import FileAccess
import Foundation
import Inference
import Tokenization

/// A problem with the inputs of an importance-matrix collection, naming the file.
public struct ImportanceInputError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ImportanceCollection {
    /// What `kiln imatrix MODEL --text TEXT`, `kiln quantize --imatrix-text` and `kiln build` share: the model
    /// loaded, each earlier matrix merged and checked against the model's weights (an error names that
    /// file), the text tokenized and evaluated, and the text recorded as the dataset.
    public static func collect(
        model: String, text: String, ctx: Int, chunks: Int?, processOutput: Bool, threads: Int, inFiles: [String],
        into statistics: inout ImportanceStatistics, progress: Progress? = nil
    ) throws -> Result {
        let loaded: TransformerModel
        do {
            loaded = try ReferenceModel.at(model).loadModel(threads: threads)
        } catch {
            throw ImportanceInputError("\(model): \(error)")
        }
        let columns = Dictionary(
            loaded.weightMatrices.map { ($0.name, $0.columns) }, uniquingKeysWith: { first, _ in first })
        for file in inFiles {
            try statistics.merge(contentsOf: URL(fileURLWithPath: file))
            try statistics.check(against: columns, path: file)
        }
        let tokens = try Self.tokens(text, model: model)
        if tokens.count < 2 * ctx {
            throw ImportanceInputError(
                "\(text): \(tokens.count) tokens; a context of \(ctx) needs at least \(2 * ctx) (two chunks)")
        }
        var options = Options()
        options.contextLength = ctx
        options.maxChunks = chunks
        options.processOutput = processOutput
        options.threads = threads
        // What goes wrong during the passes (a model producing NaN, say) is the model file's problem.
        var collected = statistics
        let result = try NamedFileError.naming(model) {
            try run(model: loaded, tokens: tokens, options: options, into: &collected, progress: progress)
        }
        statistics = collected
        statistics.datasets.append(text)
        return result
    }

    /// The text as llama-imatrix reads it (one trailing newline dropped), tokenized with BOS where the
    /// vocabulary adds one.
    public static func tokens(_ path: String, model: String) throws -> [Int32] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImportanceInputError("\(path): cannot read the text")
        }
        let text = String(decoding: data.last == 0x0A ? data.dropLast() : data, as: UTF8.self)
        let tokenizer = try Tokenizer(model: URL(fileURLWithPath: model))
        return tokenizer.encode(text, addSpecialTokens: true).map(Int32.init)
    }
}
