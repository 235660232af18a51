import Foundation

/// A checkpoint's `config.json`, with `text_config` merged into the root as the converter does.
///
/// Values stay as JSON decoded them; accessors convert the way the converter's Python would (an integer
/// given where a float is expected is widened, a float where an integer is expected is an error).
public struct HFConfig: @unchecked Sendable {
    public let url: URL
    public let values: [String: Any]

    public init(url: URL) throws(ArchitectureError) {
        self.url = url
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .missingConfig(path: url.path)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalidConfig(path: url.path, key: "(file)", reason: "not a JSON object")
        }
        var merged = object
        if let text = object["text_config"] as? [String: Any] {
            for (k, v) in text { merged[k] = v }
        }
        values = merged
    }

    public init(url: URL, values: [String: Any]) {
        self.url = url
        self.values = values
    }

    /// True when `key` is present and not JSON null.
    public func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    /// The first key of `keys` that is present (the converter's `find_hparam`).
    public func firstKey(_ keys: [String]) -> String? { keys.first(where: has) }

    public func integer(_ key: String) throws(ArchitectureError) -> Int? {
        guard has(key) else { return nil }
        guard let v = values[key], !isJSONBoolean(v), let n = (v as? Int) ?? (v as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }) else {
            throw .invalidConfig(path: url.path, key: key, reason: "expected an integer, found \(String(describing: values[key]!))")
        }
        return n
    }

    public func number(_ key: String) throws(ArchitectureError) -> Double? {
        guard has(key) else { return nil }
        guard let v = values[key], !isJSONBoolean(v), let n = (v as? NSNumber)?.doubleValue else {
            throw .invalidConfig(path: url.path, key: key, reason: "expected a number, found \(String(describing: values[key]!))")
        }
        return n
    }

    public func string(_ key: String) -> String? { values[key] as? String }
    public func bool(_ key: String) -> Bool? { values[key].flatMap { isJSONBoolean($0) ? ($0 as? Bool) : nil } }
    public func object(_ key: String) -> [String: Any]? { values[key] as? [String: Any] }

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

/// True for JSON `true`/`false`. On Linux `NSNumber(0) is Bool` holds, so the check looks at the number's
/// Objective-C type code ("c" for booleans) instead.
func isJSONBoolean(_ v: Any) -> Bool {
    if let n = v as? NSNumber { return String(cString: n.objCType) == "c" }
    return v is Bool
}
