import FileAccess
import Foundation
import Inference

/// A file cache of ``ReferenceLogProbabilities``, keyed by the SHA-256 of the reference GGUF's content and of
/// the evaluated tokens.
///
/// Layout (little-endian): `"KILNLPC1"` | u32 version (2) | 32-byte model SHA-256 | 32-byte key SHA-256
/// (tokens and context length) | 40-byte file identity of the model (``fileIdentity(of:)``, zeros when
/// unknown) | u64 payload length | u64 payload checksum (FNV-1a over 64-bit words) | payload in
/// llama-perplexity's `_logits_` layout. A cache whose key differs, or of version 1, is a miss; one whose
/// header, length or checksum is wrong is an error.
///
/// The identity memoizes the model's hash: when the reference file's device, inode, size and modification
/// time (to the nanosecond) are those recorded, its stored SHA-256 is taken as current and the file is not
/// read again (hashing a 540 MB F32 GGUF takes seconds).
public enum LogitsCache {
    static let magic = Array("KILNLPC1".utf8)
    static let version: UInt32 = 2
    static let identitySize = 40
    static let headerSize = 8 + 4 + 32 + 32 + identitySize + 8 + 8

    /// Device, inode, size and modification time (seconds and nanoseconds) of a file, or nil when it cannot
    /// be read.
    public static func fileIdentity(of url: URL) -> [UInt8]? {
        guard let id = FileIdentity(path: url.path) else { return nil }
        var out: [UInt8] = []
        for v in [
            id.device, id.inode, UInt64(id.size), UInt64(bitPattern: id.modifiedSeconds),
            UInt64(bitPattern: id.modifiedNanoseconds)
        ] {
            withUnsafeBytes(of: v.littleEndian) { out += $0 }
        }
        return out
    }

    /// Names the forward pass's arithmetic; part of every key, so logits computed by an earlier, differently
    /// rounded forward pass are a miss rather than silently reused. Change it whenever results change.
    static let arithmetic = "ggml CPU order (AVX-512 build): tinyBLAS F32/F16/Q0 products, tiled flash attention"

    /// The cache key of `tokens` evaluated with `contextLength`.
    public static func key(tokens: [Int32], contextLength: Int) -> [UInt8] {
        var d = SHA256Digest()
        Array(arithmetic.utf8).withUnsafeBytes { d.update($0) }
        withUnsafeBytes(of: UInt32(contextLength).littleEndian) { d.update($0) }
        tokens.withUnsafeBytes { d.update($0) }
        return d.finalize()
    }

    /// SHA-256 of a file's content (memory-mapped).
    public static func contentHash(of url: URL) throws(InferenceError) -> [UInt8] {
        do { return try SHA256Digest.digest(file: url) } catch { throw .io(path: url.path, reason: "\(error)") }
    }

    static func checksum(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var c = Checksum()
        c.update(b)
        return c.value
    }

    /// FNV-1a over the 64-bit little-endian words of a byte stream, then its last `count % 8` bytes one by
    /// one; fed in pieces of any size.
    struct Checksum {
        private var h: UInt64 = 0xcbf2_9ce4_8422_2325
        private var pending: UInt64 = 0
        private var pendingCount = 0

        mutating func update(_ b: UnsafeRawBufferPointer) {
            var i = 0
            while pendingCount > 0 && pendingCount < 8 && i < b.count {
                pending |= UInt64(b[i]) << (8 * pendingCount)
                pendingCount += 1
                i += 1
            }
            if pendingCount == 8 {
                h = (h ^ pending) &* 0x0000_0100_0000_01b3
                pending = 0
                pendingCount = 0
            }
            while i + 8 <= b.count {
                h =
                    (h ^ UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                    &* 0x0000_0100_0000_01b3
                i += 8
            }
            while i < b.count {
                pending |= UInt64(b[i]) << (8 * pendingCount)
                pendingCount += 1
                i += 1
            }
        }

        var value: UInt64 {
            var v = h
            for k in 0..<pendingCount { v = (v ^ ((pending >> (8 * k)) & 0xFF)) &* 0x0000_0100_0000_01b3 }
            return v
        }
    }

    /// Writes `reference` to `url` atomically (a temporary file renamed into place), with the model file's
    /// `identity` when known.
    public static func write(
        _ reference: ReferenceLogProbabilities, modelHash: [UInt8], identity: [UInt8]? = nil,
        to url: URL
    ) throws(InferenceError) {
        let writer = try Writer(
            url: url, modelHash: modelHash, identity: identity, contextLength: reference.contextLength,
            vocabularySize: reference.vocabularySize, chunkCount: reference.chunkCount, tokens: reference.tokens)
        try reference.records.withUnsafeBufferPointer { (r: UnsafeBufferPointer<UInt16>) throws(InferenceError) in
            try writer.append(r)
        }
        try writer.commit()
    }

    /// A cache written as the reference is computed, chunk by chunk, so its records are never all in memory:
    /// the header's length and checksum are filled in by ``commit()``, which renames the file into place.
    final class Writer {
        private let file: AtomicOutputFile
        private let url: URL
        private var sum = Checksum()
        private var payload = 0

        init(
            url: URL, modelHash: [UInt8], identity: [UInt8]?, contextLength: Int, vocabularySize: Int, chunkCount: Int,
            tokens: [Int32]
        ) throws(InferenceError) {
            self.url = url
            var header = magic
            withUnsafeBytes(of: version.littleEndian) { header += $0 }
            header += modelHash
            header += key(tokens: tokens, contextLength: contextLength)
            header += identity ?? [UInt8](repeating: 0, count: identitySize)
            header += [UInt8](repeating: 0, count: 16)  // length and checksum, at commit
            let head = ReferenceLogProbabilities.llamaHeader(
                contextLength: contextLength, vocabularySize: vocabularySize,
                chunkCount: chunkCount, tokens: tokens)
            do throws(FileAccessError) {
                file = try AtomicOutputFile(destination: url, overwrite: true)
                try file.write(header)
                try file.write(head)
            } catch { throw .io(path: url.path, reason: error.description) }
            head.withUnsafeBytes { sum.update($0) }
            payload = head.count
        }

        func append(_ records: UnsafeBufferPointer<UInt16>) throws(InferenceError) {
            let bytes = UnsafeRawBufferPointer(records)
            sum.update(bytes)
            payload += bytes.count
            do throws(FileAccessError) { try file.write(bytes) } catch {
                throw .io(path: url.path, reason: error.description)
            }
        }

        func commit() throws(InferenceError) {
            var tail: [UInt8] = []
            withUnsafeBytes(of: UInt64(payload).littleEndian) { tail += $0 }
            withUnsafeBytes(of: sum.value.littleEndian) { tail += $0 }
            do throws(FileAccessError) {
                try file.write(tail, at: headerSize - 16)
                try file.commit()
            } catch { throw .io(path: url.path, reason: error.description) }
        }
    }

    /// Reads the cache at `url`: nil when absent or keyed differently; throws when corrupt.
    public static func read(
        from url: URL, modelHash: [UInt8], tokens: [Int32], contextLength: Int
    ) throws(InferenceError) -> ReferenceLogProbabilities? {
        try read(from: url, identity: nil, hash: { modelHash }, tokens: tokens, contextLength: contextLength)
    }

    /// Reads the cache at `url` for a model whose file has `identity`: when the cache recorded the same
    /// identity its stored hash is trusted, otherwise `hash()` is computed and compared.
    public static func read(
        from url: URL, identity: [UInt8]?, hash: () throws(InferenceError) -> [UInt8], tokens: [Int32],
        contextLength: Int
    ) throws(InferenceError) -> ReferenceLogProbabilities? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let file: MappedFile
        do { file = try MappedFile(url: url) } catch { throw .io(path: url.path, reason: error.description) }
        let b = file.bytes
        let wantKey = key(tokens: tokens, contextLength: contextLength)
        func bad(_ r: String) -> InferenceError { .corruptLogitsCache(path: url.path, reason: r) }
        guard b.count >= headerSize, Array(b[0..<8]) == magic else {
            throw bad("not a Kiln logits cache (bad magic or truncated header)")
        }
        let version = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        // Version 1 held logits of an earlier forward pass: a miss, to be rewritten.
        if version == 1 { return nil }
        guard version == Self.version else { throw bad("unsupported version \(version)") }
        guard Array(b[44..<76]) == wantKey else { return nil }
        let recorded = Array(b[76..<(76 + identitySize)])
        if identity == nil || recorded != identity! {
            guard Array(b[12..<44]) == (try hash()) else { return nil }
        }
        let lengthAt = 76 + identitySize
        let len = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: lengthAt, as: UInt64.self))
        let stored = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: lengthAt + 8, as: UInt64.self))
        guard UInt64(b.count - headerSize) == len else {
            throw bad("payload is \(b.count - headerSize) bytes, header says \(len)")
        }
        // Checked in slices whose pages are dropped behind, so the check does not keep the file resident.
        var sum = Checksum()
        let slice = 1 << 25
        var at = headerSize
        while at < b.count {
            let n = min(slice, b.count - at)
            sum.update(file.slice(offset: at, length: n))
            file.dropPages(offset: at, length: n)
            at += n
        }
        guard sum.value == stored else { throw bad("checksum mismatch") }
        let r = try ReferenceLogProbabilities(llamaFormat: file, offset: headerSize)
        guard r.tokens == tokens, r.contextLength == contextLength else { throw bad("tokens differ from the key") }
        return r
    }
}
