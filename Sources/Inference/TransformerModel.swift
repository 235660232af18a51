import Foundation
import GGUF

/// The weights of one transformer block.
struct TransformerLayer: Sendable {
    var attentionNorm: [Float]
    var query: WeightMatrix
    var key: WeightMatrix
    var value: WeightMatrix
    var attentionOutput: WeightMatrix
    var feedForwardNorm: [Float]
    var gate: WeightMatrix
    var up: WeightMatrix
    var down: WeightMatrix
}

/// A decoder-only transformer decoded from a GGUF file into F32, ready for ``InferenceSession``.
///
/// Weights of every GGML type are decoded once at load; activations are rounded to the grid llama.cpp's CPU
/// backend would use for each matrix's original type (see ``ActivationGrid``), so results track llama.cpp's.
public final class TransformerModel: Sendable {
    public let configuration: ModelConfiguration
    let tokenEmbedding: WeightMatrix
    let outputNorm: [Float]
    let output: WeightMatrix
    let layers: [TransformerLayer]
    /// The file's tensor types, for reports.
    public let tensorTypes: [String: String]

    /// Loads the model at `url`.
    public convenience init(url: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws(InferenceError) {
        let file: GGUFFile
        do { file = try GGUFFile(url: url) } catch { throw .io(path: url.path, reason: error.description) }
        try self.init(file: file, threads: threads)
    }

    /// Loads the weights of `file`.
    public init(file: some WeightSource, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws(InferenceError) {
        let c = try ModelConfiguration(file: file)
        configuration = c
        let e = c.embeddingLength, hd = c.headDimension
        tokenEmbedding = try WeightMatrix(file: file, name: "token_embd.weight", columns: e, rows: c.vocabularySize, threads: threads)
        outputNorm = try WeightMatrix.vector(file: file, name: "output_norm.weight", length: e)
        if file.tensor(named: "output.weight") != nil {
            output = try WeightMatrix(file: file, name: "output.weight", columns: e, rows: c.vocabularySize, threads: threads)
        } else {
            output = tokenEmbedding
        }
        var layers: [TransformerLayer] = []
        for i in 0..<c.blockCount {
            func m(_ n: String, _ cols: Int, _ rows: Int) throws(InferenceError) -> WeightMatrix {
                try WeightMatrix(file: file, name: "blk.\(i).\(n).weight", columns: cols, rows: rows, threads: threads)
            }
            layers.append(TransformerLayer(
                attentionNorm: try WeightMatrix.vector(file: file, name: "blk.\(i).attn_norm.weight", length: e),
                query: try m("attn_q", e, c.headCount * hd),
                key: try m("attn_k", e, c.headCountKV * hd),
                value: try m("attn_v", e, c.headCountKV * hd),
                attentionOutput: try m("attn_output", c.headCount * hd, e),
                feedForwardNorm: try WeightMatrix.vector(file: file, name: "blk.\(i).ffn_norm.weight", length: e),
                gate: try m("ffn_gate", e, c.feedForwardLength),
                up: try m("ffn_up", e, c.feedForwardLength),
                down: try m("ffn_down", c.feedForwardLength, e)))
        }
        self.layers = layers
        var types: [String: String] = [:]
        for t in file.tensorInfos { types[t.name] = t.type.description }
        tensorTypes = types
        for l in layers {
            for w in [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down] where w.columns % 8 != 0 || w.columns % w.grid.blockLength != 0 {
                throw .tensorShapeMismatch(tensor: w.name, expected: [w.columns - w.columns % 8, w.rows], actual: [w.columns, w.rows])
            }
        }
    }
}
