/// A string-keyed map that remembers insertion order, like a Python dict: assigning an existing key keeps
/// its original position.
struct InsertionOrderedMap<Value: Sendable>: Sendable {
    private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Python's `dict.setdefault`: stores `value` only when `key` is absent.
    mutating func setDefault(_ key: String, _ value: Value) {
        if storage[key] == nil { self[key] = value }
    }

    var items: [(key: String, value: Value)] { keys.map { ($0, storage[$0]!) } }
}

extension Array where Element == TokenizerMetadataEntry {
    /// Adds `value` under `key` the way gguf-py's `GGUFWriter.add_key_value` does: a key that is already
    /// present keeps its position and takes the new value. Architecture code uses this to apply late
    /// overrides such as Llama's `add_add_bos_token(False)` for 49152-token vocabularies.
    public mutating func set(_ key: String, _ value: TokenizerMetadataValue) {
        if let index = firstIndex(where: { $0.key == key }) {
            self[index] = TokenizerMetadataEntry(key: key, value: value)
        } else {
            append(TokenizerMetadataEntry(key: key, value: value))
        }
    }

    /// Appends `entries` with `set(_:_:)` semantics.
    public mutating func merge(_ entries: [TokenizerMetadataEntry]) {
        for entry in entries { set(entry.key, entry.value) }
    }

    /// The value stored under `key`, if any.
    public subscript(key key: String) -> TokenizerMetadataValue? {
        first { $0.key == key }?.value
    }
}
