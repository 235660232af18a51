/// The text side of CPython's JSON encoder, shared by every walker that writes Python-compatible JSON
/// (`JSONValue.dumps`, the chat templates' `tojson`): scalars, separators, indentation and string escapes,
/// written as UTF-8. The walker decides what comes in which order; this decides how it is spelled.
public struct PythonJSONText {
    public enum Container {
        case array, object
        var opening: UInt8 { self == .array ? 0x5B : 0x7B }
        var closing: UInt8 { self == .array ? 0x5D : 0x7D }
    }

    public let ensureASCII: Bool
    public let indent: String?
    public let itemSeparator: String
    public let keySeparator: String
    public private(set) var bytes: [UInt8] = []

    /// `separators` as Python takes them; by default `(", ", ": ")`, or `(",", ": ")` when indenting.
    public init(ensureASCII: Bool, indent: String?, separators: (item: String, key: String)?) {
        self.ensureASCII = ensureASCII
        self.indent = indent
        itemSeparator = separators?.item ?? (indent == nil ? ", " : ",")
        keySeparator = separators?.key ?? ": "
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func null() { append("null") }
    public mutating func bool(_ b: Bool) { append(b ? "true" : "false") }
    public mutating func int(_ i: Int) { append(String(i)) }
    public mutating func double(_ d: Double) { append(PythonFormat.jsonFloat(d)) }
    public mutating func string(_ s: String) { PythonFormat.appendJSONString(s, ensureASCII: ensureASCII, to: &bytes) }

    /// `[]` or `{}`: Python writes an empty container on one line, whatever the indent.
    public mutating func empty(_ container: Container) {
        bytes.append(container.opening)
        bytes.append(container.closing)
    }

    public mutating func open(_ container: Container) { bytes.append(container.opening) }

    /// Before the `index`th member of a container opened at `level`.
    public mutating func member(_ index: Int, level: Int) {
        if index > 0 { append(itemSeparator) }
        newline(level + 1)
    }

    /// An object member's key and the key separator.
    public mutating func key(_ key: String) {
        string(key)
        append(keySeparator)
    }

    public mutating func close(_ container: Container, level: Int) {
        newline(level)
        bytes.append(container.closing)
    }

    private mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    private mutating func newline(_ level: Int) {
        guard let indent else { return }
        bytes.append(0x0A)
        for _ in 0..<level { append(indent) }
    }
}
