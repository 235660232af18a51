import Foundation

/// `CATALOG/catalog.json`: every alias a runtime can ask for, with its published variants. Per-variant
/// records use Foundry Local's `ModelInfo` field names where one exists (`id`, `alias`, `displayName`,
/// `providerType`, `modelType`, `uri`, `runtime`, `promptTemplate`, `contextLength`, `fileSizeMb`,
/// `supportsToolCalling`, …) so a Foundry-style client maps it field by field, extended with the file's digest,
/// the memory it needs and its measured quality. The schema is `schemas/catalog.schema.json`.
public struct CatalogIndex: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1
    public static let kindName = "kiln.catalog"

    public var schemaVersion = CatalogIndex.currentSchemaVersion
    public var kind = CatalogIndex.kindName
    /// Where variant URIs point when they are not relative to the catalog's root.
    public var baseURL: String?
    public var models: [Model]

    public init(baseURL: String?, models: [Model]) {
        self.baseURL = baseURL
        self.models = models
    }

    public struct Model: Codable, Sendable, Equatable {
        public var alias: String
        public var displayName: String
        public var publisher: String?
        public var license: String?
        public var description: String?
        /// The first task (Foundry's `task`), and all of them.
        public var task: String?
        public var tasks: [String]
        public var architecture: String
        public var parameterCount: Int
        public var contextLength: Int
        public var capabilities: Capabilities
        public var promptTemplate: Manifest.PromptTemplate?
        public var chatTemplateSHA256: String?
        public var stopTokens: [String]
        /// The id of the variant a runtime loads when it asks for the alias alone.
        public var recommended: String
        /// The build's manifest, copied into the catalog (`manifests/<alias>.json`), and its digest.
        public var manifest: String
        public var manifestSHA256: String
        public var source: String
        public var revision: String?
        public var variants: [Variant]

        public init(
            alias: String, displayName: String, publisher: String?, license: String?, description: String?,
            task: String?, tasks: [String], architecture: String, parameterCount: Int, contextLength: Int,
            capabilities: Capabilities, promptTemplate: Manifest.PromptTemplate?, chatTemplateSHA256: String?,
            stopTokens: [String], recommended: String, manifest: String, manifestSHA256: String, source: String,
            revision: String?, variants: [Variant]
        ) {
            self.alias = alias
            self.displayName = displayName
            self.publisher = publisher
            self.license = license
            self.description = description
            self.task = task
            self.tasks = tasks
            self.architecture = architecture
            self.parameterCount = parameterCount
            self.contextLength = contextLength
            self.capabilities = capabilities
            self.promptTemplate = promptTemplate
            self.chatTemplateSHA256 = chatTemplateSHA256
            self.stopTokens = stopTokens
            self.recommended = recommended
            self.manifest = manifest
            self.manifestSHA256 = manifestSHA256
            self.source = source
            self.revision = revision
            self.variants = variants
        }
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        public var supportsToolCalling: Bool
        public var toolCallStart: String?
        public var toolCallEnd: String?
        public var supportsReasoning: Bool
        public var reasoningStart: String?
        public var reasoningEnd: String?
        public var supportsSystemRole: Bool

        public init(
            supportsToolCalling: Bool, toolCallStart: String?, toolCallEnd: String?, supportsReasoning: Bool,
            reasoningStart: String?, reasoningEnd: String?, supportsSystemRole: Bool
        ) {
            self.supportsToolCalling = supportsToolCalling
            self.toolCallStart = toolCallStart
            self.toolCallEnd = toolCallEnd
            self.supportsReasoning = supportsReasoning
            self.reasoningStart = reasoningStart
            self.reasoningEnd = reasoningEnd
            self.supportsSystemRole = supportsSystemRole
        }
    }

    public struct Runtime: Codable, Sendable, Equatable {
        public var deviceType: String
        public var executionProvider: String

        public init(deviceType: String, executionProvider: String) {
            self.deviceType = deviceType
            self.executionProvider = executionProvider
        }
    }

    public struct File: Codable, Sendable, Equatable {
        /// Relative to the catalog's root.
        public var path: String
        public var sha256: String
        public var size: Int

        public init(path: String, sha256: String, size: Int) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    public struct Requirements: Codable, Sendable, Equatable {
        /// Memory at 4,096 tokens of context (or the model's context when shorter).
        public var minMemoryBytes: Int
        public var memoryAtContextLength: Int
        public var kvBytesPerToken: Int
        public var memory: Manifest.Memory

        public init(minMemoryBytes: Int, memoryAtContextLength: Int, kvBytesPerToken: Int, memory: Manifest.Memory) {
            self.minMemoryBytes = minMemoryBytes
            self.memoryAtContextLength = memoryAtContextLength
            self.kvBytesPerToken = kvBytesPerToken
            self.memory = memory
        }
    }

    public struct Quality: Codable, Sendable, Equatable {
        public var ppl: Double
        public var lnPPLRatio: Double
        public var meanKLD: Double
        public var kld99: Double
        public var maxKLD: Double
        public var sameTopPPercent: Double
        public var rmsDpPercent: Double
        public var reference: String
        public var corpusSHA256: String
        public var ctx: Int
        public var chunks: Int

        public init(
            ppl: Double, lnPPLRatio: Double, meanKLD: Double, kld99: Double, maxKLD: Double, sameTopPPercent: Double,
            rmsDpPercent: Double, reference: String, corpusSHA256: String, ctx: Int, chunks: Int
        ) {
            self.ppl = ppl
            self.lnPPLRatio = lnPPLRatio
            self.meanKLD = meanKLD
            self.kld99 = kld99
            self.maxKLD = maxKLD
            self.sameTopPPercent = sameTopPPercent
            self.rmsDpPercent = rmsDpPercent
            self.reference = reference
            self.corpusSHA256 = corpusSHA256
            self.ctx = ctx
            self.chunks = chunks
        }
    }

    public struct Variant: Codable, Sendable, Equatable {
        /// `<alias>:<variant>`.
        public var id: String
        public var name: String
        public var version: Int
        public var alias: String
        public var displayName: String
        public var providerType: String
        public var modelType: String
        public var fileType: String
        public var bitsPerWeight: Double
        /// The download URL: relative to the catalog's root, or absolute under `--base-url`.
        public var uri: String
        public var fileSizeMb: Int
        public var runtime: Runtime
        public var contextLength: Int
        public var files: [File]
        public var requirements: Requirements
        public var quality: Quality?
        public var tensorTypeMapSHA256: String
        public var provenance: String

        public init(
            id: String, name: String, version: Int, alias: String, displayName: String, providerType: String,
            modelType: String, fileType: String, bitsPerWeight: Double, uri: String, fileSizeMb: Int, runtime: Runtime,
            contextLength: Int, files: [File], requirements: Requirements, quality: Quality?,
            tensorTypeMapSHA256: String, provenance: String
        ) {
            self.id = id
            self.name = name
            self.version = version
            self.alias = alias
            self.displayName = displayName
            self.providerType = providerType
            self.modelType = modelType
            self.fileType = fileType
            self.bitsPerWeight = bitsPerWeight
            self.uri = uri
            self.fileSizeMb = fileSizeMb
            self.runtime = runtime
            self.contextLength = contextLength
            self.files = files
            self.requirements = requirements
            self.quality = quality
            self.tensorTypeMapSHA256 = tensorTypeMapSHA256
            self.provenance = provenance
        }
    }
}

extension CatalogIndex {
    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ManifestError(path: url.path, reason: "cannot read the catalog")
        }
        do {
            self = try JSONDecoder().decode(CatalogIndex.self, from: data)
        } catch let e as DecodingError {
            throw ManifestError(path: url.path, reason: describe(e))
        }
        guard kind == Self.kindName else {
            throw ManifestError(path: url.path, reason: "kind is \(kind), expected \(Self.kindName)")
        }
        guard schemaVersion == Self.currentSchemaVersion else {
            throw ManifestError(
                path: url.path, reason: "schemaVersion \(schemaVersion); this Kiln reads \(Self.currentSchemaVersion)")
        }
    }

    public func model(_ alias: String) -> Model? { models.first { $0.alias == alias } }

    public func variant(_ id: String) -> Variant? { models.lazy.flatMap(\.variants).first { $0.id == id } }
}
