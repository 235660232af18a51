import FileAccess
import Foundation

/// A file cache of ``ReferenceLogProbabilities``, keyed by the SHA-256 of the reference GGUF's content and of
/// the evaluated tokens.
///
/// Layout (little-endian): `"KILNLPC1"` | u32 version (1) | 32-byte model SHA-256 | 32-byte key SHA-256
/// (tokens and context length) | u64 payload length | u64 payload checksum (FNV-1a over 64-bit words) |
/// payload in llama-perplexity's `_logits_` layout. A cache whose key differs is a miss; one whose header,
/// length or checksum is wrong is an error.
public enum LogitsCache {
    static let magic = Array("KILNLPC1".utf8)
    static let headerSize = 8 + 4 + 32 + 32 + 8 + 8

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

    /// Writes `reference` to `url` atomically.
    public static func write(_ reference: ReferenceLogProbabilities, modelHash: [UInt8], to url: URL) throws(InferenceError) {
        let payload = reference.llamaFormat()
        var out = magic
        func u(_ v: some FixedWidthInteger) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u(UInt32(1))
        out += modelHash
        out += key(tokens: reference.tokens, contextLength: reference.contextLength)
        u(UInt64(payload.count))
        u(payload.withUnsafeBytes { checksum($0) })
        out += payload
        do { try Data(out).write(to: url, options: .atomic) } catch { throw .io(path: url.path, reason: "\(error)") }
    }

    /// Reads the cache at `url`: nil when absent or keyed differently; throws when corrupt.
    public static func read(from url: URL, modelHash: [UInt8], tokens: [Int32], contextLength: Int) throws(InferenceError) -> ReferenceLogProbabilities? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch { throw .io(path: url.path, reason: "\(error)") }
        let wantKey = key(tokens: tokens, contextLength: contextLength)
        do {
        return try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(InferenceError) -> ReferenceLogProbabilities? in
            func bad(_ r: String) -> InferenceError { .corruptLogitsCache(path: url.path, reason: r) }
            guard b.count >= headerSize, Array(b[0..<8]) == magic else { throw bad("not a Kiln logits cache (bad magic or truncated header)") }
            let version = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            guard version == 1 else { throw bad("unsupported version \(version)") }
            guard Array(b[12..<44]) == modelHash, Array(b[44..<76]) == wantKey else { return nil }
            let len = Int(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 76, as: UInt64.self)))
            let sum = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 84, as: UInt64.self))
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
