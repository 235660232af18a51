import Architectures
import Foundation
import Quantization
import Yams

/// One model's build: which checkpoint, which variants, how to prove them. Read from YAML (one model per
/// file); every key is checked before any work, and an unknown key is an error naming it.
public struct Recipe: Sendable, Equatable {
    /// The catalog alias, `[a-z0-9][a-z0-9._-]*`.
    public var name: String
    public var displayName: String?
    public var publisher: String?
    public var license: String?
    public var description: String?
    public var tasks: [String]
    /// A folder (relative to the recipe file) or `hf:OWNER/NAME[@REVISION]`.
    public var source: String
    /// Also publish the unquantized conversion (`f32`, `f16`, `bf16`).
    public var base: String?
    /// A calibration text (the matrix is computed with Kiln) or an importance-matrix file (`.gguf`, `.dat`).
    public var imatrix: String?
    public var imatrixCtx: Int
    public var imatrixChunks: Int?
    public var variants: [Variant]
    public var verify: Verify?

    /// A variant of the ladder: a file type and any `kiln quantize` option.
    public struct Variant: Sendable, Equatable {
        public var name: String
        public var type: LlamaFileType
        /// Use the recipe's importance matrix (default true).
        public var useImatrix = true
        public var includeWeights: [String] = []
        public var excludeWeights: [String] = []
        public var outputTensorType: GGMLType?
        public var tokenEmbeddingType: GGMLType?
        /// `REGEX=TYPE`, first match wins.
        public var tensorTypes: [String] = []
        public var pure = false
        public var leaveOutputTensor = false
        /// `KEY=TYPE:VALUE`.
        public var overrideKV: [String] = []

        public init(name: String, type: LlamaFileType) {
            self.name = name
            self.type = type
        }
    }

    public struct Verify: Sendable, Equatable {
        public var text: String
        public var ctx = 512
        public var chunks: Int?
        public var maxMeanKLD: Double?
        public var minSameTopP: Double?
        public var prompt: String?
        public var expect: String?
        /// Longest reply of the generation check.
        public var maxTokens = 64

        public init(text: String) { self.text = text }
    }
}

/// A recipe problem: the recipe file, the key, what is wrong. One line.
public struct RecipeError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let key: String?
    public let reason: String

    public init(file: String, key: String?, _ reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    public var description: String { key.map { "\(file): `\($0)`: \(reason)" } ?? "\(file): \(reason)" }
}

extension Recipe {
    /// Parses YAML text; `file` names the recipe in errors.
    public init(yaml: String, file: String) throws(RecipeError) {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch {
            throw RecipeError(file: file, key: nil, "not valid YAML: \(Self.yamlProblem(error))")
        }
        guard let node, let map = node.mapping else {
            throw RecipeError(file: file, key: nil, "expected a mapping of recipe keys at the top level")
        }
        let r = Reader(file: file)
        try r.allow(
            map, path: "",
            keys: [
                "name", "display_name", "publisher", "license", "description", "tasks", "source", "base", "imatrix",
                "imatrix_ctx", "imatrix_chunks", "variants", "verify"
            ])
        name = try r.string(map, "name", required: true)!
        guard Self.isValidAlias(name) else {
            throw RecipeError(
                file: file, key: "name",
                "'\(name)' is not a valid alias (lowercase letters, digits, '.', '_', '-'; "
                    + "starting with a letter or digit)")
        }
        displayName = try r.string(map, "display_name")
        publisher = try r.string(map, "publisher")
        license = try r.string(map, "license")
        description = try r.string(map, "description")
        tasks = try r.strings(map, "tasks") ?? []
        for (i, t) in tasks.enumerated() where !Self.isValidAlias(t) {
            throw RecipeError(file: file, key: "tasks[\(i)]", "'\(t)' is not a task name (lowercase, '-', '_', '.')")
        }
        source = try r.string(map, "source", required: true)!
        guard !source.isEmpty else { throw RecipeError(file: file, key: "source", "is empty") }
        base = try r.string(map, "base")?.lowercased()
        if let b = base, !["f32", "f16", "bf16"].contains(b) {
            throw RecipeError(file: file, key: "base", "'\(b)' is not f32, f16 or bf16")
        }
        imatrix = try r.string(map, "imatrix")
        imatrixCtx = try r.int(map, "imatrix_ctx") ?? 512
        imatrixChunks = try r.int(map, "imatrix_chunks")
        if imatrixCtx < 8 || imatrixCtx % 2 != 0 {
            throw RecipeError(file: file, key: "imatrix_ctx", "must be even and at least 8")
        }
        if let c = imatrixChunks, c < 1 { throw RecipeError(file: file, key: "imatrix_chunks", "must be at least 1") }

        guard let list = map["variants"] else {
            throw RecipeError(file: file, key: "variants", "missing (a list of file types or variant mappings)")
        }
        guard let items = list.sequence, !items.isEmpty else {
            throw RecipeError(file: file, key: "variants", "expected a non-empty list")
        }
        variants = try items.enumerated().map { i, item throws(RecipeError) in
            try r.variant(item, path: "variants[\(i)]")
        }
        var seen: Set<String> = []
        if let b = base { seen.insert(b.uppercased()) }
        for (i, v) in variants.enumerated() {
            guard seen.insert(v.name.uppercased()).inserted else {
                throw RecipeError(
                    file: file, key: "variants[\(i)].name",
                    "variant name '\(v.name)' is used twice"
                        + (v.name.uppercased() == base?.uppercased() ? " (the base is \(base!.uppercased()))" : ""))
            }
        }
        if let v = map["verify"] {
            verify = try r.verify(v)
        }
    }

    /// `[a-z0-9][a-z0-9._-]*`.
    public static func isValidAlias(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.unicodeScalars.count <= 128 else { return false }
        func ok(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        return ok(first) && s.unicodeScalars.allSatisfy { ok($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// A variant name: letters, digits, `.`, `_`, `-`, not only dots (it becomes part of a file name).
    public static func isValidVariantName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 64, s.contains(where: { $0 != "." }) else { return false }
        return s.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_"
                || $0 == "-"
        }
    }

    static func yamlProblem(_ error: Error) -> String {
        if let e = error as? YamlError {
            switch e {
            case let .scanner(context, problem, mark, _): return "line \(mark.line): \(context?.text ?? "") \(problem)"
            case let .parser(context, problem, mark, _): return "line \(mark.line): \(context?.text ?? "") \(problem)"
            case let .composer(context, problem, mark, _): return "line \(mark.line): \(context?.text ?? "") \(problem)"
            default: break
            }
        }
        return "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
    }
}

/// Typed access to YAML nodes with errors naming the recipe and the key path.
private struct Reader {
    let file: String

    func fail(_ key: String, _ reason: String) -> RecipeError { RecipeError(file: file, key: key, reason) }

    func allow(_ map: Node.Mapping, path: String, keys: Set<String>) throws(RecipeError) {
        for (k, _) in map {
            guard let name = k.string else { throw fail(path.isEmpty ? "?" : path, "keys must be strings") }
            if !keys.contains(name) {
                let full = path.isEmpty ? name : "\(path).\(name)"
                throw fail(full, "unknown key (expected one of: \(keys.sorted().joined(separator: ", ")))")
            }
        }
    }

    func scalar(_ node: Node, _ key: String, expected: String) throws(RecipeError) -> String {
        guard let s = node.scalar else { throw fail(key, "expected \(expected)") }
        return s.string
    }

    func string(
        _ map: Node.Mapping, _ key: String, path: String = "", required: Bool = false
    ) throws(RecipeError)
        -> String?
    {
        let full = path.isEmpty ? key : "\(path).\(key)"
        guard let n = map[key], !isNull(n) else {
            if required { throw fail(full, "missing (required)") }
            return nil
        }
        return try scalar(n, full, expected: "a string")
    }

    func int(_ map: Node.Mapping, _ key: String, path: String = "") throws(RecipeError) -> Int? {
        let full = path.isEmpty ? key : "\(path).\(key)"
        guard let n = map[key], !isNull(n) else { return nil }
        guard let v = Int(try scalar(n, full, expected: "an integer")) else { throw fail(full, "expected an integer") }
        return v
    }

    func double(_ map: Node.Mapping, _ key: String, path: String) throws(RecipeError) -> Double? {
        let full = "\(path).\(key)"
        guard let n = map[key], !isNull(n) else { return nil }
        guard let v = Double(try scalar(n, full, expected: "a number")), v.isFinite else {
            throw fail(full, "expected a number")
        }
        return v
    }

    func bool(_ map: Node.Mapping, _ key: String, path: String) throws(RecipeError) -> Bool? {
        let full = "\(path).\(key)"
        guard let n = map[key], !isNull(n) else { return nil }
        switch try scalar(n, full, expected: "true or false") {
        case "true", "True", "yes": return true
        case "false", "False", "no": return false
        default: throw fail(full, "expected true or false")
        }
    }

    func strings(_ map: Node.Mapping, _ key: String, path: String = "") throws(RecipeError) -> [String]? {
        let full = path.isEmpty ? key : "\(path).\(key)"
        guard let n = map[key], !isNull(n) else { return nil }
        guard let seq = n.sequence else { throw fail(full, "expected a list of strings") }
        return try seq.enumerated().map { i, item throws(RecipeError) in
            try scalar(item, "\(full)[\(i)]", expected: "a string")
        }
    }

    func isNull(_ n: Node) -> Bool {
        if let s = n.scalar, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return true }
        return false
    }

    func type(_ text: String, _ key: String) throws(RecipeError) -> LlamaFileType {
        guard let t = LlamaFileType(parsing: text) else {
            throw fail(
                key,
                "unknown file type '\(text)' (expected one of: \(LlamaFileType.acceptedNames.joined(separator: ", ")))")
        }
        return t
    }

    func tensorType(_ map: Node.Mapping, _ key: String, path: String) throws(RecipeError) -> GGMLType? {
        guard let s = try string(map, key, path: path) else { return nil }
        guard let t = GGMLType(name: s) else { throw fail("\(path).\(key)", "unknown tensor type '\(s)'") }
        return t
    }

    func variant(_ node: Node, path: String) throws(RecipeError) -> Recipe.Variant {
        if let s = node.scalar {
            let t = try type(s.string, path)
            return Recipe.Variant(name: t.description, type: t)
        }
        guard let map = node.mapping else { throw fail(path, "expected a file type or a mapping") }
        try allow(
            map, path: path,
            keys: [
                "name", "type", "imatrix", "include_weights", "exclude_weights", "output_tensor_type",
                "token_embedding_type", "tensor_types", "pure", "leave_output_tensor", "override_kv"
            ])
        let t = try type(try string(map, "type", path: path, required: true)!, "\(path).type")
        let name = try string(map, "name", path: path) ?? t.description
        guard Recipe.isValidVariantName(name) else {
            throw fail(
                "\(path).name",
                "'\(name)' is not a valid variant name (letters, digits, '.', '_', '-'; it becomes part of a file name)"
            )
        }
        var v = Recipe.Variant(name: name, type: t)
        v.useImatrix = try bool(map, "imatrix", path: path) ?? true
        v.includeWeights = try strings(map, "include_weights", path: path) ?? []
        v.excludeWeights = try strings(map, "exclude_weights", path: path) ?? []
        v.outputTensorType = try tensorType(map, "output_tensor_type", path: path)
        v.tokenEmbeddingType = try tensorType(map, "token_embedding_type", path: path)
        v.tensorTypes = try strings(map, "tensor_types", path: path) ?? []
        for (i, rule) in v.tensorTypes.enumerated() {
            guard let eq = rule.lastIndex(of: "="), (try? Regex(String(rule[..<eq]))) != nil,
                GGMLType(name: String(rule[rule.index(after: eq)...])) != nil
            else { throw fail("\(path).tensor_types[\(i)]", "'\(rule)' is not REGEX=TYPE") }
        }
        v.pure = try bool(map, "pure", path: path) ?? false
        v.leaveOutputTensor = try bool(map, "leave_output_tensor", path: path) ?? false
        v.overrideKV = try strings(map, "override_kv", path: path) ?? []
        return v
    }

    func verify(_ node: Node) throws(RecipeError) -> Recipe.Verify {
        guard let map = node.mapping else { throw fail("verify", "expected a mapping") }
        try allow(
            map, path: "verify",
            keys: ["text", "ctx", "chunks", "max_mean_kld", "min_same_top_p", "prompt", "expect", "max_tokens"])
        var v = Recipe.Verify(text: try string(map, "text", path: "verify", required: true)!)
        v.ctx = try int(map, "ctx", path: "verify") ?? 512
        guard v.ctx >= 8, v.ctx % 2 == 0 else { throw fail("verify.ctx", "must be even and at least 8") }
        v.chunks = try int(map, "chunks", path: "verify")
        if let c = v.chunks, c < 1 { throw fail("verify.chunks", "must be at least 1") }
        v.maxMeanKLD = try double(map, "max_mean_kld", path: "verify")
        v.minSameTopP = try double(map, "min_same_top_p", path: "verify")
        if let p = v.minSameTopP, !(0...100).contains(p) {
            throw fail("verify.min_same_top_p", "must be a percentage (0–100)")
        }
        v.prompt = try string(map, "prompt", path: "verify")
        v.expect = try string(map, "expect", path: "verify")
        if v.expect != nil, v.prompt == nil { throw fail("verify.expect", "needs verify.prompt") }
        v.maxTokens = try int(map, "max_tokens", path: "verify") ?? 64
        guard v.maxTokens >= 1 else { throw fail("verify.max_tokens", "must be at least 1") }
        return v
    }
}
