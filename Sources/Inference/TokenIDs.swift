import Foundation

/// Token-id lists as printed by `llama-tokenize --ids` (`[1, 2, 3]`) or separated by commas/whitespace.
public enum TokenIDs {
    public static func parse(_ text: String) throws(InferenceError) -> [Int32] {
        var out: [Int32] = []
        for part in text.split(whereSeparator: { ",[] \n\t\r".contains($0) }) {
            guard let v = Int32(part) else { throw .invalidArgument("not a token id: '\(part)'") }
            out.append(v)
        }
        return out
    }

    public static func read(_ url: URL) throws(InferenceError) -> [Int32] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw .io(path: url.path, reason: "\(error)")
        }
        return try parse(text)
    }
}
