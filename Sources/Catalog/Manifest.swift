import Foundation

/// What `kiln build` writes as `DIST/<alias>/manifest.json` and what a catalog reads: one model (an alias),
/// where it came from, and every variant built from it with its file digest, memory need and measured
/// quality. The JSON Schema is `schemas/manifest.schema.json`; ``schemaVersion`` changes whenever a field
/// changes meaning or a required field is added.
///
/// Keys are snake_case; optional facts that do not apply are omitted, never invented.
public struct Manifest: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1
    public static let kindName = "kiln.model-manifest"

    public var schemaVersion = Manifest.currentSchemaVersion
    public var kind = Manifest.kindName
    public var alias: String
    public var displayName: String
    public var publisher: String?
    public var license: String?
    public var description: String?
    public var tasks: [String]
    public var model: ModelFacts
    public var tokenizer: TokenizerFacts
    public var chatTemplate: ChatTemplateFacts?
    public var source: Source
    public var builder: Builder
    public var recipe: Recipe
    public var imatrix: Imatrix?
    public var verification: Verification?
    public var variants: [Variant]

    public init(
        alias: String, displayName: String, tasks: [String], model: ModelFacts, tokenizer: TokenizerFacts,
        source: Source, builder: Builder, recipe: Recipe, variants: [Variant]
    ) {
        self.alias = alias
        self.displayName = displayName
        self.tasks = tasks
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        self.builder = builder
        self.recipe = recipe
        self.variants = variants
    }

    enum CodingKeys: String, CodingKey {
        case kind, alias, publisher, license, description, tasks, model, tokenizer, source, builder, recipe, imatrix
        case verification, variants
        case schemaVersion = "schema_version"
        case displayName = "display_name"
        case chatTemplate = "chat_template"
    }

    /// The published variants, in recipe order.
    public var published: [Variant] { variants.filter { $0.status == .published } }

    public struct ModelFacts: Codable, Sendable, Equatable {
        public var architecture: String
        public var parameterCount: Int
        public var contextLength: Int
        public var vocabularySize: Int
        public var embeddingLength: Int
        public var blockCount: Int
        public var headCount: Int
        public var headCountKV: Int

        public init(
            architecture: String, parameterCount: Int, contextLength: Int, vocabularySize: Int, embeddingLength: Int,
            blockCount: Int, headCount: Int, headCountKV: Int
        ) {
            self.architecture = architecture
            self.parameterCount = parameterCount
            self.contextLength = contextLength
            self.vocabularySize = vocabularySize
            self.embeddingLength = embeddingLength
            self.blockCount = blockCount
            self.headCount = headCount
            self.headCountKV = headCountKV
        }

        enum CodingKeys: String, CodingKey {
            case architecture
            case parameterCount = "parameter_count"
            case contextLength = "context_length"
            case vocabularySize = "vocabulary_size"
            case embeddingLength = "embedding_length"
            case blockCount = "block_count"
            case headCount = "head_count"
            case headCountKV = "head_count_kv"
        }
    }

    public struct TokenizerFacts: Codable, Sendable, Equatable {
        /// `tokenizer.ggml.model` (`gpt2`, `llama`, …) and `tokenizer.ggml.pre`.
        public var model: String
        public var pre: String?
        public var bosTokenID: Int?
        public var eosTokenID: Int?
        public var bosToken: String?
        public var eosToken: String?
        public var addsBOS: Bool

        public init(
            model: String, pre: String?, bosTokenID: Int?, eosTokenID: Int?, bosToken: String?, eosToken: String?,
            addsBOS: Bool
        ) {
            self.model = model
            self.pre = pre
            self.bosTokenID = bosTokenID
            self.eosTokenID = eosTokenID
            self.bosToken = bosToken
            self.eosToken = eosToken
            self.addsBOS = addsBOS
        }

        enum CodingKeys: String, CodingKey {
            case model, pre
            case bosTokenID = "bos_token_id"
            case eosTokenID = "eos_token_id"
            case bosToken = "bos_token"
            case eosToken = "eos_token"
            case addsBOS = "adds_bos"
        }
    }

    /// The chat template the files carry and what `kiln template check` finds in it.
    public struct ChatTemplateFacts: Codable, Sendable, Equatable {
        public var sha256: String
        public var supportsSystemRole: Bool
        public var supportsTools: Bool
        public var supportsToolCalls: Bool
        public var toolCallStart: String?
        public var toolCallEnd: String?
        public var supportsReasoning: Bool
        public var reasoningStart: String?
        public var reasoningEnd: String?
        public var stopTokens: [String]
        /// Foundry Local's `promptTemplate` (each string holds `{Content}`), when the template has that shape.
        public var promptTemplate: PromptTemplate?
        public var findings: [String]

        public init(
            sha256: String, supportsSystemRole: Bool, supportsTools: Bool, supportsToolCalls: Bool,
            toolCallStart: String?, toolCallEnd: String?, supportsReasoning: Bool, reasoningStart: String?,
            reasoningEnd: String?, stopTokens: [String], promptTemplate: PromptTemplate?, findings: [String]
        ) {
            self.sha256 = sha256
            self.supportsSystemRole = supportsSystemRole
            self.supportsTools = supportsTools
            self.supportsToolCalls = supportsToolCalls
            self.toolCallStart = toolCallStart
            self.toolCallEnd = toolCallEnd
            self.supportsReasoning = supportsReasoning
            self.reasoningStart = reasoningStart
            self.reasoningEnd = reasoningEnd
            self.stopTokens = stopTokens
            self.promptTemplate = promptTemplate
            self.findings = findings
        }

        enum CodingKeys: String, CodingKey {
            case sha256, findings
            case supportsSystemRole = "supports_system_role"
            case supportsTools = "supports_tools"
            case supportsToolCalls = "supports_tool_calls"
            case toolCallStart = "tool_call_start"
            case toolCallEnd = "tool_call_end"
            case supportsReasoning = "supports_reasoning"
            case reasoningStart = "reasoning_start"
            case reasoningEnd = "reasoning_end"
            case stopTokens = "stop_tokens"
            case promptTemplate = "prompt_template"
        }
    }

    /// Foundry Local's field names, kept verbatim.
    public struct PromptTemplate: Codable, Sendable, Equatable {
        public var system: String?
        public var user: String
        public var assistant: String
        public var prompt: String

        public init(system: String?, user: String, assistant: String, prompt: String) {
            self.system = system
            self.user = user
            self.assistant = assistant
            self.prompt = prompt
        }
    }

    public struct SourceFile: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: Int
        public var sha256: String

        public init(path: String, bytes: Int, sha256: String) {
            self.path = path
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public struct Source: Codable, Sendable, Equatable {
        /// `folder` or `hf`.
        public var kind: String
        /// The folder as the recipe names it, or the `hf:` id.
        public var location: String
        public var revision: String?
        public var files: [SourceFile]

        public init(kind: String, location: String, revision: String?, files: [SourceFile]) {
            self.kind = kind
            self.location = location
            self.revision = revision
            self.files = files
        }
    }

    public struct Builder: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    public struct Recipe: Codable, Sendable, Equatable {
        public var file: String
        public var sha256: String
        public init(file: String, sha256: String) {
            self.file = file
            self.sha256 = sha256
        }
    }

    public struct Imatrix: Codable, Sendable, Equatable {
        public var file: String
        public var sha256: String
        /// The calibration text, when Kiln computed the matrix.
        public var text: String?
        public var textSHA256: String?
        public var chunks: Int?
        public var ctx: Int?

        public init(file: String, sha256: String, text: String?, textSHA256: String?, chunks: Int?, ctx: Int?) {
            self.file = file
            self.sha256 = sha256
            self.text = text
            self.textSHA256 = textSHA256
            self.chunks = chunks
            self.ctx = ctx
        }

        enum CodingKeys: String, CodingKey {
            case file, sha256, text, chunks, ctx
            case textSHA256 = "text_sha256"
        }
    }

    /// How every variant was measured.
    public struct Verification: Codable, Sendable, Equatable {
        public var text: String
        public var textSHA256: String
        public var ctx: Int
        public var chunks: Int
        public var tokens: Int
        public var referencePPL: Double
        public var gates: Gates
        public var prompt: String?
        public var expect: String?

        public init(
            text: String, textSHA256: String, ctx: Int, chunks: Int, tokens: Int, referencePPL: Double, gates: Gates,
            prompt: String?, expect: String?
        ) {
            self.text = text
            self.textSHA256 = textSHA256
            self.ctx = ctx
            self.chunks = chunks
            self.tokens = tokens
            self.referencePPL = referencePPL
            self.gates = gates
            self.prompt = prompt
            self.expect = expect
        }

        enum CodingKeys: String, CodingKey {
            case text, ctx, chunks, tokens, gates, prompt, expect
            case textSHA256 = "text_sha256"
            case referencePPL = "reference_ppl"
        }
    }

    public struct Gates: Codable, Sendable, Equatable {
        public var maxMeanKLD: Double?
        public var minSameTopPPercent: Double?
        public init(maxMeanKLD: Double?, minSameTopPPercent: Double?) {
            self.maxMeanKLD = maxMeanKLD
            self.minSameTopPPercent = minSameTopPPercent
        }
        enum CodingKeys: String, CodingKey {
            case maxMeanKLD = "max_mean_kld"
            case minSameTopPPercent = "min_same_top_p_percent"
        }
    }

    public enum Status: String, Codable, Sendable {
        case published, rejected
    }

    public struct Variant: Codable, Sendable, Equatable {
        /// The recipe's variant name; the catalog id is `<alias>:<name>`.
        public var name: String
        public var id: String
        public var status: Status
        /// Why a rejected variant was not published (one sentence per failed gate).
        public var rejectedBecause: [String]
        public var file: String
        /// llama.cpp's file type name (`Q4_K_M`, `F16`, …).
        public var fileType: String
        public var bytes: Int
        public var sha256: String
        public var bitsPerWeight: Double
        /// Number of tensors of each GGML type.
        public var tensorTypes: [String: Int]
        /// SHA-256 of the exact per-tensor type map: one `name=type` line per tensor, in file order.
        public var tensorTypeMapSHA256: String
        /// The content key: the digest of everything that decides the file's bytes.
        public var key: String
        public var memory: Memory
        public var quality: Quality?
        public var generation: Generation?
        public var gates: [Gate]
        /// The in-toto v1 Statement beside the file.
        public var provenance: String

        public init(
            name: String, id: String, status: Status, rejectedBecause: [String], file: String, fileType: String,
            bytes: Int, sha256: String, bitsPerWeight: Double, tensorTypes: [String: Int], tensorTypeMapSHA256: String,
            key: String, memory: Memory, quality: Quality?, generation: Generation?, gates: [Gate], provenance: String
        ) {
            self.name = name
            self.id = id
            self.status = status
            self.rejectedBecause = rejectedBecause
            self.file = file
            self.fileType = fileType
            self.bytes = bytes
            self.sha256 = sha256
            self.bitsPerWeight = bitsPerWeight
            self.tensorTypes = tensorTypes
            self.tensorTypeMapSHA256 = tensorTypeMapSHA256
            self.key = key
            self.memory = memory
            self.quality = quality
            self.generation = generation
            self.gates = gates
            self.provenance = provenance
        }

        enum CodingKeys: String, CodingKey {
            case name, id, status, file, bytes, sha256, key, memory, quality, generation, gates, provenance
            case rejectedBecause = "rejected_because"
            case fileType = "file_type"
            case bitsPerWeight = "bits_per_weight"
            case tensorTypes = "tensor_types"
            case tensorTypeMapSHA256 = "tensor_type_map_sha256"
        }
    }

    /// Memory a llama.cpp runtime allocates to run the file on a CPU: the weights, the F16 key/value cache,
    /// and the compute buffer (see `MemoryEstimate` in the Pipeline module for how it is derived).
    public struct Memory: Codable, Sendable, Equatable {
        public var weightsBytes: Int
        /// Tensors the runtime copies into interleaved layouts at load (allocated besides the mapped file).
        public var repackBytes: Int
        public var contexts: [AtContext]
        public var method: String

        public init(weightsBytes: Int, repackBytes: Int, contexts: [AtContext], method: String) {
            self.weightsBytes = weightsBytes
            self.repackBytes = repackBytes
            self.contexts = contexts
            self.method = method
        }

        enum CodingKeys: String, CodingKey {
            case contexts, method
            case weightsBytes = "weights_bytes"
            case repackBytes = "repack_bytes"
        }

        public struct AtContext: Codable, Sendable, Equatable {
            public var contextLength: Int
            public var kvCacheBytes: Int
            public var computeBytes: Int
            public var totalBytes: Int

            public init(contextLength: Int, kvCacheBytes: Int, computeBytes: Int, totalBytes: Int) {
                self.contextLength = contextLength
                self.kvCacheBytes = kvCacheBytes
                self.computeBytes = computeBytes
                self.totalBytes = totalBytes
            }

            enum CodingKeys: String, CodingKey {
                case contextLength = "context_length"
                case kvCacheBytes = "kv_cache_bytes"
                case computeBytes = "compute_bytes"
                case totalBytes = "total_bytes"
            }
        }

        /// The need at `contextLength`, or at the largest listed context below it.
        public func total(atContext contextLength: Int) -> Int? {
            contexts.filter { $0.contextLength <= contextLength }.max { $0.contextLength < $1.contextLength }?
                .totalBytes
        }
    }

    /// llama-perplexity's statistics for the variant against the source, as `kiln verify` prints them.
    public struct Quality: Codable, Sendable, Equatable {
        public var ppl: Double
        public var lnPPLRatio: Double
        public var meanKLD: Double
        public var medianKLD: Double
        public var kld99: Double
        public var maxKLD: Double
        public var rmsDpPercent: Double
        public var sameTopPPercent: Double
        public var textSHA256: String
        public var ctx: Int
        public var chunks: Int

        public init(
            ppl: Double, lnPPLRatio: Double, meanKLD: Double, medianKLD: Double, kld99: Double, maxKLD: Double,
            rmsDpPercent: Double, sameTopPPercent: Double, textSHA256: String, ctx: Int, chunks: Int
        ) {
            self.ppl = ppl
            self.lnPPLRatio = lnPPLRatio
            self.meanKLD = meanKLD
            self.medianKLD = medianKLD
            self.kld99 = kld99
            self.maxKLD = maxKLD
            self.rmsDpPercent = rmsDpPercent
            self.sameTopPPercent = sameTopPPercent
            self.textSHA256 = textSHA256
            self.ctx = ctx
            self.chunks = chunks
        }

        enum CodingKeys: String, CodingKey {
            case ppl, ctx, chunks
            case lnPPLRatio = "ln_ppl_ratio"
            case meanKLD = "mean_kld"
            case medianKLD = "median_kld"
            case kld99 = "kld_99"
            case maxKLD = "max_kld"
            case rmsDpPercent = "rms_dp_percent"
            case sameTopPPercent = "same_top_p_percent"
            case textSHA256 = "text_sha256"
        }
    }

    /// The recipe's prompt answered greedily through the chat template.
    public struct Generation: Codable, Sendable, Equatable {
        public var prompt: String
        public var reply: String
        public var expect: String?
        public var passed: Bool

        public init(prompt: String, reply: String, expect: String?, passed: Bool) {
            self.prompt = prompt
            self.reply = reply
            self.expect = expect
            self.passed = passed
        }
    }

    public struct Gate: Codable, Sendable, Equatable {
        /// `max_mean_kld`, `min_same_top_p`, or `expect`.
        public var gate: String
        public var limit: String
        public var value: String
        public var passed: Bool

        public init(gate: String, limit: String, value: String, passed: Bool) {
            self.gate = gate
            self.limit = limit
            self.value = value
            self.passed = passed
        }
    }
}

extension Manifest {
    /// Reads and checks a manifest (its kind and schema version).
    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ManifestError(path: url.path, reason: "cannot read")
        }
        do {
            self = try JSONDecoder().decode(Manifest.self, from: data)
        } catch let error as DecodingError {
            throw ManifestError(path: url.path, reason: describe(error))
        }
        guard kind == Self.kindName else {
            throw ManifestError(path: url.path, reason: "kind is \(kind), expected \(Self.kindName)")
        }
        guard schemaVersion == Self.currentSchemaVersion else {
            throw ManifestError(
                path: url.path,
                reason: "schema_version \(schemaVersion); this Kiln reads \(Self.currentSchemaVersion)")
        }
    }
}

public struct ManifestError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// A decoding error as one phrase naming the key path (`variants[2].sha256: expected a string`).
public func describe(_ error: DecodingError) -> String {
    func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for k in keys {
            if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + k.stringValue }
        }
        return out.isEmpty ? "the document" : out
    }
    switch error {
    case let .keyNotFound(key, context):
        let parent = path(context.codingPath)
        return parent == "the document"
            ? "missing required key `\(key.stringValue)`" : "\(parent): missing required key `\(key.stringValue)`"
    case let .typeMismatch(type, context):
        return "\(path(context.codingPath)): expected \(typeName(type))"
    case let .valueNotFound(type, context):
        return "\(path(context.codingPath)): expected \(typeName(type)), found nothing"
    case let .dataCorrupted(context):
        return "\(path(context.codingPath)): \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}

private func typeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Int.Type: "an integer"
    case is Double.Type: "a number"
    case is Bool.Type: "true or false"
    default:
        String(describing: type).hasPrefix("Array") ? "a list" : "a mapping"
    }
}
