import FileAccess
import Foundation
import Inference

/// A reference model's encoded log-probabilities over the scored half of every chunk: the content of
/// llama-perplexity's `--kl-divergence-base` file.
public struct ReferenceLogProbabilities: Sendable, Equatable {
    public let contextLength: Int
    public let vocabularySize: Int
    public let chunkCount: Int
    /// The evaluated tokens, `contextLength · chunkCount` of them (without BOS substitution, as llama stores them).
    public let tokens: [Int32]
    /// `chunkCount · scoredPerChunk` records of ``LogProbabilityRecord/slots(vocabularySize:)`` uint16 each.
    public let records: LogProbabilityRecords

    public var scoredPerChunk: Int { contextLength - 1 - contextLength / 2 }
    public var slots: Int { LogProbabilityRecord.slots(vocabularySize: vocabularySize) }

    public init(contextLength: Int, vocabularySize: Int, chunkCount: Int, tokens: [Int32], records: [UInt16]) {
        self.init(
            contextLength: contextLength, vocabularySize: vocabularySize, chunkCount: chunkCount, tokens: tokens,
            records: LogProbabilityRecords(records))
    }

    init(contextLength: Int, vocabularySize: Int, chunkCount: Int, tokens: [Int32], records: LogProbabilityRecords) {
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.chunkCount = chunkCount
        self.tokens = tokens
        self.records = records
    }

    static let llamaMagic = Array("_logits_".utf8)

    /// The header and tokens of llama-perplexity's `_logits_` layout; the records follow.
    static func llamaHeader(contextLength: Int, vocabularySize: Int, chunkCount: Int, tokens: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20 + tokens.count * 4)
        out += llamaMagic
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u32(UInt32(contextLength)); u32(UInt32(vocabularySize)); u32(UInt32(chunkCount))
        tokens.withUnsafeBytes { out += $0 }
        return out
    }

    /// Serializes in llama-perplexity's `_logits_` layout (readable by `llama-perplexity --kl-divergence-base`).
    public func llamaFormat() -> [UInt8] {
        var out = Self.llamaHeader(
            contextLength: contextLength, vocabularySize: vocabularySize, chunkCount: chunkCount,
            tokens: tokens)
        records.withUnsafeBufferPointer { out += UnsafeRawBufferPointer($0) }
        return out
    }

    /// Checks llama-perplexity's `_logits_` header in `bytes` (the whole payload, `count` bytes) and returns
    /// its sizes and tokens; `path` is only used in errors.
    private static func parseHeader(
        _ bytes: UnsafeRawBufferPointer, count: Int, path: String
    ) throws(InferenceError)
        -> (contextLength: Int, vocabularySize: Int, chunkCount: Int, tokens: [Int32], records: Int)
    {
        func bad(_ r: String) -> InferenceError { .corruptLogitsCache(path: path, reason: r) }
        guard bytes.count >= 20, Array(bytes[0..<8]) == Self.llamaMagic else { throw bad("missing _logits_ magic") }
        func i32(_ o: Int) -> Int { Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int32.self))) }
        let nCtx = i32(8), nVocab = i32(12), nChunk = i32(16)
        guard nCtx >= 4, nVocab > 0, nChunk > 0 else {
            throw bad("bad header n_ctx=\(nCtx) n_vocab=\(nVocab) n_chunk=\(nChunk)")
        }
        // Sizes from a header are checked against the payload in arithmetic that cannot overflow.
        let nTok = nCtx * nChunk
        let perChunk = (nCtx - 1 - nCtx / 2) * LogProbabilityRecord.slots(vocabularySize: nVocab)
        let (nRec, o1) = nChunk.multipliedReportingOverflow(by: perChunk)
        let (recordBytes, o2) = nRec.multipliedReportingOverflow(by: 2)
        let (tokenBytes, o3) = nTok.multipliedReportingOverflow(by: 4)
        let (payload, o4) = tokenBytes.addingReportingOverflow(recordBytes)
        let (need, o5) = payload.addingReportingOverflow(20)
        let overflow = o1 || o2 || o3 || o4 || o5
        guard !overflow, count == need else {
            throw bad("size \(count) bytes, expected \(overflow ? "more than \(Int.max)" : "\(need)")")
        }
        let tokens = [Int32](unsafeUninitializedCapacity: nTok) { b, c in
            UnsafeMutableRawBufferPointer(b).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: bytes[20..<(20 + nTok * 4)]))
            c = nTok
        }
        return (nCtx, nVocab, nChunk, tokens, nRec)
    }

    /// Parses llama-perplexity's `_logits_` layout, copying the records; `path` is only used in errors.
    public init(llamaFormat bytes: UnsafeRawBufferPointer, path: String) throws(InferenceError) {
        let h = try Self.parseHeader(bytes, count: bytes.count, path: path)
        let start = 20 + h.tokens.count * 4
        let records = [UInt16](unsafeUninitializedCapacity: h.records) { b, c in
            UnsafeMutableRawBufferPointer(b).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start...]))
            c = h.records
        }
        self.init(
            contextLength: h.contextLength, vocabularySize: h.vocabularySize, chunkCount: h.chunkCount,
            tokens: h.tokens,
            records: LogProbabilityRecords(records))
    }

    /// Parses the `_logits_` layout at `offset` to the end of `file`, leaving the records in the mapping
    /// (read as they are used, their pages dropped by ``LogProbabilityRecords/release(_:)``).
    init(llamaFormat file: MappedFile, offset: Int) throws(InferenceError) {
        let bytes = file.slice(offset: offset, length: file.count - offset)
        let h = try Self.parseHeader(bytes, count: bytes.count, path: file.url.path)
        let start = offset + 20 + h.tokens.count * 4
        guard start % 2 == 0 else {
            throw .corruptLogitsCache(path: file.url.path, reason: "records at an odd offset (\(start))")
        }
        self.init(
            contextLength: h.contextLength, vocabularySize: h.vocabularySize, chunkCount: h.chunkCount,
            tokens: h.tokens,
            records: LogProbabilityRecords(file: file, offset: start, count: h.records))
    }

    /// Reads a llama-perplexity `--kl-divergence-base` file.
    public init(llamaFile url: URL) throws(InferenceError) {
        let file: MappedFile
        do { file = try MappedFile(url: url) } catch { throw .io(path: url.path, reason: error.description) }
        try self.init(llamaFormat: file, offset: 0)
    }
}

/// The uint16 records of ``ReferenceLogProbabilities``: an array, or a range of a memory-mapped cache file
/// whose pages are read as a chunk is compared and dropped after it, so that a 476 MB reference does not
/// stay resident.
public struct LogProbabilityRecords: Sendable, Equatable {
    private let owned: [UInt16]
    private let file: MappedFile?
    private let offset: Int
    public let count: Int

    public init(_ values: [UInt16]) {
        owned = values
        file = nil
        offset = 0
        count = values.count
    }

    /// `count` records at byte `offset` (even) of `file`.
    init(file: MappedFile, offset: Int, count: Int) {
        precondition(offset % 2 == 0 && offset + 2 * count <= file.count)
        owned = []
        self.file = file
        self.offset = offset
        self.count = count
    }

    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<UInt16>) throws(E) -> R
    ) throws(E) -> R {
        guard let file else { return try owned.withUnsafeBufferPointer(body) }
        let bytes = file.slice(offset: offset, length: 2 * count)
        return try body(
            UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt16.self), count: count))
    }

    /// Lets the system drop the resident pages of records `range` of a mapped file (read again if used).
    public func release(_ range: Range<Int>) {
        file?.dropPages(offset: offset + 2 * range.lowerBound, length: 2 * range.count)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.count == b.count
            && a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    memcmp(x.baseAddress!, y.baseAddress!, 2 * x.count) == 0
                }
            }
    }
}
