import Foundation

/// A KV cache and scratch space for evaluating token sequences with a ``TransformerModel``.
///
/// Keys and values are stored rounded to F16, as in llama.cpp's default cache; attention over a batch is
/// causal, one head at a time, in F32.
public final class InferenceSession {
    public let model: TransformerModel
    /// Maximum number of positions the cache holds.
    public let contextLength: Int
    public var threads: Int
    /// Number of positions already in the cache.
    public private(set) var position = 0

    private let keyCache: FloatBuffer   // [layer][pos][kvDim]
    private let valueCache: FloatBuffer
    private var capacity = 0
    private var x = FloatBuffer(count: 0), xn = FloatBuffer(count: 0), xr = FloatBuffer(count: 0)
    private var q = FloatBuffer(count: 0), k = FloatBuffer(count: 0), v = FloatBuffer(count: 0)
    private var att = FloatBuffer(count: 0), g = FloatBuffer(count: 0), u = FloatBuffer(count: 0)
    private var ropeCos: [Float] = [], ropeSin: [Float] = []

    public init(model: TransformerModel, contextLength: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.model = model
        self.contextLength = contextLength
        self.threads = max(1, threads)
        let c = model.configuration
        let kvDim = c.headCountKV * c.headDimension
        keyCache = FloatBuffer(count: c.blockCount * contextLength * kvDim)
        valueCache = FloatBuffer(count: c.blockCount * contextLength * kvDim)
        // Rotary table per position, computed as ggml does: theta = pos, multiplied by base^(-2/n_rot) per pair.
        let half = c.ropeDimensionCount / 2
        ropeCos = [Float](repeating: 0, count: contextLength * half)
        ropeSin = ropeCos
        let thetaScale = powf(c.ropeFreqBase, -2 / Float(c.ropeDimensionCount))
        for p in 0..<contextLength {
            var theta = Float(p)
            for i in 0..<half {
                ropeCos[p * half + i] = cosf(theta)
                ropeSin[p * half + i] = sinf(theta)
                theta *= thetaScale
            }
        }
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
            project(xn.pointer, tokens: nOut, model.output, into: buf.baseAddress!, rounded: xr.pointer)
            count = nOut * vocab
        }
    }

    /// `out = round_grid(input) · Wᵀ`; `rounded` is scratch for the rounded activations.
    private func project(_ input: UnsafeMutablePointer<Float>, tokens n: Int, _ w: WeightMatrix,
                         into out: UnsafeMutablePointer<Float>, rounded: UnsafeMutablePointer<Float>) {
        w.apply(input, tokens: n, into: out, scratch: rounded, threads: threads)
    }

    private func forwardLayer(_ li: Int, _ layer: TransformerLayer, _ n: Int) {
        let c = model.configuration
        let e = c.embeddingLength, hd = c.headDimension
        let qDim = c.headCount * hd, kvDim = c.headCountKV * hd
        let x = x.pointer, xn = xn.pointer, xr = xr.pointer
        for t in 0..<n {
            Kernels.rmsNorm(x + t * e, weight: layer.attentionNorm, n: e, epsilon: c.rmsEpsilon, into: xn + t * e)
        }
        project(xn, tokens: n, layer.query, into: q.pointer, rounded: xr)
        project(xn, tokens: n, layer.key, into: k.pointer, rounded: xr)
        project(xn, tokens: n, layer.value, into: v.pointer, rounded: xr)
        applyRope(q.pointer, heads: c.headCount, n: n)
        applyRope(k.pointer, heads: c.headCountKV, n: n)
        // Store K and V rounded to F16.
        let kc = keyCache.pointer + (li * contextLength + position) * kvDim
        let vc = valueCache.pointer + (li * contextLength + position) * kvDim
        for i in 0..<(n * kvDim) {
            kc[i] = Float(Float16(k.pointer[i]))
            vc[i] = Float(Float16(v.pointer[i]))
        }
        attention(li, n: n)
        project(att.pointer, tokens: n, layer.attentionOutput, into: xn, rounded: xr)
        for i in 0..<(n * e) { x[i] += xn[i] }
        for t in 0..<n {
            Kernels.rmsNorm(x + t * e, weight: layer.feedForwardNorm, n: e, epsilon: c.rmsEpsilon, into: xn + t * e)
        }
        project(xn, tokens: n, layer.gate, into: g.pointer, rounded: xr)
        project(xn, tokens: n, layer.up, into: u.pointer, rounded: xr)
        let f = c.feedForwardLength
        let gp = SendablePointer(g.pointer), up = SendablePointer(u.pointer)
        parallelFor(n, threads: threads) { r in
            for i in (r.lowerBound * f)..<(r.upperBound * f) {
                let a = gp.p[i]
                gp.p[i] = a / (1 + expf(-a)) * up.p[i]
            }
        }
        project(g.pointer, tokens: n, layer.down, into: xn, rounded: xr)
        for i in 0..<(n * e) { x[i] += xn[i] }
        _ = qDim
    }

    private func applyRope(_ p: UnsafeMutablePointer<Float>, heads: Int, n: Int) {
        let c = model.configuration
        let hd = c.headDimension, half = c.ropeDimensionCount / 2
        for t in 0..<n {
            let pos = position + t
            let cs = ropeCos.withUnsafeBufferPointer { $0.baseAddress! + pos * half }
            let sn = ropeSin.withUnsafeBufferPointer { $0.baseAddress! + pos * half }
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
                    let r = c.ropeDimensionCount / 2
                    for i in 0..<half {
                        let x0 = v[i], x1 = v[i + r]
                        v[i] = x0 * cs[i] - x1 * sn[i]
                        v[i + r] = x0 * sn[i] + x1 * cs[i]
                    }
                }
            }
        }
    }

    /// Causal attention of the `n` new queries over all cached positions, one (head, query) pair per task.
    private func attention(_ li: Int, n: Int) {
        let c = model.configuration
        let hd = c.headDimension, heads = c.headCount, group = c.headCount / c.headCountKV
        let kvDim = c.headCountKV * hd
        let scale = 1 / Float(hd).squareRoot()
        let kc = SendablePointer(keyCache.pointer + li * contextLength * kvDim)
        let vc = SendablePointer(valueCache.pointer + li * contextLength * kvDim)
        let qp = SendablePointer(q.pointer), op = SendablePointer(att.pointer)
        let start = position, ctx = contextLength
        parallelFor(n * heads, threads: threads) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: ctx) { scores in
                let s = scores.baseAddress!
                for task in range {
                    let t = task / heads, h = task % heads
                    let kvh = h / group
                    let qv = qp.p + (t * heads + h) * hd
                    let len = start + t + 1
                    var m = -Float.infinity
                    for j in 0..<len {
                        let d = Kernels.dot(qv, kc.p + j * kvDim + kvh * hd, n: hd) * scale
                        s[j] = d
                        m = max(m, d)
                    }
                    var sum: Float = 0
                    for j in 0..<len {
                        let p = expf(s[j] - m)
                        s[j] = p
                        sum += p
                    }
                    let out = op.p + (t * heads + h) * hd
                    out.update(repeating: 0, count: hd)
                    for j in 0..<len {
                        let vv = vc.p + j * kvDim + kvh * hd, p = s[j]
                        var d = 0
                        while d < hd {
                            let o = UnsafeRawPointer(out + d).loadUnaligned(as: SIMD8<Float>.self)
                            let a = UnsafeRawPointer(vv + d).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(out + d).storeBytes(of: o.addingProduct(a, SIMD8(repeating: p)), as: SIMD8<Float>.self)
                            d += 8
                        }
                    }
                    let inv = 1 / sum
                    for d in 0..<hd { out[d] *= inv }
                }
            }
        }
    }
}
