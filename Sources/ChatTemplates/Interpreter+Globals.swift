import Foundation

/// The environment's global functions: jinja2's (`range`, `namespace`, `dict`, `cycler`, `joiner`, `lipsum`)
/// and the two transformers adds (`raise_exception`, `strftime_now`).
enum GlobalFunction: String {
    case range, namespace, dict, cycler, joiner, lipsum
    case raiseException = "raise_exception"
    case strftimeNow = "strftime_now"
}

extension Interpreter {
    /// jinja2's sandbox refuses ranges longer than this (`MAX_RANGE`).
    static let maxRange = 100_000

    func callGlobal(
        _ function: GlobalFunction, _ arguments: Arguments, at position: SourcePosition
    ) throws(RenderFailure) -> Value {
        switch function {
        case .range:
            var bounds: [Int] = []
            for v in arguments.positional {
                guard let n = v.integerIndex else {
                    throw RenderFailure(
                        .type, "'\(v.typeName)' object cannot be interpreted as an integer", at: position)
                }
                bounds.append(n)
            }
            let (start, stop, step): (Int, Int, Int)
            switch bounds.count {
            case 1: (start, stop, step) = (0, bounds[0], 1)
            case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
            case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
            default: throw RenderFailure(.type, "range expected at most 3 arguments, got \(bounds.count)", at: position)
            }
            guard step != 0 else { throw RenderFailure(.type, "range() arg 3 must not be zero", at: position) }
            let length: Int
            if step > 0 {
                length = start < stop ? Int((Double(stop) - Double(start) - 1) / Double(step)) + 1 : 0
            } else {
                length = start > stop ? Int((Double(start) - Double(stop) - 1) / Double(-step)) + 1 : 0
            }
            guard length <= Interpreter.maxRange else {
                throw RenderFailure(
                    .limit, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(Interpreter.maxRange)).",
                    at: position)
            }
            var items: [Value] = []
            items.reserveCapacity(length)
            var v = start
            for _ in 0..<length {
                items.append(.int(v))
                v &+= step
            }
            return .list(ListBox(items))
        case .namespace:
            let ns = NamespaceBox()
            for v in arguments.positional {
                guard case .dict(let d) = v else {
                    throw RenderFailure(.type, "namespace() positional argument must be a mapping", at: position)
                }
                for i in 0..<d.count {
                    guard let key = d.keys[i].stringValue else { continue }
                    try setNamespace(ns, key, d.values[i], at: position)
                }
            }
            for k in arguments.keywords { try setNamespace(ns, k.name, k.value, at: position) }
            return .namespace(ns)
        case .dict:
            var d = DictBuilder()
            for v in arguments.positional {
                if case .dict(let source) = v {
                    for i in 0..<source.count { try d.set(source.keys[i], source.values[i]) }
                } else {
                    for pair in try iterate(v) {
                        let parts = try iterate(pair)
                        guard parts.count == 2 else {
                            throw RenderFailure(
                                .type, "dictionary update sequence element has length \(parts.count); 2 is required",
                                at: position)
                        }
                        try d.set(parts[0], parts[1])
                    }
                }
            }
            for k in arguments.keywords { try d.set(.string(k.name), k.value) }
            return .dict(DictBox(d))
        case .raiseException:
            let message = try arguments.value(0, "message")?.pythonString() ?? ""
            throw RenderFailure(.raised, message, at: position)
        case .strftimeNow:
            guard let format = arguments.value(0, "format")?.stringValue else {
                throw RenderFailure(.type, "strftime() argument 1 must be str", at: position)
            }
            return .string(Strftime.format(format, date: options.now, timeZone: options.timeZone))
        case .cycler:
            return .object(Cycler(items: arguments.positional))
        case .joiner:
            return .object(Joiner(separator: try arguments.value(0, "sep")?.pythonString() ?? ", "))
        case .lipsum:
            throw RenderFailure(.type, "lipsum() is not supported by Kiln's template engine", at: position)
        }
    }

    private func setNamespace(
        _ ns: NamespaceBox, _ name: String, _ value: Value, at position: SourcePosition
    ) throws(RenderFailure) {
        guard !name.hasPrefix("_") else {
            throw RenderFailure(.security, "namespace attribute names may not start with '_': '\(name)'", at: position)
        }
        ns.set(name, value)
    }
}

/// jinja2's `cycler(...)`: `next()`, `current`, `reset()`.
final class Cycler: TemplateObject {
    let items: [Value]
    var position = 0

    init(items: [Value]) { self.items = items }

    var typeName: String { "Cycler" }

    func attribute(_ name: String) -> Value? {
        if name == "current" { return items.isEmpty ? .undefined(name: "current") : items[position] }
        if name == "items" { return .list(ListBox(items)) }
        return nil
    }

    func call(method: String, arguments: Arguments, interpreter: Interpreter) throws(RenderFailure) -> Value? {
        switch method {
        case "next":
            guard !items.isEmpty else { throw RenderFailure(.type, "cycler has no items") }
            let value = items[position]
            position = (position + 1) % items.count
            return value
        case "reset":
            position = 0
            return Value.none
        default: return nil
        }
    }
}

/// jinja2's `joiner(sep)`: returns "" the first time it is called and the separator afterwards.
final class Joiner: TemplateObject {
    let separator: String
    var used = false

    init(separator: String) { self.separator = separator }

    var typeName: String { "Joiner" }
    func attribute(_ name: String) -> Value? { nil }

    func call(method: String, arguments: Arguments, interpreter: Interpreter) throws(RenderFailure) -> Value? {
        guard method == "__call__" else { return nil }
        if used { return .string(separator) }
        used = true
        return .emptyString
    }
}

/// C-locale `strftime`, for `strftime_now`.
enum Strftime {
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December"
    ]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func format(_ format: String, date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second, .weekday, .nanosecond], from: date)
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0
        let weekday = (c.weekday ?? 1) - 1
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        func pad(_ n: Int, _ width: Int = 2) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = ""
        var chars = format.makeIterator()
        while let ch = chars.next() {
            guard ch == "%" else { out.append(ch); continue }
            guard let code = chars.next() else { out.append("%"); break }
            switch code {
            case "Y": out += String(year)
            case "y": out += pad(year % 100)
            case "m": out += pad(month)
            case "d": out += pad(day)
            case "e": out += (day < 10 ? " " : "") + String(day)
            case "H": out += pad(hour)
            case "I": out += pad(hour % 12 == 0 ? 12 : hour % 12)
            case "M": out += pad(minute)
            case "S": out += pad(second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "B": out += months[month - 1]
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "A": out += weekdays[weekday]
            case "a": out += String(weekdays[weekday].prefix(3))
            case "j": out += pad(dayOfYear, 3)
            case "w": out += String(weekday)
            case "u": out += String(weekday == 0 ? 7 : weekday)
            case "f": out += pad((c.nanosecond ?? 0) / 1000, 6)
            case "F": out += "\(year)-\(pad(month))-\(pad(day))"
            case "T": out += "\(pad(hour)):\(pad(minute)):\(pad(second))"
            case "D": out += "\(pad(month))/\(pad(day))/\(pad(year % 100))"
            case "Z": out += timeZone.abbreviation(for: date) ?? ""
            case "z":
                let offset = timeZone.secondsFromGMT(for: date)
                out += (offset < 0 ? "-" : "+") + pad(abs(offset) / 3600) + pad(abs(offset) % 3600 / 60)
            case "%": out += "%"
            default: out += "%" + String(code)
            }
        }
        return out
    }
}
