/// An ordered set of GGUF key/value pairs.
///
/// Two writers define two update rules, and byte-compatibility depends on which one a stage imitates:
/// gguf-py keeps a re-added key in its first position (``set(_:_:)``), while the C API removes the key and
/// appends it at the end (``moveToEnd(_:_:)``), which is how llama-quantize moves `general.file_type`.
public struct GGUFMetadata: Equatable, Sendable, Sequence {
    public private(set) var entries: [(key: String, value: GGUFValue)] = []
    private var index: [String: Int] = [:]

    public init() {}

    public init(_ pairs: [(String, GGUFValue)]) {
        for (k, v) in pairs { set(k, v) }
    }

    public var count: Int { entries.count }
    public var keys: [String] { entries.map(\.key) }

    public subscript(key: String) -> GGUFValue? {
        index[key].map { entries[$0].value }
    }

    public func contains(_ key: String) -> Bool { index[key] != nil }

    /// Adds `key` at the end, or replaces its value in place (gguf-py's rule).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = index[key] {
            entries[i].value = value
        } else {
            index[key] = entries.count
            entries.append((key, value))
        }
    }

    /// Removes `key` if present and appends it at the end (the C API's `gguf_set_*` rule).
    public mutating func moveToEnd(_ key: String, _ value: GGUFValue) {
        remove(key)
        set(key, value)
    }

    /// Removes `key` if present.
    public mutating func remove(_ key: String) {
        guard let i = index.removeValue(forKey: key) else { return }
        entries.remove(at: i)
        for j in i..<entries.count { index[entries[j].key] = j }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: GGUFValue)]> {
        entries.makeIterator()
    }

    public static func == (lhs: GGUFMetadata, rhs: GGUFMetadata) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
