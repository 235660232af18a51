import Foundation

/// A KV cache and scratch space for evaluating token sequences with a ``TransformerModel``.
///
/// Keys and values are stored rounded to F16 by default, as in llama.cpp's default cache (what `kiln verify`
/// must match); ``CachePrecision/f32`` keeps them exact, for comparisons with an F32 reference such as
/// `transformers`. Attention is causal (and windowed on sliding-window layers) and follows ggml's flash
/// attention order (tiled, or key by key for micro-batches under 64 tokens per sequence).
public final class InferenceSession {
    /// How the KV cache stores keys and values.
    public enum CachePrecision: Sendable {
        /// Rounded to F16, as llama.cpp's default `--cache-type-k/v f16`.
        case f16
        /// Kept in F32.
        case f32
    }

    public let model: TransformerModel
    /// Maximum number of positions the cache holds.
    public let contextLength: Int
    public let cachePrecision: CachePrecision
    public var threads: Int
    /// The CPU kernels the products use (every route gives the same bits); the machine's best by default.
    public var route: KernelRoute = .best
    /// Number of positions already in the cache.
    public private(set) var position = 0
    /// Called during ``evaluate(_:logitsFrom:)`` with each intermediate result, named as llama.cpp names the
    /// tensor and its operation (`attn_norm-3.MUL`, `Qcur-3.ROPE`, `result_output.MUL_MAT`), rows of
    /// token-major floats: for comparing a run with llama.cpp's value by value (`kiln-bench trace`).
    public var trace: ((_ name: String, _ values: UnsafeBufferPointer<Float>) -> Void)?
    /// Called before every product with a weight matrix (the importance-matrix hook): the weight, and the
    /// activation rows it multiplies, `tokens` rows of `weight.columns` floats in the order llama.cpp's graph
    /// feeds them. `microBatchTokens` is the size of the whole micro-batch this call's rows belong to (llama.cpp
    /// sees the sequences of one micro-batch in one product).
    public var observeProduct:
        ((_ weight: WeightMatrix, _ rows: UnsafeBufferPointer<Float>, _ tokens: Int, _ microBatchTokens: Int) -> Void)?

    /// Keys in panels of 16 positions, `[layer][kvHead][position / 16][d][position % 16]`.
    private let keyCache: FloatBuffer
    /// Values in panels of 16 dimensions, `[layer][kvHead][d / 16][position][d % 16]` (dimensions past the
    /// head's padded with 0).
    private let valueCache: FloatBuffer
    /// Key panels per layer and KV head (the context length over 16, rounded up).
    private let keyBlocks: Int
    /// Value panels per KV head (the head dimension over 16, rounded up).
    private let valueBlocks: Int
    private var capacity = 0
    private var x = FloatBuffer(count: 0), xn = FloatBuffer(count: 0), xr = FloatBuffer(count: 0)
    private var q = FloatBuffer(count: 0), k = FloatBuffer(count: 0), v = FloatBuffer(count: 0)
    private var att = FloatBuffer(count: 0), g = FloatBuffer(count: 0), u = FloatBuffer(count: 0)
    /// Outputs of a fused projection (phi3's `attn_qkv` and gate ‖ up `ffn_up`) before they are split.
    private var fused = FloatBuffer(count: 0)
    /// Rotary tables, `[position][pair]`: full-attention layers use `ropeTables[0]`, sliding-window layers
    /// the table at `ropeTableOfLayer[layer]` (a second one only when their base or scale differs).
    private var ropeTables: [(cos: [Float], sin: [Float])] = []
    private var ropeTableOfLayer: [Int] = []

    public init(
        model: TransformerModel, contextLength: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        cachePrecision: CachePrecision = .f16
    ) {
        self.model = model
        self.contextLength = contextLength
        self.cachePrecision = cachePrecision
        self.threads = max(1, threads)
        let c = model.configuration
        keyBlocks = (contextLength + 15) / 16
        valueBlocks = (c.headDimension + 15) / 16
        keyCache = FloatBuffer(count: c.blockCount * c.headCountKV * keyBlocks * c.headDimension * 16)
        valueCache = FloatBuffer(count: c.blockCount * c.headCountKV * valueBlocks * contextLength * 16)
        // Tiles read positions and dimensions past those written (their outputs are masked or not stored);
        // keep them finite.
        keyCache.pointer.initialize(repeating: 0, count: keyCache.count)
        valueCache.pointer.initialize(repeating: 0, count: valueCache.count)
        let factors = model.ropeFrequencyFactors
        ropeTables = [
            Self.ropeTable(c, base: c.ropeFreqBase, scale: c.ropeFreqScale, factors: factors, positions: contextLength)
        ]
        let slidingDiffers = c.ropeFreqBaseSliding != c.ropeFreqBase || c.ropeFreqScaleSliding != c.ropeFreqScale
        if slidingDiffers, c.slidingLayers.contains(true) {
            ropeTables.append(
                Self.ropeTable(
                    c, base: c.ropeFreqBaseSliding, scale: c.ropeFreqScaleSliding, factors: factors,
                    positions: contextLength))
        }
        ropeTableOfLayer = c.slidingLayers.map { $0 && ropeTables.count > 1 ? 1 : 0 }
    }

    /// Rotary table computed as ggml does: theta = scale · pos · base^(-2i/n_rot) / factor[i], the power
    /// taken by repeated multiplication.
    private static func ropeTable(
        _ c: ModelConfiguration, base: Float, scale: Float, factors: [Float]?,
        positions: Int
    ) -> (cos: [Float], sin: [Float]) {
        let half = c.ropeDimensionCount / 2
        var cos = [Float](repeating: 0, count: positions * half)
        var sin = cos
        let thetaScale = powf(base, -2 / Float(c.ropeDimensionCount))
        for p in 0..<positions {
            var theta = Float(p)
            for i in 0..<half {
                let angle = scale * (factors.map { theta / $0[i] } ?? theta)
                cos[p * half + i] = cosf(angle)
                sin[p * half + i] = sinf(angle)
                theta *= thetaScale
            }
        }
        return (cos, sin)
    }

    /// Empties the cache.
    public func reset() { position = 0 }

    /// Forgets every position from `newPosition` on, keeping the cache before it (a chat that re-renders its
    /// conversation keeps the common prefix and evaluates only what changed).
    public func rewind(to newPosition: Int) { position = max(0, min(position, newPosition)) }

    private func reserve(_ n: Int) {
        guard n > capacity else { return }
        let c = model.configuration
        let qDim = c.headCount * c.headDimension, kvDim = c.headCountKV * c.headDimension
        let wide = max(c.embeddingLength, qDim, c.feedForwardLength)
        x = FloatBuffer(count: n * c.embeddingLength)
        xn = FloatBuffer(count: n * wide)
        xr = FloatBuffer(count: n * wide)
        q = FloatBuffer(count: n * qDim)
        k = FloatBuffer(count: n * kvDim)
        v = FloatBuffer(count: n * kvDim)
        att = FloatBuffer(count: n * qDim)
        g = FloatBuffer(count: n * c.feedForwardLength)
        u = FloatBuffer(count: n * c.feedForwardLength)
        fused = FloatBuffer(count: c.hasFusedProjections ? n * max(qDim + 2 * kvDim, 2 * c.feedForwardLength) : 0)
        capacity = n
    }

    /// Where llama.cpp's batch splitting would put a call's tokens: one sequence's share of a micro-batch
    /// (ubatch) that takes the same number of tokens from each of `sequences` sequences, this one at index
    /// `sequence`. llama.cpp's kernels choose their order from the ubatch's shape (tokens per sequence for
    /// attention, total tokens for the leftover rows of repacked products), so reproducing its results for
    /// llama-perplexity's multi-sequence batches needs it.
    public struct MicroBatch: Sendable, Equatable {
        public var sequence: Int
        public var sequences: Int
        public init(sequence: Int, sequences: Int) {
            self.sequence = sequence
            self.sequences = sequences
        }
        /// A ubatch of this sequence alone.
        public static let alone = MicroBatch(sequence: 0, sequences: 1)
    }

    /// The micro-batch of the call in progress.
    private var microBatch = MicroBatch.alone
    /// Tokens of the call in progress.
    private var callTokens = 0

    /// Evaluates `tokens` at the next positions, appending their keys and values to the cache, and returns
    /// the logits of the tokens at indices `logitsFrom...` as rows of `vocabularySize` floats.
    public func evaluate(
        _ tokens: [Int32], logitsFrom: Int? = nil, microBatch: MicroBatch = .alone
    ) throws(InferenceError) -> [Float] {
        self.microBatch = microBatch
        let c = model.configuration
        let from = logitsFrom ?? max(0, tokens.count - 1)
        guard position + tokens.count <= contextLength else {
            throw .invalidArgument("context overflow: \(position) + \(tokens.count) > \(contextLength)")
        }
        for t in tokens where t < 0 || Int(t) >= c.vocabularySize {
            throw .tokenOutOfRange(token: t, vocabularySize: c.vocabularySize)
        }
        guard from >= 0, from <= tokens.count else { throw .invalidArgument("logitsFrom \(from) out of range") }
        let n = tokens.count
        if n == 0 { return [] }
        callTokens = n
        reserve(n)
        let e = c.embeddingLength
        for (i, t) in tokens.enumerated() {
            model.tokenEmbedding.row(Int(t), into: x.pointer + i * e)
        }
        if let scale = c.embeddingScale {
            for i in 0..<(n * e) { x.pointer[i] *= scale }
        }
        for (li, layer) in model.layers.enumerated() {
            forwardLayer(li, layer, n)
        }
        position += n
        // Final norm and output projection for the requested rows only.
        let nOut = n - from
        if nOut == 0 { return [] }
        for i in from..<n {
            Kernels.rmsNorm(
                x.pointer + i * e, weight: model.outputNorm, n: e, epsilon: c.rmsEpsilon,
                into: xn.pointer + (i - from) * e)
        }
        let vocab = c.vocabularySize
        return [Float](unsafeUninitializedCapacity: nOut * vocab) { buf, count in
            let out = buf.baseAddress!
            traced("result_norm.MUL", xn.pointer, nOut * e)
            project(xn.pointer, tokens: nOut, model.output, into: out, rounded: xr.pointer)
            traced("result_output.MUL_MAT", out, nOut * vocab)
            if let cap = c.finalLogitSoftcap {
                let inv = 1 / cap
                for i in 0..<(nOut * vocab) { out[i] = cap * tanhf(out[i] * inv) }
            }
            count = nOut * vocab
        }
    }

    /// `out = round_grid(input) · Wᵀ`; `rounded` is scratch for the rounded activations.
    private func project(
        _ input: UnsafeMutablePointer<Float>, tokens n: Int, _ w: WeightMatrix,
        into out: UnsafeMutablePointer<Float>, rounded: UnsafeMutablePointer<Float>
    ) {
        // The output projection sees only the rows whose logits are wanted; llama.cpp selects them the same way.
        let ubatch = GGMLOrder.Placement(tokens: microBatch.sequences * n, first: microBatch.sequence * n)
        if let observeProduct {
            observeProduct(w, UnsafeBufferPointer(start: input, count: n * w.columns), n, microBatch.sequences * n)
        }
        w.apply(input, tokens: n, into: out, scratch: rounded, threads: threads, placement: ubatch, route: route)
    }

    /// Copies columns `from..<from+width` of `n` rows of `stride` floats into a dense `[n][width]` buffer.
    private func split(
        _ src: UnsafeMutablePointer<Float>, stride: Int, from: Int, width: Int, n: Int,
        into dst: UnsafeMutablePointer<Float>
    ) {
        for t in 0..<n { (dst + t * width).update(from: src + t * stride + from, count: width) }
    }

    /// Adds `bias` to each of `n` rows.
    private func addBias(_ bias: [Float]?, to p: UnsafeMutablePointer<Float>, n: Int) {
        guard let bias else { return }
        let w = bias.count
        bias.withUnsafeBufferPointer { b in
            for t in 0..<n {
                let row = p + t * w
                for i in 0..<w { row[i] += b[i] }
            }
        }
    }

    /// RMS-normalizes each head of `n` rows of `heads` heads in place.
    private func normalizeHeads(_ p: UnsafeMutablePointer<Float>, heads: Int, n: Int, weight: [Float]?) {
        guard let weight else { return }
        let c = model.configuration, hd = c.headDimension
        for r in 0..<(n * heads) {
            Kernels.rmsNorm(p + r * hd, weight: weight, n: hd, epsilon: c.rmsEpsilon, into: p + r * hd)
        }
    }

    /// Adds `delta` (after its optional post-norm) to the residual stream.
    private func addResidual(_ delta: UnsafeMutablePointer<Float>, norm: [Float]?, n: Int) {
        let c = model.configuration, e = c.embeddingLength
        if let norm {
            for t in 0..<n {
                Kernels.rmsNorm(delta + t * e, weight: norm, n: e, epsilon: c.rmsEpsilon, into: delta + t * e)
            }
        }
        let x = x.pointer
        for i in 0..<(n * e) { x[i] += delta[i] }
    }

    /// `out[t][i] = act(gate[t][i]) · up[t][i]` for `n` rows of `f` outputs; gate and up rows are `stride`
    /// floats apart (f when separate, 2f when fused).
    private func gatedActivation(
        gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, stride: Int,
        n: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let f = model.configuration.feedForwardLength, activation = model.configuration.activation
        let gp = SendablePointer(gate), up = SendablePointer(up), op = SendablePointer(out)
        parallelFor(n, threads: threads) { r in
            for t in r {
                let gr = gp.p + t * stride, ur = up.p + t * stride, o = op.p + t * f
                switch activation {
                case .silu:
                    GGMLOrder.swiglu(gr, ur, count: f, into: o)
                case .geluTanh:
                    GGMLOrder.geglu(gr, ur, count: f, into: o)
                }
            }
        }
    }

    @inline(__always)
    private func traced(_ name: @autoclosure () -> String, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if let trace { trace(name(), UnsafeBufferPointer(start: p, count: count)) }
    }

    private func forwardLayer(_ li: Int, _ layer: TransformerLayer, _ n: Int) {
        let c = model.configuration
        let e = c.embeddingLength, hd = c.headDimension
        let qDim = c.headCount * hd, kvDim = c.headCountKV * hd
        let x = x.pointer, xn = xn.pointer, xr = xr.pointer
        for t in 0..<n {
            Kernels.rmsNorm(x + t * e, weight: layer.attentionNorm, n: e, epsilon: c.rmsEpsilon, into: xn + t * e)
        }
        traced("attn_norm-\(li).MUL", xn, n * e)
        switch layer.attention {
        case let .separate(query, key, value):
            project(xn, tokens: n, query, into: q.pointer, rounded: xr)
            project(xn, tokens: n, key, into: k.pointer, rounded: xr)
            project(xn, tokens: n, value, into: v.pointer, rounded: xr)
            traced("Qcur-\(li).MUL_MAT", q.pointer, n * qDim)
            traced("Kcur-\(li).MUL_MAT", k.pointer, n * kvDim)
            traced("Vcur-\(li).MUL_MAT", v.pointer, n * kvDim)
        case let .fused(qkv):
            let width = qDim + 2 * kvDim
            project(xn, tokens: n, qkv, into: fused.pointer, rounded: xr)
            split(fused.pointer, stride: width, from: 0, width: qDim, n: n, into: q.pointer)
            split(fused.pointer, stride: width, from: qDim, width: kvDim, n: n, into: k.pointer)
            split(fused.pointer, stride: width, from: qDim + kvDim, width: kvDim, n: n, into: v.pointer)
        }
        addBias(layer.queryBias, to: q.pointer, n: n)
        addBias(layer.keyBias, to: k.pointer, n: n)
        addBias(layer.valueBias, to: v.pointer, n: n)
        normalizeHeads(q.pointer, heads: c.headCount, n: n, weight: layer.queryNorm)
        normalizeHeads(k.pointer, heads: c.headCountKV, n: n, weight: layer.keyNorm)
        let table = ropeTableOfLayer[li]
        applyRope(q.pointer, heads: c.headCount, n: n, table: table)
        applyRope(k.pointer, heads: c.headCountKV, n: n, table: table)
        traced("Qcur-\(li).ROPE", q.pointer, n * qDim)
        traced("Kcur-\(li).ROPE", k.pointer, n * kvDim)
        if c.scalesQueries {
            let scale = c.attentionScale, qp = q.pointer
            for i in 0..<(n * qDim) { qp[i] *= scale }
        }
        let kvHeads = c.headCountKV, ctx = contextLength
        let kc = keyCache.pointer + li * kvHeads * keyBlocks * hd * 16
        let vc = valueCache.pointer + li * kvHeads * valueBlocks * ctx * 16
        let f16 = cachePrecision == .f16
        for t in 0..<n {
            let p = position + t
            for kvh in 0..<kvHeads {
                let ks = k.pointer + t * kvDim + kvh * hd, vs = v.pointer + t * kvDim + kvh * hd
                let kd = kc + ((kvh * keyBlocks + p / 16) * hd) * 16 + p % 16
                let vd = vc + (kvh * valueBlocks * ctx + p) * 16
                for d in 0..<hd {
                    kd[d * 16] = f16 ? Float(Float16(ks[d])) : ks[d]
                    vd[(d / 16) * ctx * 16 + d % 16] = f16 ? Float(Float16(vs[d])) : vs[d]
                }
            }
        }
        attention(li, n: n)
        traced("kqv_out-\(li).RESHAPE", att.pointer, n * qDim)
        project(att.pointer, tokens: n, layer.attentionOutput, into: xn, rounded: xr)
        traced("attn_out-\(li).MUL_MAT", xn, n * e)
        addResidual(xn, norm: layer.postAttentionNorm, n: n)
        traced("ffn_inp-\(li).ADD", x, n * e)
        for t in 0..<n {
            Kernels.rmsNorm(x + t * e, weight: layer.feedForwardNorm, n: e, epsilon: c.rmsEpsilon, into: xn + t * e)
        }
        traced("ffn_norm-\(li).MUL", xn, n * e)
        let f = c.feedForwardLength
        switch layer.feedForward {
        case let .separate(gate, up):
            project(xn, tokens: n, gate, into: g.pointer, rounded: xr)
            project(xn, tokens: n, up, into: u.pointer, rounded: xr)
            traced("ffn_gate-\(li).MUL_MAT", g.pointer, n * f)
            traced("ffn_up-\(li).MUL_MAT", u.pointer, n * f)
            gatedActivation(gate: g.pointer, up: u.pointer, stride: f, n: n, into: g.pointer)
        case let .fused(gateUp):
            project(xn, tokens: n, gateUp, into: fused.pointer, rounded: xr)
            gatedActivation(gate: fused.pointer, up: fused.pointer + f, stride: 2 * f, n: n, into: g.pointer)
        }
        traced("ffn_swiglu-\(li).SWIGLU", g.pointer, n * f)
        project(g.pointer, tokens: n, layer.down, into: xn, rounded: xr)
        traced("ffn_out-\(li).MUL_MAT", xn, n * e)
        addResidual(xn, norm: layer.postFeedForwardNorm, n: n)
        traced("l_out-\(li).ADD", x, n * e)
    }

    private func applyRope(_ p: UnsafeMutablePointer<Float>, heads: Int, n: Int, table: Int) {
        let c = model.configuration
        let hd = c.headDimension, half = c.ropeDimensionCount / 2
        ropeTables[table].cos.withUnsafeBufferPointer { cosTable in
            ropeTables[table].sin.withUnsafeBufferPointer { sinTable in
                for t in 0..<n {
                    let pos = position + t
                    let cs = cosTable.baseAddress! + pos * half
                    let sn = sinTable.baseAddress! + pos * half
                    for h in 0..<heads {
                        let v = p + (t * heads + h) * hd
                        switch c.ropeStyle {
                        case .interleaved:
                            for i in 0..<half {
                                let x0 = v[2 * i], x1 = v[2 * i + 1]
                                (v[2 * i], v[2 * i + 1]) = Self.rotate(x0, x1, cs[i], sn[i])
                            }
                        case .neox:
                            for i in 0..<half {
                                let x0 = v[i], x1 = v[i + half]
                                (v[i], v[i + half]) = Self.rotate(x0, x1, cs[i], sn[i])
                            }
                        }
                    }
                }
            }
        }
    }

    /// One rotary pair as ggml's compiled `rotate_pairs` rounds it: GCC contracts `x0·cos − x1·sin` and
    /// `x0·sin + x1·cos` into one FMA each, the first product fused and the second rounded.
    @inline(__always)
    static func rotate(_ x0: Float, _ x1: Float, _ cos: Float, _ sin: Float) -> (Float, Float) {
        ((-(x1 * sin)).addingProduct(x0, cos), (x1 * cos).addingProduct(x0, sin))
    }

    /// Causal attention of the `n` new queries over the cached positions (the last `slidingWindow` of them on
    /// sliding-window layers), scores scaled and optionally soft-capped, in the order of ggml's tiled CPU flash
    /// attention: keys in tiles of 64 absolute positions; per tile and query, scores `q·k` (one FMA chain over
    /// the head dimension), scaled, masked; the running maximum M and sum S updated (`expf(M_old − M)`
    /// rescales S and the output when M grows), probabilities `exp(s − M)` by ggml's vector exp with each
    /// 16-key group summed as `_mm512_reduce_add_ps` and the groups in double; then the output chain continues
    /// over the tile's keys, `o += p·v`. Finally `o · (1/S)`.
    ///
    /// One task per (head, block of 6 queries); a query's result does not depend on its block.
    private func attention(_ li: Int, n: Int) {
        // ggml attends key by key when a micro-batch has fewer than 64 tokens per sequence. A lone token is
        // Kiln's decoding, which does not follow llama.cpp's order anyway: it keeps the tiles' F32 accumulation.
        if n < Self.queryTile, n > 1 || microBatch.sequences > 1 {
            attentionPerKey(li, n: n)
            return
        }
        let (hd, heads, group, qDim, softcap, scoreScale, window, kb, vb, ctx, kc, vc, qp, op, start) = attentionSetup(
            li)
        let rowsPerBlock = AttentionKernels.blockRows
        let blocks = (n + rowsPerBlock - 1) / rowsPerBlock
        let tile = Self.keyTile
        parallelFor(heads * blocks, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rowsPerBlock * (tile + 2)) { scratch in
                let s = scratch.baseAddress!
                // Per query of the block: the running maximum and sum.
                let maxima = s + rowsPerBlock * tile, sums = maxima + rowsPerBlock
                for task in range {
                    // Blocks of a head alternate from both ends, so contiguous task ranges get similar work.
                    let h = task / blocks, r = task % blocks
                    let b = r % 2 == 0 ? r / 2 : blocks - 1 - r / 2
                    let t0 = b * rowsPerBlock, rows = min(rowsPerBlock, n - t0)
                    let kvh = h / group
                    let hi = start + t0 + rows
                    let lo = window.map { max(0, start + t0 + 1 - $0) } ?? 0
                    let out = op.p + t0 * qDim + h * hd
                    for t in 0..<rows { (out + t * qDim).update(repeating: 0, count: hd) }
                    maxima.update(repeating: -.infinity, count: rowsPerBlock)
                    sums.update(repeating: 0, count: rowsPerBlock)
                    var first = lo / tile * tile
                    while first < hi {
                        let width = min(tile, hi - first)
                        AttentionKernels.product(
                            qp.p + t0 * qDim + h * hd, ldx: qDim, rows: rows, n: hd,
                            panels: kc.p + (kvh * kb + first / 16) * hd * 16, panelStride: hd * 16, ldp: 16,
                            c: s, ldc: tile, columns: width)
                        let padded = (width + 15) / 16 * 16
                        for t in 0..<rows {
                            let row = s + t * tile
                            let len = start + t0 + t + 1
                            let from = window.map { max(0, len - $0) } ?? 0
                            var tileMax = -Float.infinity
                            for j in 0..<width {
                                let key = first + j
                                if key < from || key >= len {
                                    row[j] = -.infinity
                                } else {
                                    var v = row[j] * scoreScale
                                    if let cap = softcap { v = tanhf(v) * cap }
                                    row[j] = v
                                    tileMax = max(tileMax, v)
                                }
                            }
                            if tileMax == -.infinity {
                                row.update(repeating: 0, count: width)
                                continue
                            }
                            // ggml's tile is 64 keys wide, padded with −∞: the last 16-key group is whole.
                            (row + width).update(repeating: -.infinity, count: padded - width)
                            let mOld = maxima[t], mNew = max(mOld, tileMax)
                            if mNew > mOld {
                                let ms = expf(mOld - mNew)
                                let o = out + t * qDim
                                for d in 0..<hd { o[d] *= ms }
                                sums[t] *= ms
                            }
                            maxima[t] = mNew
                            sums[t] = Float(Double(sums[t]) + GGMLOrder.softmaxTile(row, count: padded, max: mNew))
                        }
                        AttentionKernels.product(
                            s, ldx: tile, rows: rows, n: width, panels: vc.p + (kvh * vb * ctx + first) * 16,
                            panelStride: ctx * 16, ldp: 16, c: out, ldc: qDim, columns: hd, accumulate: true)
                        first += tile
                    }
                    for t in 0..<rows {
                        let o = out + t * qDim, inv = sums[t] == 0 ? 0 : 1 / sums[t]
                        for d in 0..<hd { o[d] *= inv }
                    }
                }
            }
        }
    }

    /// What both attention orders need for layer `li`: head dimension, heads, query heads per KV head, query
    /// width, soft-cap, score scale, window, key and value panels per head, context, the layer's key and value
    /// caches, queries, outputs, and the first new position. With a soft-cap, ggml folds 1/cap into the
    /// scale: cap · tanh(s · (scale/cap)).
    private func attentionSetup(
        _ li: Int
    ) -> (
        Int, Int, Int, Int, Float?, Float, Int?, Int, Int, Int, SendablePointer<Float>,
        SendablePointer<Float>, SendablePointer<Float>, SendablePointer<Float>, Int
    ) {
        let c = model.configuration
        let hd = c.headDimension
        let softcap = c.attentionLogitSoftcap
        let scoreScale: Float = c.scalesQueries ? 1 : c.attentionScale
        return (
            hd, c.headCount, c.headCount / c.headCountKV, c.headCount * hd, softcap,
            softcap.map { scoreScale / $0 } ?? scoreScale, c.slidingLayers[li] ? c.slidingWindow : nil,
            keyBlocks, valueBlocks, contextLength,
            SendablePointer(keyCache.pointer + li * c.headCountKV * keyBlocks * hd * 16),
            SendablePointer(valueCache.pointer + li * c.headCountKV * valueBlocks * contextLength * 16),
            SendablePointer(q.pointer), SendablePointer(att.pointer), position
        )
    }

    /// Keys per attention tile (ggml's `GGML_FA_TILE_KV`).
    static let keyTile = 64
    /// Queries per attention tile (ggml's `GGML_FA_TILE_Q`): with fewer tokens per sequence in a micro-batch,
    /// ggml attends key by key.
    package static let queryTile = 64

    /// Attention for calls of fewer than ``queryTile`` tokens, in the order of ggml's per-key flash attention:
    /// the query rounded to F16; for each visible key in increasing position, its score an F16 dot product
    /// (four 16-lane FMA chains, folded (0+2)+(1+3), then ``GGMLOrder/sum16(_:)``, in double), scaled and
    /// optionally soft-capped; a new maximum M rescales the F16 output accumulator by `expf(M_old − M)`, and
    /// `o = f16(o + v·expf(s − M))` (an FMA rounded to F16 per key); `S = S·ms + vs` as one FMA. Finally
    /// `o · (1/S)` in F32. With an F32 cache, as ggml with F32 K/V, nothing is rounded to F16.
    private func attentionPerKey(_ li: Int, n: Int) {
        let (hd, heads, group, qDim, softcap, scoreScale, window, kb, vb, ctx, kc, vc, qp, op, start) = attentionSetup(
            li)
        let half = cachePrecision == .f16
        @inline(__always) func round(_ v: Float) -> Float { half ? Float(Float16(v)) : v }
        parallelFor(heads * n, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * hd) { scratch in
                let qh = scratch.baseAddress!, key = qh + hd, acc = key + hd
                for task in range {
                    let h = task / n, t = task % n, kvh = h / group
                    let qrow = qp.p + t * qDim + h * hd
                    for d in 0..<hd { qh[d] = round(qrow[d]) }
                    acc.update(repeating: 0, count: hd)
                    var m = -Float.infinity, sum: Float = 0
                    let len = start + t + 1
                    let from = window.map { max(0, len - $0) } ?? 0
                    for p in from..<len {
                        let kp = kc.p + (kvh * kb + p / 16) * hd * 16 + p % 16
                        for d in 0..<hd { key[d] = kp[d * 16] }
                        var score = GGMLOrder.dotF16(key, qh, count: hd) * scoreScale
                        if let cap = softcap { score = cap * tanhf(score) }
                        var ms: Float = 1, vs: Float = 1
                        if score > m {
                            let old = m
                            m = score
                            ms = expf(old - m)
                            for d in 0..<hd { acc[d] = round(acc[d] * ms) }
                        } else {
                            vs = expf(score - m)
                        }
                        let vp = vc.p + kvh * vb * ctx * 16 + p * 16
                        for d in 0..<hd {
                            acc[d] = round(acc[d].addingProduct(vp[(d / 16) * ctx * 16 + d % 16], vs))
                        }
                        sum = vs.addingProduct(sum, ms)
                    }
                    let inv: Float = sum == 0 ? 0 : 1 / sum
                    let o = op.p + t * qDim + h * hd
                    for d in 0..<hd { o[d] = acc[d] * inv }
                }
            }
        }
    }
}
