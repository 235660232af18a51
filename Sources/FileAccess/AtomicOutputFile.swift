import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written under a temporary name in the destination folder and renamed into place by ``commit()``.
///
/// If the writer is dropped without committing (an error, a cancelled run), the temporary file is removed,
/// so a reader never sees a half-written output.
public final class AtomicOutputFile {
    public let destination: URL
    public let temporaryURL: URL
    private var fd: Int32
    private var committed = false
    /// Bytes written so far.
    public private(set) var offset: Int = 0

    /// Creates the temporary file next to `destination`.
    /// - Parameter overwrite: when false, an existing `destination` is an error.
    public init(destination: URL, overwrite: Bool) throws(FileAccessError) {
        self.destination = destination
        if !overwrite, FileManager.default.fileExists(atPath: destination.path) {
            throw .outputExists(path: destination.path)
        }
        let folder = destination.deletingLastPathComponent()
        temporaryURL = folder.appendingPathComponent(".\(destination.lastPathComponent).\(getpid()).partial")
        fd = open(temporaryURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw .cannotCreate(path: destination.path, reason: String(cString: strerror(errno)))
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryURL.path) }
    }

    /// The reason a write failed: a full file system or a file-size limit is named as "no space" (with the
    /// system's words after it), so a user knows to free space or pick another folder.
    static func writeProblem(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT, EFBIG: return "no space left for the output (\(text))"
        default: return text
        }
    }

    /// Appends `bytes`, retrying short writes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileAccessError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: destination.path, reason: Self.writeProblem(errno))
            }
            p += n
            left -= n
            offset += n
        }
    }

    /// Overwrites bytes already written, at `position` (for a header whose fields are known only at the end).
    public func write(_ bytes: [UInt8], at position: Int) throws(FileAccessError) {
        precondition(position >= 0 && position + bytes.count <= offset, "only written bytes can be overwritten")
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(position + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: destination.path, reason: Self.writeProblem(errno))
            }
            done += n
        }
    }

    /// Appends the bytes of an array.
    public func write(_ bytes: [UInt8]) throws(FileAccessError) {
        var failure: FileAccessError?
        bytes.withUnsafeBytes { b in
            do throws(FileAccessError) { try write(b) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws(FileAccessError) {
        guard count > 0 else { return }
        let zeros = [UInt8](repeating: 0, count: count)
        try write(zeros)
    }

    /// Flushes, closes and renames the file into place.
    public func commit() throws(FileAccessError) {
        guard fsync(fd) == 0 || errno == EINVAL else {
            throw .writeFailed(path: destination.path, reason: Self.writeProblem(errno))
        }
        close(fd)
        fd = -1
        guard rename(temporaryURL.path, destination.path) == 0 else {
            throw .writeFailed(path: destination.path, reason: "rename: \(String(cString: strerror(errno)))")
        }
        committed = true
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

extension AtomicOutputFile {
    /// Writes `data` to a temporary file beside `url` and renames it into place.
    public static func write(_ data: Data, to url: URL) throws(FileAccessError) {
        let out = try AtomicOutputFile(destination: url, overwrite: true)
        try out.write([UInt8](data))
        try out.commit()
    }
}
