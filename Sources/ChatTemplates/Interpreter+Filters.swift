import Foundation
import JSON

/// jinja2's built-in filters (plus transformers' `tojson`). Every built-in name is known to the parser so that
/// templates load exactly when jinja2 loads them; the few Kiln does not implement fail when run.
enum Filter: String {
    case abs, attr, batch, capitalize, center, count, d, `default`, dictsort, e, escape, filesizeformat, first
    case float, forceescape, format, groupby, indent, int, items, join, last, length, list, lower, map, max, min
    case pprint, random, reject, rejectattr, replace, reverse, round, safe, select, selectattr, slice, sort, string
    case striptags, sum, title, tojson, trim, truncate, unique, upper, urlencode, urlize, wordcount, wordwrap, xmlattr
}

extension Interpreter {
    func applyFilter(_ call: FilterCall, to value: Value) throws(RenderFailure) -> Value {
        try applyNamed(call.filter, .unknownFilter, "filter", call.name, call.arguments, at: call.position) {
            (filter, arguments) throws(RenderFailure) in try applyFilter(filter, to: value, arguments)
        }
    }

    /// A filter or test call: an unknown name fails here (inside an `if` branch jinja2 only fails when the
    /// branch runs), then the arguments are evaluated and a failure without a position gets the call's.
    func applyNamed<Name, Result>(
        _ resolved: Name?, _ kind: ChatTemplateError.Kind, _ noun: String, _ name: String, _ argumentList: [Argument],
        at position: SourcePosition, _ body: (Name, Arguments) throws(RenderFailure) -> Result
    ) throws(RenderFailure) -> Result {
        guard let resolved else { throw RenderFailure(kind, "No \(noun) named '\(name)' found.", at: position) }
        let arguments = try evaluateArguments(argumentList)
        do {
            return try body(resolved, arguments)
        } catch {
            throw error.at(position)
        }
    }

    func applyFilter(_ filter: Filter, to value: Value, _ arguments: Arguments) throws(RenderFailure) -> Value {
        func argument(_ i: Int, _ name: String) -> Value? { arguments.value(i, name) }
        func flag(_ i: Int, _ name: String) -> Bool { argument(i, name)?.isTruthy ?? false }
        switch filter {
        case .length, .count:
            return .int(try value.pythonLength())
        case .default, .d:
            let fallback = argument(0, "default_value") ?? .emptyString
            if value.isUndefined || (flag(1, "boolean") && !value.isTruthy) { return fallback }
            return value
        case .string:
            if case .markup = value { return value }
            return .string(try value.pythonString())
        case .trim:
            let chars = argument(0, "chars").flatMap { v -> String? in if case .none = v { nil } else { v.stringValue }
            }
            return sameKind(
                value, PythonText.strip(try value.pythonString(), chars: chars, leading: true, trailing: true))
        case .upper: return sameKind(value, PythonText.upper(try value.pythonString()))
        case .lower: return sameKind(value, PythonText.lower(try value.pythonString()))
        case .title: return sameKind(value, PythonText.titleFilter(try value.pythonString()))
        case .capitalize: return sameKind(value, PythonText.capitalize(try value.pythonString()))
        case .safe:
            if case .markup = value { return value }
            return .markup(try value.pythonString())
        case .escape, .e, .forceescape:
            if case .markup = value, filter != .forceescape { return value }
            return .markup(PythonText.htmlEscape(try value.pythonString()))
        case .join:
            let separator = try (argument(0, "d") ?? .emptyString).pythonString()
            var items = try iterate(value)
            if let attribute = argument(1, "attribute") {
                items = try items.map { v throws(RenderFailure) in try lookupPath(v, attribute) }
            }
            var text = ""
            for (i, item) in items.enumerated() {
                if i > 0 { text += separator }
                text += try item.pythonString()
                try checkStringSize(text.utf8.count, at: nil)
            }
            return .string(text)
        case .list:
            return .list(ListBox(try iterate(value)))
        case .items:
            if value.isUndefined { return .list(ListBox([], kind: .generator)) }
            guard case .dict(let dict) = value else {
                throw RenderFailure(.type, "Can only get item pairs from a mapping.")
            }
            return .list(ListBox(dictPairs(dict), kind: .generator))
        case .first:
            if case .list(let box) = value, box.kind != .generator {
                return box.items.first ?? .undefined(UndefinedReason(.message("No first item, sequence was empty.")))
            }
            return try iterate(value).first
                ?? .undefined(UndefinedReason(.message("No first item, sequence was empty.")))
        case .last:
            if case .list(let box) = value, box.kind == .generator {
                throw RenderFailure(.type, "'generator' object is not reversible")
            }
            return try iterate(value).last ?? .undefined(UndefinedReason(.message("No last item, sequence was empty.")))
        case .tojson:
            return .string(try toJSON(value, arguments))
        case .replace:
            guard let old = argument(0, "old"), let new = argument(1, "new") else {
                throw RenderFailure(.type, "do_replace() missing required arguments")
            }
            let count =
                argument(2, "count").flatMap { v -> Int? in if case .none = v { nil } else { v.integerIndex } } ?? -1
            let result = PythonText.replace(
                try value.pythonString(), try old.pythonString(), try new.pythonString(), count: count)
            try checkStringSize(result.utf8.count, at: nil)
            return sameKind(value, result)
        case .indent:
            return try indent(value, arguments)
        case .int:
            return intFilter(
                value, default: argument(0, "default") ?? .int(0), base: argument(1, "base")?.integerIndex ?? 10)
        case .float:
            return floatFilter(value, default: argument(0, "default") ?? .double(0))
        case .abs:
            switch value {
            case .int(let i): return i == Int.min ? .double(Swift.abs(Double(i))) : .int(Swift.abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(Swift.abs(d))
            default: throw RenderFailure(.type, "bad operand type for abs(): '\(value.typeName)'")
            }
        case .round:
            return try roundFilter(
                value, precision: argument(0, "precision")?.integerIndex ?? 0,
                method: (argument(1, "method")?.stringValue) ?? "common")
        case .center:
            let width = argument(0, "width")?.integerIndex ?? 80
            try checkStringSize(width, at: nil)
            return .string(PythonText.center(try value.pythonString(), width: width, fill: " "))
        case .wordcount:
            return .int(PythonText.wordCount(try value.pythonString()))
        case .reverse:
            switch value {
            case .string(let s): return .string(PythonText.string(s.unicodeScalars.reversed()))
            case .markup(let s): return .markup(PythonText.string(s.unicodeScalars.reversed()))
            default: return .list(ListBox(try iterate(value).reversed(), kind: .generator))
            }
        case .attr:
            guard let name = argument(0, "name")?.stringValue else { throw RenderFailure(.type, "attr() needs a name") }
            // Only the Python attribute: unlike `a.b`, `attr` never falls back to the dict key.
            if case .dict = value, !Interpreter.isDictMethod(name) {
                return .undefined(UndefinedReason(.missingAttribute(owner: "dict object", name: name)))
            }
            return try attribute(of: value, name, at: statementPosition)
        case .select, .reject:
            return try selectFilter(value, arguments, reject: filter == .reject, byAttribute: false)
        case .selectattr, .rejectattr:
            return try selectFilter(value, arguments, reject: filter == .rejectattr, byAttribute: true)
        case .map:
            return try mapFilter(value, arguments)
        case .dictsort:
            guard case .dict(let dict) = value else {
                throw RenderFailure(.type, "You can only sort by either \"key\" or \"value\"")
            }
            let caseSensitive = flag(0, "case_sensitive")
            let by = argument(1, "by")?.stringValue ?? "key"
            guard by == "key" || by == "value" else {
                throw RenderFailure(.type, "You can only sort by either \"key\" or \"value\"")
            }
            let pairs = dictPairs(dict)
            let sorted = try sortValues(pairs, reverse: flag(2, "reverse")) { pair throws(RenderFailure) in
                guard case .list(let box) = pair else { return pair }
                let key = box.items[by == "key" ? 0 : 1]
                return caseSensitive ? key : foldCase(key)
            }
            return .list(ListBox(sorted))
        case .sort:
            let caseSensitive = flag(1, "case_sensitive")
            let attribute = argument(2, "attribute")
            let sorted = try sortValues(try iterate(value), reverse: flag(0, "reverse")) { v throws(RenderFailure) in
                let key = attribute != nil ? try lookupPath(v, attribute!) : v
                return caseSensitive ? key : foldCase(key)
            }
            return .list(ListBox(sorted))
        case .unique:
            let caseSensitive = flag(0, "case_sensitive")
            let attribute = argument(1, "attribute")
            var seen: [Value] = []
            var result: [Value] = []
            for item in try iterate(value) {
                var key = attribute != nil ? try lookupPath(item, attribute!) : item
                if !caseSensitive { key = foldCase(key) }
                if !seen.contains(where: { pythonEquals($0, key) }) {
                    seen.append(key)
                    result.append(item)
                }
            }
            return .list(ListBox(result, kind: .generator))
        case .min, .max:
            let caseSensitive = flag(0, "case_sensitive")
            let attribute = argument(1, "attribute")
            let items = try iterate(value)
            guard var best = items.first else {
                return .undefined(UndefinedReason(.message("No aggregated item, sequence was empty.")))
            }
            func key(_ v: Value) throws(RenderFailure) -> Value {
                let k = attribute != nil ? try lookupPath(v, attribute!) : v
                return caseSensitive ? k : foldCase(k)
            }
            var bestKey = try key(best)
            for item in items.dropFirst() {
                let k = try key(item)
                if filter == .min ? try pythonLess(k, bestKey) : try pythonLess(bestKey, k) {
                    best = item
                    bestKey = k
                }
            }
            return best
        case .sum:
            let attribute = argument(0, "attribute")
            var total = argument(1, "start") ?? .int(0)
            for item in try iterate(value) {
                let v = attribute != nil ? try lookupPath(item, attribute!) : item
                total = try binary(.add, total, v, at: statementPosition)
            }
            return total
        case .batch:
            guard let size = argument(0, "linecount")?.integerIndex, size > 0 else {
                throw RenderFailure(.type, "batch() needs a positive line count")
            }
            let fill = argument(1, "fill_with")
            var batches: [Value] = []
            var currentBatch: [Value] = []
            for item in try iterate(value) {
                currentBatch.append(item)
                if currentBatch.count == size {
                    batches.append(.list(ListBox(currentBatch)))
                    currentBatch = []
                }
            }
            if !currentBatch.isEmpty {
                if let fill, case .none = fill {
                } else if let fill {
                    while currentBatch.count < size { currentBatch.append(fill) }
                }
                batches.append(.list(ListBox(currentBatch)))
            }
            return .list(ListBox(batches, kind: .generator))
        case .format:
            let format = try value.pythonString()
            let values: Value =
                arguments.keywords.isEmpty
                ? .list(ListBox(arguments.positional, kind: .tuple))
                : .dict(
                    { () -> DictBox in
                        var d = DictBuilder()
                        for k in arguments.keywords { try? d.set(.string(k.name), k.value) }
                        return DictBox(d)
                    }())
            return .string(try percentFormat(format, values, at: statementPosition))
        case .groupby:
            guard let attribute = argument(0, "attribute") else {
                throw RenderFailure(.type, "groupby() needs an attribute")
            }
            let items = try iterate(value)
            let sorted = try sortValues(items, reverse: false) { v throws(RenderFailure) in try lookupPath(v, attribute)
            }
            var groups: [Value] = []
            var groupKey: Value?
            var members: [Value] = []
            for item in sorted {
                let k = try lookupPath(item, attribute)
                if let g = groupKey, pythonEquals(g, k) {
                    members.append(item)
                } else {
                    if let g = groupKey { groups.append(.list(ListBox([g, .list(ListBox(members))], kind: .tuple))) }
                    groupKey = k
                    members = [item]
                }
            }
            if let g = groupKey { groups.append(.list(ListBox([g, .list(ListBox(members))], kind: .tuple))) }
            return .list(ListBox(groups))
        case .filesizeformat, .pprint, .random, .slice, .striptags, .truncate, .urlencode, .urlize, .wordwrap, .xmlattr:
            throw RenderFailure(.type, "the '\(filter.rawValue)' filter is not supported by Kiln's template engine")
        }
    }

    /// A string result that stays markup when its input was markup (jinja2's `soft_str` filters).
    private func sameKind(_ input: Value, _ text: String) -> Value {
        if case .markup = input { return .markup(text) }
        return .string(text)
    }

    /// Items of an iterable for filters (`list(value)` in Python).
    func iterate(_ value: Value) throws(RenderFailure) -> [Value] {
        if case .list(let box) = value { return box.items }
        return try value.iterated()
    }

    func dictPairs(_ dict: DictBox) -> [Value] {
        (0..<dict.count).map { .list(ListBox([dict.keys[$0], dict.values[$0]], kind: .tuple)) }
    }

    /// Case folding for the case-insensitive comparisons of `sort`, `dictsort`, `unique`, `min`, `max`.
    private func foldCase(_ value: Value) -> Value {
        if let s = value.stringValue { return .string(PythonText.lower(s)) }
        return value
    }

    /// A stable sort by a derived key (Python's `sorted(key=...)`).
    func sortValues(
        _ items: [Value], reverse: Bool, key: (Value) throws(RenderFailure) -> Value
    ) throws(RenderFailure) -> [Value] {
        var keyed: [(key: Value, value: Value, index: Int)] = []
        for (i, item) in items.enumerated() { keyed.append((try key(item), item, i)) }
        var failure: RenderFailure?
        keyed.sort { a, b in
            do {
                if try pythonLess(a.key, b.key) { return !reverse }
                if try pythonLess(b.key, a.key) { return reverse }
            } catch {
                failure = failure ?? (error as? RenderFailure)
            }
            return a.index < b.index
        }
        if let failure { throw failure }
        return keyed.map(\.value)
    }

    /// jinja2's `make_attrgetter`: a dotted path, each part an item lookup (integers for digit parts).
    func lookupPath(_ value: Value, _ path: Value) throws(RenderFailure) -> Value {
        guard let text = path.stringValue else {
            return try item(of: value, path, at: statementPosition)
        }
        var current = value
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            let key: Value = Int(part).map { .int($0) } ?? .string(String(part))
            current = try item(of: current, key, at: statementPosition)
        }
        return current
    }

    private func selectFilter(
        _ value: Value, _ arguments: Arguments, reject: Bool, byAttribute: Bool
    ) throws(RenderFailure) -> Value {
        // jinja2 checks `if value:` before anything else, so `none|selectattr(...)` is simply empty.
        guard value.isTruthy else { return .list(ListBox([], kind: .generator)) }
        var positional = arguments.positional
        var attribute: Value?
        if byAttribute {
            guard !positional.isEmpty else { throw RenderFailure(.type, "Missing parameter for attribute name") }
            attribute = positional.removeFirst()
        }
        var testName: String?
        if !positional.isEmpty { testName = try positional.removeFirst().pythonString() }
        let test: TestName?
        if let testName {
            guard let t = TestName(rawValue: testName) else {
                throw RenderFailure(.unknownTest, "No test named '\(testName)'.")
            }
            test = t
        } else {
            test = nil
        }
        let testArguments = Arguments(positional: positional, keywords: arguments.keywords)
        var result: [Value] = []
        for item in try iterate(value) {
            let subject = attribute != nil ? try lookupPath(item, attribute!) : item
            let passed =
                try test.map { t throws(RenderFailure) in try applyTest(t, to: subject, testArguments) }
                ?? subject.isTruthy
            if passed != reject { result.append(item) }
        }
        return .list(ListBox(result, kind: .generator))
    }

    private func mapFilter(_ value: Value, _ arguments: Arguments) throws(RenderFailure) -> Value {
        guard value.isTruthy else { return .list(ListBox([], kind: .generator)) }
        let items = try iterate(value)
        if arguments.positional.isEmpty, let attribute = arguments.value(-1, "attribute") {
            let fallback = arguments.value(-1, "default")
            var result: [Value] = []
            for item in items {
                let v = try lookupPath(item, attribute)
                if v.isUndefined, let fallback { result.append(fallback) } else { result.append(v) }
            }
            return .list(ListBox(result, kind: .generator))
        }
        guard let nameValue = arguments.positional.first else {
            throw RenderFailure(.type, "map requires a filter argument")
        }
        let name = try nameValue.pythonString()
        guard let filter = Filter(rawValue: name) else {
            throw RenderFailure(.unknownFilter, "No filter named '\(name)'.")
        }
        let rest = Arguments(positional: Array(arguments.positional.dropFirst()), keywords: arguments.keywords)
        var result: [Value] = []
        for item in items { result.append(try applyFilter(filter, to: item, rest)) }
        return .list(ListBox(result, kind: .generator))
    }

    private func indent(_ value: Value, _ arguments: Arguments) throws(RenderFailure) -> Value {
        let widthValue = arguments.value(0, "width") ?? .int(4)
        let indention: String
        if let s = widthValue.stringValue {
            indention = s
        } else {
            let n = widthValue.integerIndex ?? 4
            try checkStringSize(n, at: nil)
            indention = String(repeating: " ", count: max(0, n))
        }
        let first = arguments.value(1, "first")?.isTruthy ?? false
        let blank = arguments.value(2, "blank")?.isTruthy ?? false
        let text = try value.pythonString() + "\n"
        let lines = PythonText.splitLines(text, keepEnds: false)
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indention)
        } else {
            result = lines.first ?? ""
            if lines.count > 1 {
                result += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n")
            }
        }
        if first { result = indention + result }
        try checkStringSize(result.utf8.count, at: nil)
        return sameKind(value, result)
    }

    private func intFilter(_ value: Value, default fallback: Value, base: Int) -> Value {
        switch value {
        case .int: return value
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d):
            guard d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) else { return fallback }
            return .int(i)
        case .string(let s), .markup(let s):
            let trimmed = PythonText.strip(s, chars: nil, leading: true, trailing: true).replacingOccurrences(
                of: "_", with: "")
            var digits = Substring(trimmed)
            var negative = false
            if digits.first == "+" || digits.first == "-" {
                negative = digits.first == "-"; digits = digits.dropFirst()
            }
            var radix = base
            let lowered = digits.lowercased()
            if base == 16 && lowered.hasPrefix("0x") || base == 8 && lowered.hasPrefix("0o")
                || base == 2 && lowered.hasPrefix("0b")
            {
                digits = digits.dropFirst(2)
            } else if base == 0 {
                radix = 10
            }
            if !digits.isEmpty, let i = Int(digits, radix: radix) { return .int(negative ? -i : i) }
            if let d = Double(trimmed), d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) { return .int(i) }
            return fallback
        default:
            return fallback
        }
    }

    private func floatFilter(_ value: Value, default fallback: Value) -> Value {
        switch value {
        case .int(let i): return .double(Double(i))
        case .bool(let b): return .double(b ? 1 : 0)
        case .double: return value
        case .string(let s), .markup(let s):
            let trimmed = PythonText.strip(s, chars: nil, leading: true, trailing: true)
            switch trimmed.lowercased() {
            case "inf", "+inf", "infinity", "+infinity": return .double(.infinity)
            case "-inf", "-infinity": return .double(-.infinity)
            case "nan", "+nan", "-nan": return .double(.nan)
            default: break
            }
            guard trimmed.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "x") && $0 != UInt8(ascii: "X") }),
                let d = Double(trimmed.replacingOccurrences(of: "_", with: ""))
            else { return fallback }
            return .double(d)
        default:
            return fallback
        }
    }

    private func roundFilter(_ value: Value, precision: Int, method: String) throws(RenderFailure) -> Value {
        guard let number = value.numericValue else {
            throw RenderFailure(.type, "type \(value.typeName) doesn't define __round__ method")
        }
        let x = number.asDouble
        let scale = pow(10.0, Double(precision))
        switch method {
        case "common":
            // Python's round() is round-half-even on the exact binary value; formatting through the shortest
            // decimal repr and rounding that is how CPython does it too.
            let scaled = x * scale
            var rounded = scaled.rounded(.toNearestOrEven)
            if Swift.abs(scaled - scaled.rounded(.towardZero)) != 0.5 { rounded = scaled.rounded() }
            return .double(rounded / scale)
        case "ceil": return .double((x * scale).rounded(.up) / scale)
        case "floor": return .double((x * scale).rounded(.down) / scale)
        default: throw RenderFailure(.type, "method must be common, ceil or floor")
        }
    }
}
