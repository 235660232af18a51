import Foundation

/// A reference model's encoded log-probabilities over the scored half of every chunk: the content of
/// llama-perplexity's `--kl-divergence-base` file.
public struct ReferenceLogProbabilities: Sendable, Equatable {
    public let contextLength: Int
    public let vocabularySize: Int
    public let chunkCount: Int
    /// The evaluated tokens, `contextLength · chunkCount` of them (without BOS substitution, as llama stores them).
    public let tokens: [Int32]
    /// `chunkCount · scoredPerChunk` records of ``LogProbabilityRecord/slots(vocabularySize:)`` uint16 each.
    public var records: [UInt16]

    public var scoredPerChunk: Int { contextLength - 1 - contextLength / 2 }
    public var slots: Int { LogProbabilityRecord.slots(vocabularySize: vocabularySize) }

    public init(contextLength: Int, vocabularySize: Int, chunkCount: Int, tokens: [Int32], records: [UInt16]) {
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.chunkCount = chunkCount
        self.tokens = tokens
        self.records = records
    }

    static let llamaMagic = Array("_logits_".utf8)

    /// Serializes in llama-perplexity's `_logits_` layout (readable by `llama-perplexity --kl-divergence-base`).
    public func llamaFormat() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20 + tokens.count * 4 + records.count * 2)
        out += Self.llamaMagic
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u32(UInt32(contextLength)); u32(UInt32(vocabularySize)); u32(UInt32(chunkCount))
        tokens.withUnsafeBytes { out += $0 }
        records.withUnsafeBytes { out += $0 }
        return out
    }

    /// Parses llama-perplexity's `_logits_` layout; `path` is only used in errors.
    public init(llamaFormat bytes: UnsafeRawBufferPointer, path: String) throws(InferenceError) {
        func bad(_ r: String) -> InferenceError { .corruptLogitsCache(path: path, reason: r) }
        guard bytes.count >= 20, Array(bytes[0..<8]) == Self.llamaMagic else { throw bad("missing _logits_ magic") }
        func i32(_ o: Int) -> Int { Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int32.self))) }
        let nCtx = i32(8), nVocab = i32(12), nChunk = i32(16)
        guard nCtx >= 4, nVocab > 0, nChunk > 0 else { throw bad("bad header n_ctx=\(nCtx) n_vocab=\(nVocab) n_chunk=\(nChunk)") }
        let nTok = nCtx * nChunk
        let slots = LogProbabilityRecord.slots(vocabularySize: nVocab)
        let nRec = nChunk * (nCtx - 1 - nCtx / 2) * slots
        let need = 20 + nTok * 4 + nRec * 2
        guard bytes.count == need else { throw bad("size \(bytes.count) bytes, expected \(need)") }
        contextLength = nCtx
        vocabularySize = nVocab
        chunkCount = nChunk
        tokens = [Int32](unsafeUninitializedCapacity: nTok) { b, c in
            UnsafeMutableRawBufferPointer(b).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[20..<(20 + nTok * 4)]))
            c = nTok
        }
        records = [UInt16](unsafeUninitializedCapacity: nRec) { b, c in
            UnsafeMutableRawBufferPointer(b).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(20 + nTok * 4)...]))
            c = nRec
        }
    }

    /// Reads a llama-perplexity `--kl-divergence-base` file.
    public init(llamaFile url: URL) throws(InferenceError) {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .io(path: url.path, reason: "\(error)")
        }
        do {
            self = try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(InferenceError) -> ReferenceLogProbabilities in
                try ReferenceLogProbabilities(llamaFormat: b, path: url.path)
            }
        } catch let e as InferenceError { throw e } catch { throw .io(path: url.path, reason: "\(error)") }
    }
}
