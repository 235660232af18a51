import FileAccess
import Foundation
import Inference
import KilnTestSupport
import Testing

@testable import Verification

@Suite("Statistics, records and caches")
struct FormatTests {
    @Test("SHA-256 known answers")
    func sha256() {
        #expect(
            SHA256Digest.hex(Array("abc".utf8).withUnsafeBytes { SHA256Digest.hash($0) })
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256Digest.hex([UInt8]().withUnsafeBytes { SHA256Digest.hash($0) })
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = [UInt8](repeating: 0x61, count: 1_000)
        var d = SHA256Digest()
        long.withUnsafeBytes {
            d.update(UnsafeRawBufferPointer(rebasing: $0[0..<37]));
            d.update(UnsafeRawBufferPointer(rebasing: $0[37...]))
        }
        #expect(SHA256Digest.hex(d.finalize()) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test("nearest_int rounds half to even")
    func nearestInt() {
        #expect(LogProbabilityRecord.nearestInt(2.5) == 2)
        #expect(LogProbabilityRecord.nearestInt(3.5) == 4)
        #expect(LogProbabilityRecord.nearestInt(-1.5) == -2)
        #expect(LogProbabilityRecord.nearestInt(65534.6) == 65535)
    }

    @Test("A record decodes to log-probabilities within one step, and identical logits give zero KLD")
    func recordRoundTrip() {
        let n = 1001
        let logits = (0..<n).map { Float(sin(Double($0) * 0.37) * 6) }
        var rec = [UInt16](repeating: 0, count: LogProbabilityRecord.slots(vocabularySize: n))
        let nll = logits.withUnsafeBufferPointer { l in
            rec.withUnsafeMutableBufferPointer {
                LogProbabilityRecord.encode(logits: l.baseAddress!, vocabularySize: n, token: 7, into: $0.baseAddress!)
            }
        }
        let maxL = logits.max()!
        let lse = log(logits.reduce(0.0) { $0 + exp(Double($1 - maxL)) }) + Double(maxL)
        #expect(abs(nll - (lse - Double(logits[7]))) < 1e-4)
        let (scale, minLP) = rec.withUnsafeBufferPointer { LogProbabilityRecord.header($0.baseAddress!) }
        for i in stride(from: 0, to: n, by: 97) where Double(logits[i]) - lse > -16 {
            let decoded = scale * Float(rec[4 + i]) + minLP
            #expect(abs(Double(decoded) - (Double(logits[i]) - lse)) <= Double(scale) + 1e-5)
        }
        let c = logits.withUnsafeBufferPointer { l in
            rec.withUnsafeBufferPointer {
                PositionComparison(logits: l.baseAddress!, vocabularySize: n, record: $0.baseAddress!, token: 7)
            }
        }
        #expect(abs(c.kld) < 1e-5)  // the 16-bit encoding alone costs ~3e-6
        #expect(c.sameTop)
        #expect(abs(c.nll - c.nllBase) < 1e-3)
    }

    @Test("Percentiles and medians follow llama-perplexity")
    func percentiles() {
        let v: [Float] = [0, 1, 2, 3, 4]
        #expect(KLDStatistics.percentile(v, 0.5) == 2)
        #expect(KLDStatistics.percentile(v, 0.99) == 3.96)
        #expect(KLDStatistics.median([1, 2, 3, 4]) == 2.5)
        #expect(KLDStatistics.median(v) == 2)
        let (m, u) = KLDStatistics.meanAndUncertainty(10, 30, 5)
        #expect(m == 2 && u == 0)  // n ≤ 10: no uncertainty
    }

    @Test("Token ids parse from llama-tokenize --ids output")
    func tokenIDs() throws {
        #expect(try TokenIDs.parse("[1, 2,3]\n") == [1, 2, 3])
        #expect(throws: InferenceError.invalidArgument("not a token id: 'x'")) { try TokenIDs.parse("[1, x]") }
    }

    func sampleReference() -> ReferenceLogProbabilities {
        let n = 16, vocab = 5, chunks = 2
        let slots = LogProbabilityRecord.slots(vocabularySize: vocab)
        let records = (0..<(chunks * (n - 1 - n / 2) * slots)).map { UInt16(truncatingIfNeeded: $0 &* 2654435761) }
        return ReferenceLogProbabilities(
            contextLength: n, vocabularySize: vocab, chunkCount: chunks,
            tokens: (0..<Int32(n * chunks)).map { $0 % 5 }, records: records)
    }

    @Test("The cache trusts its stored hash only while the reference file's identity is unchanged")
    func cacheIdentity() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model.gguf"), url = dir.appendingPathComponent("ref.kilnlogits")
        try Data("weights".utf8).write(to: model)
        let ref = sampleReference()
        let hash = try LogitsCache.contentHash(of: model)
        let identity = try #require(LogitsCache.fileIdentity(of: model))
        try LogitsCache.write(ref, modelHash: hash, identity: identity, to: url)
        var hashed = 0
        let count = { () throws(InferenceError) -> [UInt8] in
            hashed += 1
            return try LogitsCache.contentHash(of: model)
        }
        // Same identity: a hit without reading the model.
        #expect(
            try LogitsCache.read(from: url, identity: identity, hash: count, tokens: ref.tokens, contextLength: 16)
                == ref)
        #expect(hashed == 0)
        // The file rewritten (new modification time, other content): hashed again, and a miss.
        try Data("other weights".utf8).write(to: model)
        let changed = try #require(LogitsCache.fileIdentity(of: model))
        #expect(changed != identity)
        #expect(
            try LogitsCache.read(from: url, identity: changed, hash: count, tokens: ref.tokens, contextLength: 16)
                == nil)
        #expect(hashed == 1)
        // Same content, new identity (copied back): hashed, and a hit.
        try Data("weights".utf8).write(to: model)
        #expect(
            try LogitsCache.read(
                from: url, identity: LogitsCache.fileIdentity(of: model), hash: count, tokens: ref.tokens,
                contextLength: 16) == ref)
        #expect(hashed == 2)
    }

    @Test("The logits cache round-trips, misses on another key and rejects corruption")
    func cache() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ref.kilnlogits")
        let ref = sampleReference()
        let hash = [UInt8](repeating: 7, count: 32)
        try LogitsCache.write(ref, modelHash: hash, to: url)
        #expect(try LogitsCache.read(from: url, modelHash: hash, tokens: ref.tokens, contextLength: 16) == ref)
        #expect(
            try LogitsCache.read(
                from: url, modelHash: [UInt8](repeating: 8, count: 32), tokens: ref.tokens, contextLength: 16) == nil)
        #expect(
            try LogitsCache.read(
                from: dir.appendingPathComponent("absent"), modelHash: hash, tokens: ref.tokens, contextLength: 16)
                == nil)
        // Flip one payload byte: checksum error.
        var bytes = try [UInt8](Data(contentsOf: url))
        bytes[bytes.count - 3] ^= 0x40
        try Data(bytes).write(to: url)
        #expect(throws: InferenceError.corruptLogitsCache(path: url.path, reason: "checksum mismatch")) {
            try LogitsCache.read(from: url, modelHash: hash, tokens: ref.tokens, contextLength: 16)
        }
        // Truncate: length error.
        try Data(bytes.dropLast(10)).write(to: url)
        #expect(throws: InferenceError.self) {
            try LogitsCache.read(from: url, modelHash: hash, tokens: ref.tokens, contextLength: 16)
        }
        // Garbage header.
        try Data("hello".utf8).write(to: url)
        #expect(throws: InferenceError.self) {
            try LogitsCache.read(from: url, modelHash: hash, tokens: ref.tokens, contextLength: 16)
        }
        // llama-perplexity layout round trip.
        let llama = ref.llamaFormat()
        #expect(try llama.withUnsafeBytes { try ReferenceLogProbabilities(llamaFormat: $0, path: "x") } == ref)
    }

    @Test("The cache checksum is the same fed whole or in pieces of any size")
    func checksumPieces() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = bytes.withUnsafeBytes { LogitsCache.checksum($0) }
        for cuts in [[1], [7, 8, 9], [20, 503], [3, 3, 3, 997]] {
            var c = LogitsCache.Checksum()
            var start = 0
            for end in cuts + [bytes.count] where end > start {
                bytes[start..<end].withUnsafeBytes { c.update($0) }
                start = end
            }
            #expect(c.value == whole, "cuts \(cuts)")
        }
    }

    @Test("A cache written chunk by chunk holds the same bytes as one written at once, and reads back mapped")
    func streamedCache() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ref = sampleReference(), hash = [UInt8](repeating: 7, count: 32)
        let whole = dir.appendingPathComponent("whole"), streamed = dir.appendingPathComponent("streamed")
        try LogitsCache.write(ref, modelHash: hash, to: whole)
        let writer = try LogitsCache.Writer(
            url: streamed, modelHash: hash, identity: nil, contextLength: ref.contextLength,
            vocabularySize: ref.vocabularySize, chunkCount: ref.chunkCount, tokens: ref.tokens)
        let perChunk = ref.records.count / ref.chunkCount
        try ref.records.withUnsafeBufferPointer { (r: UnsafeBufferPointer<UInt16>) throws(InferenceError) in
            for i in 0..<ref.chunkCount {
                try writer.append(UnsafeBufferPointer(rebasing: r[(i * perChunk)..<((i + 1) * perChunk)]))
            }
        }
        try writer.commit()
        #expect(try Data(contentsOf: whole) == Data(contentsOf: streamed))
        let read = try #require(
            try LogitsCache.read(from: streamed, modelHash: hash, tokens: ref.tokens, contextLength: 16))
        #expect(read == ref)
        read.records.release(0..<read.records.count)
        #expect(read == ref)
    }
}
