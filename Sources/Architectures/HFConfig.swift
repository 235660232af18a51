import Foundation
import JSON

/// A checkpoint's `config.json`, with `text_config` merged into the root as the converter does.
///
/// Values stay as the JSON has them (``JSONValue`` keeps integers apart from floats, as Python's `json.load`
/// does); accessors convert the way the converter's Python would (an integer given where a float is expected
/// is widened, a float where an integer is expected must be integral).
public struct HFConfig: Sendable {
    public let url: URL
    /// The root object's members, `text_config`'s merged in.
    public let json: JSONValue
    /// The file as parsed, before merging (what the metadata and the tokenizer read).
    public let document: JSONValue

    /// Reads and parses `url` (once per process while the file is unchanged: ``JSONReads``).
    public init(url: URL) throws(ArchitectureError) {
        let document: JSONValue?
        do {
            document = try JSONReads.read(url)
        } catch {
            throw .invalidConfig(
                path: url.path, key: "(file)", reason: "not valid JSON (\(error.reason) at byte \(error.offset))")
        }
        guard let document else { throw .missingConfig(path: url.path) }
        try self.init(url: url, document: document)
    }

    /// A configuration from an already parsed `config.json` (so a command reads the file once).
    public init(url: URL, document: JSONValue) throws(ArchitectureError) {
        guard document.objectMembers != nil else {
            throw .invalidConfig(path: url.path, key: "(file)", reason: "not a JSON object")
        }
        var merged = document
        if let text = document["text_config"]?.objectMembers {
            for (k, v) in text { merged = merged.setting(k, to: v) }
        }
        self.url = url
        json = merged
        self.document = document
    }

    init(url: URL, merged: JSONValue, document: JSONValue) {
        self.url = url
        json = merged
        self.document = document
    }

    /// The value of `key` (nil when absent; `.null` when present as null).
    public subscript(key: String) -> JSONValue? { json[key] }

    /// True when `key` is present and not JSON null.
    public func has(_ key: String) -> Bool { json[key].map { $0 != .null } ?? false }

    /// The first key of `keys` that is present (the converter's `find_hparam`).
    public func firstKey(_ keys: [String]) -> String? { keys.first(where: has) }

    public func integer(_ key: String) throws(ArchitectureError) -> Int? {
        guard has(key), let v = json[key] else { return nil }
        switch v {
        case .int(let n): return n
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int(d)
        default:
            throw .invalidConfig(path: url.path, key: key, reason: "expected an integer, found \(v.pythonDescription)")
        }
    }

    public func number(_ key: String) throws(ArchitectureError) -> Double? {
        guard has(key), let v = json[key] else { return nil }
        switch v {
        case .int(let n): return Double(n)
        case .double(let d): return d
        default:
            throw .invalidConfig(path: url.path, key: key, reason: "expected a number, found \(v.pythonDescription)")
        }
    }

    public func string(_ key: String) -> String? { json[key]?.stringValue }
    public func bool(_ key: String) -> Bool? { json[key]?.boolValue }

    /// The first present key's integer value (optional `find_hparam`).
    public func findInteger(_ keys: [String]) throws(ArchitectureError) -> Int? {
        guard let k = firstKey(keys) else { return nil }
        return try integer(k)
    }

    /// The first present key's integer value, or an error naming the keys looked for.
    public func requireInteger(_ keys: [String]) throws(ArchitectureError) -> Int {
        guard let v = try findInteger(keys) else { throw .missingConfigKey(path: url.path, keys: keys) }
        return v
    }

    public func findNumber(_ keys: [String]) throws(ArchitectureError) -> Double? {
        guard let k = firstKey(keys) else { return nil }
        return try number(k)
    }
}
