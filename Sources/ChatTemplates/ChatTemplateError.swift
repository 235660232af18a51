/// Why a chat template could not be parsed or rendered, and where.
///
/// One type for the whole module: every failure names the template (`origin`), the position when known, and a
/// message worded like jinja2's or Python's, so a user comparing against `transformers` recognizes it.
public struct ChatTemplateError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The template text is not valid Jinja (also a missing `endif`, an unknown tag).
        case syntax
        /// A filter that does not exist (`from_json`), at parse time or when its `if` branch runs.
        case unknownFilter
        /// A test that does not exist (`is foo`).
        case unknownTest
        /// The template called `raise_exception(message)`.
        case raised
        /// A Python `TypeError`/`ValueError` equivalent: `'a' + 1`, iterating `none`, `tojson` of a namespace.
        case type
        /// Attribute or item access (or arithmetic) on an undefined value.
        case undefined
        /// What jinja2's sandbox refuses: mutating methods, names starting with `_`.
        case security
        /// A resource bound of `RenderLimits` was hit (recursion, loop iterations, output or string size).
        case limit
        /// The request itself is invalid (empty conversation, `continue_final_message` misuse).
        case input
    }

    public var kind: Kind
    public var message: String
    public var origin: String
    public var line: Int?
    public var column: Int?

    public init(kind: Kind, message: String, origin: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.origin = origin
        self.line = line
        self.column = column
    }

    /// `ORIGIN:LINE:COLUMN: message` (position parts omitted when unknown), on one line.
    public var description: String {
        var text = origin
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        let flat = message.replacingOccurrences(of: "\n", with: " ")
        return text + ": " + flat
    }
}

/// A position in the template source (1-based), kept in every node that can fail at run time.
struct SourcePosition: Sendable, Equatable {
    var line: Int32
    var column: Int32

    static let unknown = SourcePosition(line: 0, column: 0)
}

/// An error raised while evaluating, before the interpreter stamps it with the template's name.
struct RenderFailure: Error {
    var kind: ChatTemplateError.Kind
    var message: String
    var position: SourcePosition?

    init(_ kind: ChatTemplateError.Kind, _ message: String, at position: SourcePosition? = nil) {
        self.kind = kind
        self.message = message
        self.position = position
    }

    func stamped(origin: String, fallback: SourcePosition?) -> ChatTemplateError {
        let where_ = (position?.line ?? 0) > 0 ? position : fallback
        let line = where_.flatMap { $0.line > 0 ? Int($0.line) : nil }
        let column = where_.flatMap { $0.column > 0 ? Int($0.column) : nil }
        return ChatTemplateError(kind: kind, message: message, origin: origin, line: line, column: column)
    }
}
