import Foundation

// MARK: - Naming heuristics (gguf-py metadata.py / utility.py)

struct ModelIDComponents: Equatable {
    var fullName: String?
    var organization: String?
    var basename: String?
    var finetune: String?
    var version: String?
    var sizeLabel: String?
}

enum ModelNaming {
    /// `Metadata.id_to_title`.
    static func idToTitle(_ string: String) -> String {
        let words = PythonString.splitWhitespace(PythonString.strip(string).replacingOccurrences(of: "-", with: " "))
        return words.map { w in
            PythonString.isLower(w) && !looksLikeVersionOrNumber(w) ? PythonString.title(w) : w
        }.joined(separator: " ")
    }

    /// `re.match(r'^(v\d+(?:\.\d+)*|\d.*)$', w)` for a word without whitespace.
    private static func looksLikeVersionOrNumber(_ w: String) -> Bool {
        let u = Array(w.unicodeScalars)
        guard let first = u.first else { return false }
        if PythonString.isDecimal(first) { return true }
        guard first == "v" else { return false }
        return isDottedDigits(u[1...])
    }

    /// `\d+([.]\d+)*`
    private static func isDottedDigits(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        guard !u.isEmpty else { return false }
        return u.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0.allSatisfy(PythonString.isDecimal)
        }
    }

    /// fullmatch `(v|iter)?\d+([.]\d+)*`, IGNORECASE.
    static func isVersion(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        if isDottedDigits(u) { return true }
        if let f = u.first, PythonString.eqI(f, "v"), isDottedDigits(u.dropFirst()) { return true }
        if u.count > 4, PythonString.eqI(u.prefix(4), "iter"), isDottedDigits(u.dropFirst(4)) { return true }
        return false
    }

    /// fullmatch `i?q\d(_\w)*|b?fp?(16|32)`, IGNORECASE.
    static func isQuantType(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        var a = u
        if let f = a.first, PythonString.eqI(f, "i") {
            if matchesQ(a.dropFirst()) { return true }
        }
        if matchesQ(a) { return true }
        if let f = a.first, PythonString.eqI(f, "b") { a = a.dropFirst() }
        guard let f = a.first, PythonString.eqI(f, "f") else { return false }
        a = a.dropFirst()
        if let p = a.first, PythonString.eqI(p, "p") {
            let b = a.dropFirst()
            if Array(b) == ["1", "6"] || Array(b) == ["3", "2"] { return true }
        }
        return Array(a) == ["1", "6"] || Array(a) == ["3", "2"]
    }

    private static func matchesQ(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        let a = Array(u)
        guard a.count >= 2, PythonString.eqI(a[0], "q"), PythonString.isDecimal(a[1]) else { return false }
        let rest = a[2...]
        guard rest.count % 2 == 0 else { return false }
        var i = rest.startIndex
        while i < rest.endIndex {
            guard rest[i] == "_", PythonString.isWord(rest[i + 1]) else { return false }
            i += 2
        }
        return true
    }

    /// fullmatch `(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)`, IGNORECASE.
    static func isSizeLabel(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        for w in ["small", "mini", "medium", "large", "xl", "xxl"] where PythonString.eqI(u, w) { return true }
        // Optional prefix: 'A' or \d+x.
        var candidates: [ArraySlice<Unicode.Scalar>] = [u]
        if let f = u.first, PythonString.eqI(f, "a") { candidates.append(u.dropFirst()) }
        if let x = u.firstIndex(where: { PythonString.eqI($0, "x") }), x > u.startIndex,
            u[u.startIndex..<x].allSatisfy(PythonString.isDecimal)
        {
            candidates.append(u[(x + 1)...])
        }
        return candidates.contains(where: isSizeCore)
    }

    /// `\d+([._]\d+)?[KMBT][\d]?`
    private static func isSizeCore(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        func isUnit(_ c: Unicode.Scalar) -> Bool { ["k", "m", "b", "t"].contains { PythonString.eqI(c, $0) } }
        var core = u
        guard let last = core.last else { return false }
        if PythonString.isDecimal(last) {
            core = core.dropLast()
            guard let unit = core.last, isUnit(unit) else { return false }
            core = core.dropLast()
        } else if isUnit(last) {
            core = core.dropLast()
        } else {
            return false
        }
        let pieces = core.split(omittingEmptySubsequences: false) { $0 == "." || $0 == "_" }
        guard pieces.count <= 2 else { return false }
        return pieces.allSatisfy { !$0.isEmpty && $0.allSatisfy(PythonString.isDecimal) }
    }

    /// fullmatch `chat|instruct|vision|lora`, IGNORECASE.
    static func isFinetuneWord(_ u: ArraySlice<Unicode.Scalar>) -> Bool {
        ["chat", "instruct", "vision", "lora"].contains { PythonString.eqI(u, $0) }
    }

    private struct Tags: OptionSet {
        let rawValue: UInt8
        static let basename = Tags(rawValue: 1)
        static let sizeLabel = Tags(rawValue: 2)
        static let finetune = Tags(rawValue: 4)
        static let version = Tags(rawValue: 8)
        static let type = Tags(rawValue: 16)
    }

    /// `Metadata.get_model_id_components`.
    static func modelIDComponents(_ modelID: String?, totalParams: Int64) -> ModelIDComponents {
        guard let modelID else { return ModelIDComponents() }
        if modelID.unicodeScalars.contains(" ") { return ModelIDComponents(fullName: modelID) }

        var org: String?
        let fullName: String
        if let slash = modelID.firstIndex(of: "/") {
            org = String(modelID[..<slash])
            fullName = String(modelID[modelID.index(after: slash)...])
        } else {
            fullName = modelID
        }
        if let o = org, o.unicodeScalars.first == "." { org = nil }

        var parts: [[Unicode.Scalar]] = fullName.unicodeScalars.split(separator: "-", omittingEmptySubsequences: true)
            .map(Array.init)
        var types = [Tags](repeating: [], count: parts.count)

        for i in parts.indices {
            var part = parts[i]
            let slice = part[...]
            if isVersion(slice) {
                types[i].insert(.version)
            } else if isQuantType(slice) {
                types[i].insert(.type)
                parts[i] = Array(PythonString.string(part).uppercased().unicodeScalars)
            } else if i > 0, isSizeLabel(slice) {
                part = part.map { $0 == "_" ? "." : $0 }
                if let last = part.last, PythonString.isDecimal(last), part.count >= 2 {
                    // bloom-7b1 notation: "7b1" -> "7.1b"
                    part = Array(part.dropLast(2)) + ["."] + [last, part[part.count - 2]]
                }
                if part.count > 1, PythonString.isDecimal(part[part.count - 2]),
                    ["k", "m", "b", "t"].contains(part[part.count - 1])
                {
                    part[part.count - 1] = Unicode.Scalar(UInt8(part[part.count - 1].value) - 32)
                }
                if totalParams != 0, let unit = part.last,
                    let scale = ["K": 1.0e3, "M": 1.0e6, "B": 1.0e9, "T": 1.0e12][String(unit)],
                    let number = PythonString.decimalFloat(part.dropLast())
                {
                    let labelParams = number * scale
                    let contextLike: Bool
                    if totalParams < 0 {
                        let absTotal = totalParams.magnitude
                        contextLike = labelParams < Double(absTotal / 8)
                    } else {
                        let sevenEighths = (totalParams / 8) * 7 + ((totalParams % 8) * 7) / 8
                        contextLike = abs(labelParams - Double(totalParams)) > Double(sevenEighths)
                    }
                    if contextLike {
                        types[i].insert(.finetune)
                        part[part.count - 1] = Unicode.Scalar(PythonString.string([unit]).lowercased())!
                    }
                }
                if types[i].isEmpty { types[i].insert(.sizeLabel) }
                parts[i] = part
            } else if i > 0, isFinetuneWord(slice) {
                if totalParams < 0, PythonString.string(part).lowercased() == "lora" {
                    types[i].insert(.type)
                } else {
                    types[i].insert(.finetune)
                }
            }
        }

        // Word-based size labels are dropped when a number-based one exists.
        let hasNumericSize = zip(parts, types).contains {
            $1.contains(.sizeLabel) && $0.contains(where: PythonString.isDecimal)
        }
        if hasNumericSize {
            for i in parts.indices where types[i].contains(.sizeLabel) && parts[i].allSatisfy(PythonString.isAlpha) {
                types[i].remove(.sizeLabel)
            }
        }

        var atStart = true
        for i in parts.indices {
            if atStart && ((types[i].isEmpty && PythonString.isAlpha(parts[i][0])) || types[i].contains(.version)) {
                types[i].insert(.basename)
            } else {
                atStart = false
                if types[i].isEmpty { types[i].insert(.finetune) }
            }
        }
        for i in parts.indices.reversed() {
            if types[i].contains(.basename) && types[i] != .basename { types[i].remove(.basename) } else { break }
        }

        func joined(_ include: (Tags) -> Bool, dedup: Bool = false) -> String? {
            var seen = Set<String>()
            var items: [String] = []
            for (p, t) in zip(parts, types) where include(t) {
                let s = PythonString.string(p)
                if dedup { if seen.contains(s) { continue }; seen.insert(s) }
                items.append(s)
            }
            let j = items.joined(separator: "-")
            return j.isEmpty ? nil : j
        }
        var basename = joined { $0.contains(.basename) }
        let sizeLabel = joined({ $0.contains(.sizeLabel) }, dedup: true)
        let finetune = joined { $0.contains(.finetune) }
        let version = joined { $0.contains(.version) && !$0.contains(.basename) }
        if sizeLabel == nil && finetune == nil && version == nil { basename = nil }
        return ModelIDComponents(
            fullName: fullName, organization: org, basename: basename, finetune: finetune, version: version,
            sizeLabel: sizeLabel)
    }

    /// `utility.model_weight_count_rounded_notation(count, min_digits=2)`.
    static func roundedNotation(_ count: Int64) -> String {
        let x = Double(count)
        let scaled: Double
        let suffix: String
        if x > 1e12 {
            scaled = x * 1e-12; suffix = "T"
        } else if x > 1e9 {
            scaled = x * 1e-9; suffix = "B"
        } else if x > 1e6 {
            scaled = x * 1e-6; suffix = "M"
        } else {
            scaled = x * 1e-3; suffix = "K"
        }
        let rounded = scaled.rounded(.toNearestOrEven)
        var digits = String(format: "%.0f", rounded)
        while digits.hasPrefix("0") { digits.removeFirst() }
        let fix = max(2 - digits.count, 0)
        return String(format: "%.\(fix)f", scaled) + suffix
    }

    /// `utility.size_label`.
    static func sizeLabel(total: Int64, shared: Int64, expert: Int64, expertCount: Int64) -> String {
        if expertCount > 0 {
            return "\(expertCount)x" + roundedNotation(abs(shared) + abs(expert))
        }
        return roundedNotation(abs(total))
    }
}
