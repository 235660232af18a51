import Foundation

extension JSONValue {
    /// A number as Python's `float(x)` would take it: integers widened, floats as they are; nil for
    /// booleans and everything else (JSON `true` is not a number to the converters).
    public var numberValue: Double? {
        switch self {
        case .int(let n): Double(n)
        case .double(let d): d
        default: nil
        }
    }

    /// An integer, or a float with an integral value that fits; nil otherwise (booleans included).
    public var integerValue: Int? {
        switch self {
        case .int(let n): n
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: Int(d)
        default: nil
        }
    }

    /// This object with `key` set to `value`: replaced at its first position when present (a repeated key
    /// collapses to that one member, as a Python dict keeps it), appended otherwise. Not an object: unchanged.
    public func setting(_ key: String, to value: JSONValue) -> JSONValue {
        guard case .object(let members) = self else { return self }
        guard members.contains(where: { $0.key == key }) else { return .object(members + [(key, value)]) }
        var seen = false
        return .object(
            members.compactMap { member in
                guard member.key == key else { return member }
                defer { seen = true }
                return seen ? nil : (key, value)
            })
    }

    /// Python's `repr` of the value as `json.load` would give it, for error messages (`None`, `True`, `'a'`,
    /// `[1, 2]`).
    public var pythonDescription: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let n): return String(n)
        case .double(let d): return d.isNaN ? "nan" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : "\(d)"
        case .string(let s):
            return "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        case .array(let a): return "[" + a.map(\.pythonDescription).joined(separator: ", ") + "]"
        case .object(let m):
            return "{" + m.map { "'\($0.key)': \($0.value.pythonDescription)" }.joined(separator: ", ") + "}"
        }
    }
}
