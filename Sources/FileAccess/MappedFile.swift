import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. The mapping lives as long as this object.
///
/// Readers (safetensors, GGUF) validate every offset against ``count`` before touching bytes, so a lying
/// header becomes an error rather than a crash.
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    /// The file's size in bytes.
    public let count: Int
    private let base: UnsafeRawPointer?

    /// Maps `url` for reading.
    /// - Throws: ``FileAccessError`` when the file cannot be opened, sized or mapped.
    public init(url: URL) throws(FileAccessError) {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(path: url.path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .cannotOpen(path: url.path, reason: "not a regular file") }
        count = Int(info.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw .cannotOpen(path: url.path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole mapping. Valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// `length` bytes at `offset`; the caller has checked the range.
    public func slice(offset: Int, length: Int) -> UnsafeRawBufferPointer {
        precondition(offset >= 0 && length >= 0 && offset + length <= count, "unchecked range")
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }

    /// Tells the kernel the range will be read soon, sequentially.
    public func adviseSequential(offset: Int, length: Int) {
        guard let base, length > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), offset + length - start, MADV_SEQUENTIAL)
    }

    /// Releases the pages of a range already consumed, so a streamed file does not grow the resident set.
    public func dropPages(offset: Int, length: Int) {
        guard let base, length > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset + page - 1) / page * page
        let end = (offset + length) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }
}

/// Errors opening, mapping or writing files.
public enum FileAccessError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case outputExists(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open: \(reason)"
        case let .cannotCreate(path, reason): "\(path): cannot create: \(reason)"
        case let .writeFailed(path, reason): "\(path): write failed: \(reason)"
        case let .outputExists(path): "\(path): already exists (pass --force to overwrite)"
        }
    }
}
