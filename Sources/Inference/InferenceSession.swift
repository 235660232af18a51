import Foundation

/// A KV cache and scratch space for evaluating token sequences with a ``TransformerModel``.
///
/// Keys and values are stored rounded to F16 by default, as in llama.cpp's default cache (what `kiln verify`
/// must match); ``CachePrecision/f32`` keeps them exact, for comparisons with an F32 reference such as
/// `transformers`. Attention over a batch is causal (and windowed on sliding-window layers), one head at a
/// time, in F32.
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
    /// Number of positions already in the cache.
    public private(set) var position = 0

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

    public init(model: TransformerModel, contextLength: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                cachePrecision: CachePrecision = .f16) {
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
        ropeTables = [Self.ropeTable(c, base: c.ropeFreqBase, scale: c.ropeFreqScale, factors: factors, positions: contextLength)]
        let slidingDiffers = c.ropeFreqBaseSliding != c.ropeFreqBase || c.ropeFreqScaleSliding != c.ropeFreqScale
        if slidingDiffers, c.slidingLayers.contains(true) {
            ropeTables.append(Self.ropeTable(c, base: c.ropeFreqBaseSliding, scale: c.ropeFreqScaleSliding, factors: factors,
                                             positions: contextLength))
        }
        ropeTableOfLayer = c.slidingLayers.map { $0 && ropeTables.count > 1 ? 1 : 0 }
    }

    /// Rotary table computed as ggml does: theta = scale · pos · base^(-2i/n_rot) / factor[i], the power
    /// taken by repeated multiplication.
    private static func ropeTable(_ c: ModelConfiguration, base: Float, scale: Float, factors: [Float]?,
                                  positions: Int) -> (cos: [Float], sin: [Float]) {
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

    /// Evaluates `tokens` at the next positions, appending their keys and values to the cache, and returns
    /// the logits of the tokens at indices `logitsFrom...` as rows of `vocabularySize` floats.
    public func evaluate(_ tokens: [Int32], logitsFrom: Int? = nil) throws(InferenceError) -> [Float] {
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
            Kernels.rmsNorm(x.pointer + i * e, weight: model.outputNorm, n: e, epsilon: c.rmsEpsilon, into: xn.pointer + (i - from) * e)
        }
        let vocab = c.vocabularySize
        return [Float](unsafeUninitializedCapacity: nOut * vocab) { buf, count in
            let out = buf.baseAddress!
            project(xn.pointer, tokens: nOut, model.output, into: out, rounded: xr.pointer)
            if let cap = c.finalLogitSoftcap {
                let inv = 1 / cap
                for i in 0..<(nOut * vocab) { out[i] = cap * tanhf(out[i] * inv) }
            }
            count = nOut * vocab
        }
    }

    /// `out = round_grid(input) · Wᵀ`; `rounded` is scratch for the rounded activations.
    private func project(_ input: UnsafeMutablePointer<Float>, tokens n: Int, _ w: WeightMatrix,
                         into out: UnsafeMutablePointer<Float>, rounded: UnsafeMutablePointer<Float>) {
        w.apply(input, tokens: n, into: out, scratch: rounded, threads: threads)
    }

    /// Copies columns `from..<from+width` of `n` rows of `stride` floats into a dense `[n][width]` buffer.
    private func split(_ src: UnsafeMutablePointer<Float>, stride: Int, from: Int, width: Int, n: Int,
                       into dst: UnsafeMutablePointer<Float>) {
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
            for t in 0..<n { Kernels.rmsNorm(delta + t * e, weight: norm, n: e, epsilon: c.rmsEpsilon, into: delta + t * e) }
        }
        let x = x.pointer
        for i in 0..<(n * e) { x[i] += delta[i] }
    }

    /// `out[t][i] = act(gate[t][i]) · up[t][i]` for `n` rows of `f` outputs; gate and up rows are `stride`
    /// floats apart (f when separate, 2f when fused).
    private func gatedActivation(gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, stride: Int,
                                 n: Int, into out: UnsafeMutablePointer<Float>) {
        let f = model.configuration.feedForwardLength, activation = model.configuration.activation
        let gp = SendablePointer(gate), up = SendablePointer(up), op = SendablePointer(out)
        parallelFor(n, threads: threads) { r in
            for t in r {
                let gr = gp.p + t * stride, ur = up.p + t * stride, o = op.p + t * f
                switch activation {
                case .silu:
                    for i in 0..<f {
                        let a = gr[i]
                        o[i] = a / (1 + expf(-a)) * ur[i]
                    }
                case .geluTanh:
                    // 0.5·a·(1 + tanh(√(2/π)·(a + 0.044715·a³)))
                    let k0: Float = 0.7978845608028654, k1: Float = 0.044715
                    for i in 0..<f {
                        let a = gr[i]
                        o[i] = 0.5 * a * (1 + tanhf(k0 * a * (1 + k1 * a * a))) * ur[i]
                    }
                }
            }
        }
    }

    private func forwardLayer(_ li: Int, _ layer: TransformerLayer, _ n: Int) {
        let c = model.configuration
        let e = c.embeddingLength, hd = c.headDimension
        let qDim = c.headCount * hd, kvDim = c.headCountKV * hd
        let x = x.pointer, xn = xn.pointer, xr = xr.pointer
        for t in 0..<n {
            Kernels.rmsNorm(x + t * e, weight: layer.attentionNorm, n: e, epsilon: c.rmsEpsilon, into: xn + t * e)
        }
        switch layer.attention {
        case let .separate(query, key, value):
            project(xn, tokens: n, query, into: q.pointer, rounded: xr)
            project(xn, tokens: n, key, into: k.pointer, rounded: xr)
            project(xn, tokens: n, value, into: v.pointer, rounded: xr)
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
        project(att.pointer, tokens: n, layer.attentionOutput, into: xn, rounded: xr)
        addResidual(xn, norm: layer.postAttentionNorm, n: n)
        for t in 0..<n {
            Kernels.rmsNorm(x + t * e, weight: layer.feedForwardNorm, n: e, epsilon: c.rmsEpsilon, into: xn + t * e)
        }
        let f = c.feedForwardLength
        switch layer.feedForward {
        case let .separate(gate, up):
            project(xn, tokens: n, gate, into: g.pointer, rounded: xr)
            project(xn, tokens: n, up, into: u.pointer, rounded: xr)
            gatedActivation(gate: g.pointer, up: u.pointer, stride: f, n: n, into: g.pointer)
        case let .fused(gateUp):
            project(xn, tokens: n, gateUp, into: fused.pointer, rounded: xr)
            gatedActivation(gate: fused.pointer, up: fused.pointer + f, stride: 2 * f, n: n, into: g.pointer)
        }
        project(g.pointer, tokens: n, layer.down, into: xn, rounded: xr)
        addResidual(xn, norm: layer.postFeedForwardNorm, n: n)
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
                                v[2 * i] = x0 * cs[i] - x1 * sn[i]
                                v[2 * i + 1] = x0 * sn[i] + x1 * cs[i]
                            }
                        case .neox:
                            for i in 0..<half {
                                let x0 = v[i], x1 = v[i + half]
                                v[i] = x0 * cs[i] - x1 * sn[i]
                                v[i + half] = x0 * sn[i] + x1 * cs[i]
                            }
                        }
                    }
                }
            }
        }
    }

    /// Causal attention of the `n` new queries over the cached positions (the last `slidingWindow` of them on
    /// sliding-window layers), scores scaled and optionally soft-capped.
    ///
    /// One task per (head, block of 6 queries): a score tile over the keys the block sees, a softmax per
    /// query over its own keys (others get probability +0), and an output tile `P · V`. A query's result is
    /// the same alone as in a block (see ``AttentionKernels``).
    private func attention(_ li: Int, n: Int) {
        let c = model.configuration
        let hd = c.headDimension, heads = c.headCount, group = c.headCount / c.headCountKV
        let qDim = heads * hd
        let scale = c.attentionScale
        let softcap = c.attentionLogitSoftcap
        let window = c.slidingLayers[li] ? c.slidingWindow : nil
        let kb = keyBlocks, vb = valueBlocks, ctx = contextLength
        let kc = SendablePointer(keyCache.pointer + li * c.headCountKV * kb * hd * 16)
        let vc = SendablePointer(valueCache.pointer + li * c.headCountKV * vb * ctx * 16)
        let qp = SendablePointer(q.pointer), op = SendablePointer(att.pointer)
        let start = position
        let rowsPerBlock = AttentionKernels.blockRows
        let blocks = (n + rowsPerBlock - 1) / rowsPerBlock
        // Score rows hold the block's keys rounded up to 32, plus 8 for the softmax's last chunk.
        let ld = (start + n + 31) / 32 * 32 + 8
        parallelFor(heads * blocks, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rowsPerBlock * ld + 8) { scratch in
                let s = scratch.baseAddress!
                for task in range {
                    // Blocks of a head alternate from both ends, so contiguous task ranges get similar work.
                    let h = task / blocks, r = task % blocks
                    let b = r % 2 == 0 ? r / 2 : blocks - 1 - r / 2
                    let t0 = b * rowsPerBlock, rows = min(rowsPerBlock, n - t0)
                    let kvh = h / group
                    let hi = start + t0 + rows
                    // The block's first key (its first query's), down to a panel boundary.
                    let base = (window.map { max(0, start + t0 + 1 - $0) } ?? 0) / 16 * 16
                    let width = hi - base
                    AttentionKernels.product(qp.p + t0 * qDim + h * hd, ldx: qDim, rows: rows, n: hd,
                                             panels: kc.p + (kvh * kb + base / 16) * hd * 16, panelStride: hd * 16, ldp: 16,
                                             c: s, ldc: ld, columns: width)
                    var inverse = SIMD8<Float>()
                    for t in 0..<rows {
                        let len = start + t0 + t + 1
                        let lo = window.map { max(0, len - $0) } ?? 0
                        let row = s + t * ld
                        let sum = AttentionKernels.softmax(row + (lo - base), count: len - lo, scale: scale, softcap: softcap)
                        inverse[t] = 1 / sum
                        row.update(repeating: 0, count: lo - base)
                        (row + (len - base)).update(repeating: 0, count: width - (len - base))
                    }
                    let out = op.p + t0 * qDim + h * hd
                    AttentionKernels.product(s, ldx: ld, rows: rows, n: width, panels: vc.p + (kvh * vb * ctx + base) * 16,
                                             panelStride: ctx * 16, ldp: 16, c: out, ldc: qDim, columns: hd)
                    for t in 0..<rows {
                        let o = out + t * qDim, inv = inverse[t]
                        for d in 0..<hd { o[d] *= inv }
                    }
                }
            }
        }
    }
}
