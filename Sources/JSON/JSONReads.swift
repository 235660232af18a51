import Foundation
import Synchronization

/// Small JSON files that several stages of one command read (a checkpoint's `config.json` is read by the
/// architecture rules, the tokenizer export and the metadata): parsed once per process while the file is
/// unchanged (same size and modification time), and counted, so tests can check that a command parses each
/// file once.
public enum JSONReads {
    private struct Entry {
        var size: Int
        var modified: Date
        var result: Result<JSONValue, JSONParser.Failure>
    }

    private static let cache = Mutex<[String: Entry]>([:])
    private static let counts = Mutex<[String: Int]>([:])

    /// The parsed contents of `url`, or nil when it is not a readable regular file. A file already parsed
    /// and unchanged since is not read again.
    ///
    /// - Throws: the parser's failure (where and why) for a file that is not valid JSON.
    public static func read(_ url: URL) throws(JSONParser.Failure) -> JSONValue? {
        let path = url.standardizedFileURL.path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = (attributes[.size] as? NSNumber)?.intValue,
            let modified = attributes[.modificationDate] as? Date
        else { return nil }
        if let entry = cache.withLock({ $0[path] }), entry.size == size, entry.modified == modified {
            return try entry.result.get()
        }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        record(url)
        let result = Result { () throws(JSONParser.Failure) -> JSONValue in try JSONParser.parse(data) }
        cache.withLock { $0[path] = Entry(size: size, modified: modified, result: result) }
        return try result.get()
    }

    /// Records one read of `url` by a reader that does not go through ``read(_:)``.
    public static func record(_ url: URL) {
        let path = url.standardizedFileURL.path
        counts.withLock { $0[path, default: 0] += 1 }
    }

    /// Reads of `url` recorded so far.
    public static func count(_ url: URL) -> Int {
        let path = url.standardizedFileURL.path
        return counts.withLock { $0[path] ?? 0 }
    }
}
