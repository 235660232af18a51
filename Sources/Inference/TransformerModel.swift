import Foundation
import GGUF

/// The weights of one transformer block. Optional parts exist only in the families that have them.
struct TransformerLayer: Sendable {
    /// How the attention input is projected to queries, keys and values.
    enum AttentionProjection: Sendable {
        case separate(query: WeightMatrix, key: WeightMatrix, value: WeightMatrix)
        /// One `attn_qkv` matrix whose outputs are q ‖ k ‖ v (phi3).
        case fused(WeightMatrix)
    }

    /// How the feed-forward input is projected to the gate and up activations.
    enum FeedForwardProjection: Sendable {
        case separate(gate: WeightMatrix, up: WeightMatrix)
        /// One `ffn_up` matrix of 2·n_ff outputs, gate ‖ up (phi3).
        case fused(WeightMatrix)
    }

    var attentionNorm: [Float]
    var attention: AttentionProjection
    /// Biases added to the projections (qwen2), each of its projection's width.
    var queryBias: [Float]?
    var keyBias: [Float]?
    var valueBias: [Float]?
    /// Per-head RMS norm weights of length head_dim (qwen3, gemma3).
    var queryNorm: [Float]?
    var keyNorm: [Float]?
    var attentionOutput: WeightMatrix
    /// Norm of the attention output before the residual add (gemma2, gemma3).
    var postAttentionNorm: [Float]?
    var feedForwardNorm: [Float]
    var feedForward: FeedForwardProjection
    var down: WeightMatrix
    /// Norm of the feed-forward output before the residual add (gemma2, gemma3).
    var postFeedForwardNorm: [Float]?

    var matrices: [WeightMatrix] {
        var m: [WeightMatrix]
        switch attention {
        case let .separate(q, k, v): m = [q, k, v]
        case let .fused(qkv): m = [qkv]
        }
        m.append(attentionOutput)
        switch feedForward {
        case let .separate(gate, up): m += [gate, up]
        case let .fused(gateUp): m.append(gateUp)
        }
        m.append(down)
        return m
    }
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
    /// Per-pair divisors of the rotary angles (`rope_freqs.weight`, written for Llama-3 rope scaling), if any.
    let ropeFrequencyFactors: [Float]?
    let layers: [TransformerLayer]

    /// Every weight matrix a forward pass multiplies by, in graph order (layer by layer, then the output).
    public var weightMatrices: [WeightMatrix] {
        var matrices: [WeightMatrix] = []
        for layer in layers {
            switch layer.attention {
            case let .separate(query, key, value): matrices += [query, key, value]
            case let .fused(qkv): matrices.append(qkv)
            }
            matrices.append(layer.attentionOutput)
            switch layer.feedForward {
            case let .separate(gate, up): matrices += [gate, up]
            case let .fused(gateUp): matrices.append(gateUp)
            }
            matrices.append(layer.down)
        }
        matrices.append(output)
        return matrices
    }
    /// The file's tensor types, for reports.
    public let tensorTypes: [String: String]

    /// Loads the model at `url`.
    public convenience init(
        url: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws(InferenceError) {
        let file: GGUFFile
        do { file = try GGUFFile(url: url) } catch { throw .io(path: url.path, reason: error.description) }
        try self.init(file: file, threads: threads)
    }

    /// Loads the weights of `file`.
    public init(
        file: some WeightSource, threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws(InferenceError) {
        let c = try ModelConfiguration(file: file)
        configuration = c
        let e = c.embeddingLength, hd = c.headDimension
        tokenEmbedding = try WeightMatrix(
            file: file, name: "token_embd.weight", columns: e, rows: c.vocabularySize, threads: threads)
        outputNorm = try WeightMatrix.vector(file: file, name: "output_norm.weight", length: e)
        if file.tensor(named: "output.weight") != nil {
            output = try WeightMatrix(
                file: file, name: "output.weight", columns: e, rows: c.vocabularySize, threads: threads)
        } else {
            output = tokenEmbedding
        }
        ropeFrequencyFactors =
            try file.tensor(named: "rope_freqs.weight") == nil
            ? nil
            : WeightMatrix.vector(file: file, name: "rope_freqs.weight", length: c.ropeDimensionCount / 2)
        let qDim = c.headCount * hd, kvDim = c.headCountKV * hd, f = c.feedForwardLength
        var layers: [TransformerLayer] = []
        for i in 0..<c.blockCount {
            func m(_ n: String, _ cols: Int, _ rows: Int) throws(InferenceError) -> WeightMatrix {
                try WeightMatrix(file: file, name: "blk.\(i).\(n).weight", columns: cols, rows: rows, threads: threads)
            }
            func vector(_ n: String, _ length: Int) throws(InferenceError) -> [Float] {
                try WeightMatrix.vector(file: file, name: "blk.\(i).\(n)", length: length)
            }
            func optionalVector(_ n: String, _ length: Int) throws(InferenceError) -> [Float]? {
                file.tensor(named: "blk.\(i).\(n)") == nil ? nil : try vector(n, length)
            }
            let attention: TransformerLayer.AttentionProjection
            var biases: [[Float]?] = [nil, nil, nil]
            if c.hasFusedProjections {
                attention = .fused(try m("attn_qkv", e, qDim + 2 * kvDim))
                if let b = try optionalVector("attn_qkv.bias", qDim + 2 * kvDim) {
                    biases = [Array(b[..<qDim]), Array(b[qDim..<(qDim + kvDim)]), Array(b[(qDim + kvDim)...])]
                }
            } else {
                attention = .separate(
                    query: try m("attn_q", e, qDim), key: try m("attn_k", e, kvDim), value: try m("attn_v", e, kvDim))
                biases = [
                    try optionalVector("attn_q.bias", qDim), try optionalVector("attn_k.bias", kvDim),
                    try optionalVector("attn_v.bias", kvDim)
                ]
            }
            let feedForward: TransformerLayer.FeedForwardProjection =
                try c.hasFusedProjections
                ? .fused(m("ffn_up", e, 2 * f))
                : .separate(gate: m("ffn_gate", e, f), up: m("ffn_up", e, f))
            layers.append(
                TransformerLayer(
                    attentionNorm: try vector("attn_norm.weight", e),
                    attention: attention,
                    queryBias: biases[0], keyBias: biases[1], valueBias: biases[2],
                    queryNorm: try c.hasQueryKeyNorms ? vector("attn_q_norm.weight", hd) : nil,
                    keyNorm: try c.hasQueryKeyNorms ? vector("attn_k_norm.weight", hd) : nil,
                    attentionOutput: try m("attn_output", qDim, e),
                    postAttentionNorm: try c.hasPostNorms ? vector("post_attention_norm.weight", e) : nil,
                    feedForwardNorm: try vector("ffn_norm.weight", e),
                    feedForward: feedForward,
                    down: try m("ffn_down", f, e),
                    postFeedForwardNorm: try c.hasPostNorms ? vector("post_ffw_norm.weight", e) : nil))
        }
        self.layers = layers
        var types: [String: String] = [:]
        for t in file.tensorInfos { types[t.name] = t.type.description }
        tensorTypes = types
        for l in layers {
            for w in l.matrices where w.columns % 8 != 0 || w.columns % w.grid.blockLength != 0 {
                throw .tensorShapeMismatch(
                    tensor: w.name, expected: [w.columns - w.columns % 8, w.rows], actual: [w.columns, w.rows])
            }
        }
    }
}
