import FileAccess
import Foundation
import JSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A build problem, one line naming the file.
public struct BuildError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The bytes of a lowercase hex string (a content key).
func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = hex.startIndex
    while let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex), i < hex.endIndex {
        out.append(UInt8(hex[i..<j], radix: 16) ?? 0)
        i = j
    }
    return out
}

/// A content key: the SHA-256 of the lines that decide an output.
func contentKey(_ parts: [String]) -> String {
    SHA256Digest.hexDigest(parts.joined(separator: "\n"))
}

/// An exclusive lock on a build folder, held while the process lives (the kernel releases it on exit,
/// `kill -9` included).
final class FolderLock {
    private let fd: Int32

    init(folder: URL) throws {
        let path = folder.appendingPathComponent("lock").path
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw BuildError("\(path): cannot open the build lock: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw BuildError(
                "\(folder.deletingLastPathComponent().path): another kiln build is writing here (it holds \(path)); "
                    + "wait for it to finish or build into another folder")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
