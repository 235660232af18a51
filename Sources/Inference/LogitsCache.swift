import FileAccess
import Foundation

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
        var st = stat()
        guard stat(url.path, &st) == 0 else { return nil }
        var out: [UInt8] = []
        for v in [UInt64(st.st_dev), UInt64(st.st_ino), UInt64(st.st_size), UInt64(bitPattern: Int64(st.st_mtim.tv_sec)),
                  UInt64(bitPattern: Int64(st.st_mtim.tv_nsec))] {
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
        do {
            let data = try Data(contentsOf: url, options: .alwaysMapped)
            return data.withUnsafeBytes { SHA256Digest.hash($0) }
        } catch { throw .io(path: url.path, reason: "\(error)") }
    }

    static func checksum(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let words = b.count / 8
        for i in 0..<words {
            h = (h ^ b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) &* 0x0000_0100_0000_01b3
        }
        for i in (words * 8)..<b.count { h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// Writes `reference` to `url` atomically, with the model file's `identity` when known.
    public static func write(_ reference: ReferenceLogProbabilities, modelHash: [UInt8], identity: [UInt8]? = nil,
                             to url: URL) throws(InferenceError) {
        let payload = reference.llamaFormat()
        var out = magic
        func u(_ v: some FixedWidthInteger) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u(version)
        out += modelHash
        out += key(tokens: reference.tokens, contextLength: reference.contextLength)
        out += identity ?? [UInt8](repeating: 0, count: identitySize)
        u(UInt64(payload.count))
        u(payload.withUnsafeBytes { checksum($0) })
        out += payload
        do { try Data(out).write(to: url, options: .atomic) } catch { throw .io(path: url.path, reason: "\(error)") }
    }

    /// Reads the cache at `url`: nil when absent or keyed differently; throws when corrupt.
    public static func read(from url: URL, modelHash: [UInt8], tokens: [Int32], contextLength: Int) throws(InferenceError) -> ReferenceLogProbabilities? {
        try read(from: url, identity: nil, hash: { modelHash }, tokens: tokens, contextLength: contextLength)
    }

    /// Reads the cache at `url` for a model whose file has `identity`: when the cache recorded the same
    /// identity its stored hash is trusted, otherwise `hash()` is computed and compared.
    public static func read(from url: URL, identity: [UInt8]?, hash: () throws(InferenceError) -> [UInt8], tokens: [Int32],
                            contextLength: Int) throws(InferenceError) -> ReferenceLogProbabilities? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch { throw .io(path: url.path, reason: "\(error)") }
        let wantKey = key(tokens: tokens, contextLength: contextLength)
        do {
        return try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(InferenceError) -> ReferenceLogProbabilities? in
            func bad(_ r: String) -> InferenceError { .corruptLogitsCache(path: url.path, reason: r) }
            guard b.count >= headerSize, Array(b[0..<8]) == magic else { throw bad("not a Kiln logits cache (bad magic or truncated header)") }
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
            let len = Int(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: lengthAt, as: UInt64.self)))
            let sum = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: lengthAt + 8, as: UInt64.self))
            guard b.count == headerSize + len else { throw bad("payload is \(b.count - headerSize) bytes, header says \(len)") }
            let payload = UnsafeRawBufferPointer(rebasing: b[headerSize...])
            guard checksum(payload) == sum else { throw bad("checksum mismatch") }
            let r = try ReferenceLogProbabilities(llamaFormat: payload, path: url.path)
            guard r.tokens == tokens, r.contextLength == contextLength else { throw bad("tokens differ from the key") }
            return r
        }
        } catch let e as InferenceError { throw e } catch { throw .io(path: url.path, reason: "\(error)") }
    }
}
