import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What identifies a file's content without reading it: device, inode, size and modification time. A
/// digest memoized under an identity is reused while the identity is unchanged.
public struct FileIdentity: Codable, Sendable, Equatable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64

    /// The identity of the file at `path` (symbolic links followed), or nil when it cannot be read.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int(st.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int64(st.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int64(st.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int64(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(st.st_mtim.tv_nsec)
        #endif
    }
}

extension SHA256Digest {
    /// The SHA-256 of a file's bytes, read mapped and streamed (its pages released as they are hashed).
    public static func digest(file url: URL) throws(FileAccessError) -> [UInt8] {
        let mapped = try MappedFile(url: url)
        var digest = SHA256Digest()
        var offset = 0
        let chunk = 16 << 20
        while offset < mapped.count {
            let n = min(chunk, mapped.count - offset)
            mapped.adviseSequential(offset: offset, length: n)
            digest.update(mapped.slice(offset: offset, length: n))
            mapped.dropPages(offset: offset, length: n)
            offset += n
        }
        return digest.finalize()
    }

    /// ``digest(file:)`` as lowercase hex.
    public static func hexDigest(file url: URL) throws(FileAccessError) -> String { hex(try digest(file: url)) }
}

extension AtomicOutputFile {
    /// Why nothing can be written at `url` (a file to create or a folder to fill): the nearest part of the
    /// path that exists must be a writable folder. Nil when it is; nothing is created.
    public static func unwritableReason(_ url: URL) -> String? {
        var folder = url.standardizedFileURL
        var isDir: ObjCBool = false
        while !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir) {
            folder = folder.deletingLastPathComponent()
        }
        guard isDir.boolValue else { return "\(folder.path) is not a folder" }
        guard access(folder.path, W_OK) == 0 else { return "\(folder.path) is not writable" }
        return nil
    }
}
