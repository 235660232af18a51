/// jinja2's built-in tests (`is defined`, `is string`...).
enum TestName: String {
    case boolean, callable, defined, divisibleby, eq, equalto, escaped, even, `false`, filter, float, ge, gt
    case greaterthan, `in`, integer, iterable, le, lessthan, lower, lt, mapping, ne, none, number, odd, sameas
    case sequence, string, test, `true`, undefined, upper
    case equalSign = "==", notEqualSign = "!=", lessSign = "<", lessEqualSign = "<=", greaterSign = ">"
    case greaterEqualSign = ">="
}

extension Interpreter {
    func applyTest(_ call: TestCall, to value: Value) throws(RenderFailure) -> Bool {
        try applyNamed(call.test, .unknownTest, "test", call.name, call.arguments, at: call.position) {
            (test, arguments) throws(RenderFailure) in try applyTest(test, to: value, arguments)
        }
    }

    func applyTest(_ test: TestName, to value: Value, _ arguments: Arguments) throws(RenderFailure) -> Bool {
        func other() throws(RenderFailure) -> Value {
            guard let v = arguments.positional.first ?? arguments.keywords.first?.value else {
                throw RenderFailure(.type, "test '\(test.rawValue)' needs an argument")
            }
            return v
        }
        switch test {
        case .defined: return !value.isUndefined
        case .undefined: return value.isUndefined
        case .none: if case .none = value { return true } else { return false }
        case .string: return value.stringValue != nil
        case .mapping: if case .dict = value { return true } else { return false }
        case .boolean: if case .bool = value { return true } else { return false }
        case .true: if case .bool(true) = value { return true } else { return false }
        case .false: if case .bool(false) = value { return true } else { return false }
        case .number: return value.numericValue != nil
        case .integer: if case .int = value { return true } else { return false }
        case .float: if case .double = value { return true } else { return false }
        case .iterable:
            switch value {
            case .undefined, .string, .markup, .list, .dict: return true
            default: return false
            }
        case .sequence:
            switch value {
            case .undefined, .string, .markup, .dict: return true
            case .list(let box): return box.kind == .list || box.kind == .tuple
            default: return false
            }
        case .callable:
            switch value {
            case .callable: return true
            case .undefined: return true
            default: return false
            }
        case .escaped: if case .markup = value { return true } else { return false }
        case .lower:
            let s = try value.pythonString()
            return PythonText.isLower(s)
        case .upper:
            let s = try value.pythonString()
            return PythonText.isUpper(s)
        case .even, .odd:
            guard let n = value.integerIndex else {
                throw RenderFailure(.type, "not all arguments converted during string formatting")
            }
            return (n & 1 == 0) == (test == .even)
        case .divisibleby:
            guard let n = value.integerIndex, let d = try other().integerIndex else {
                throw RenderFailure(.type, "divisibleby needs integers")
            }
            guard d != 0 else { throw RenderFailure(.type, "integer division or modulo by zero") }
            return n % d == 0
        case .eq, .equalto, .equalSign: return pythonEquals(value, try other())
        case .ne, .notEqualSign: return !pythonEquals(value, try other())
        case .lt, .lessthan, .lessSign: return try pythonLess(value, try other(), op: "<")
        case .le, .lessEqualSign: return try !pythonLess(try other(), value, op: "<=")
        case .gt, .greaterthan, .greaterSign: return try pythonLess(try other(), value, op: ">")
        case .ge, .greaterEqualSign: return try !pythonLess(value, try other(), op: ">=")
        case .in: return try contains(try other(), value)
        case .sameas:
            let o = try other()
            switch (value, o) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.list(let a), .list(let b)): return a === b
            case (.dict(let a), .dict(let b)): return a === b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.int(let a), .int(let b)): return a == b && a >= -5 && a <= 256
            default: return false
            }
        case .filter:
            return Filter(rawValue: try value.pythonString()) != nil
        case .test:
            return TestName(rawValue: try value.pythonString()) != nil
        }
    }
}

extension PythonText {
    /// `str.islower()`: at least one cased character and no uppercase or titlecase ones.
    static func isLower(_ s: String) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            if c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isLowercase { cased = true }
        }
        return cased
    }

    static func isUpper(_ s: String) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            if c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isUppercase { cased = true }
        }
        return cased
    }
}
