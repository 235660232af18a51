import Foundation

/// What `kiln build --json` prints, one object per line; every object has an `event` field. Documented in
/// the README ("Build events").
public enum BuildEvent: Encodable, Sendable {
    /// The plan of one recipe: every node, with whether its outputs already exist.
    case plan(Plan)
    /// A node started (`action: "run"`) or was skipped because its outputs exist (`action: "reuse"`).
    case node(Node)
    /// One tensor of the quantization ladder written (for every variant of the pass).
    case tensor(Tensor)
    /// One chunk evaluated (reference, a variant's comparison, or the importance matrix).
    case chunk(Chunk)
    /// A variant's verdict.
    case variant(VariantResult)
    /// The recipe is done.
    case done(Done)

    public func encode(to encoder: Encoder) throws {
        switch self {
        case let .plan(v): try v.encode(to: encoder)
        case let .node(v): try v.encode(to: encoder)
        case let .tensor(v): try v.encode(to: encoder)
        case let .chunk(v): try v.encode(to: encoder)
        case let .variant(v): try v.encode(to: encoder)
        case let .done(v): try v.encode(to: encoder)
        }
    }

    public struct Plan: Codable, Sendable {
        public var event = "plan"
        public var recipe: String
        public var alias: String
        public var nodes: [BuildNode]

        public init(recipe: String, alias: String, nodes: [BuildNode]) {
            self.recipe = recipe
            self.alias = alias
            self.nodes = nodes
        }
    }

    public struct Node: Codable, Sendable {
        public var event = "node"
        public var alias: String
        public var stage: String
        public var variant: String?
        public var key: String
        /// `run` or `reuse`.
        public var action: String
        public var seconds: Double?
    }

    public struct Tensor: Codable, Sendable {
        public var event = "tensor"
        public var alias: String
        public var index: Int
        public var count: Int
        public var tensor: String
        public var variants: [String]
    }

    public struct Chunk: Codable, Sendable {
        public var event = "chunk"
        public var alias: String
        public var stage: String
        public var variant: String?
        public var chunk: Int
        public var chunks: Int
    }

    public struct VariantResult: Codable, Sendable {
        public var event = "variant"
        public var alias: String
        public var variant: String
        public var file: String
        public var bytes: Int
        public var status: String
        public var meanKLD: Double?
        public var sameTopPPercent: Double?
        public var reply: String?
        public var rejectedBecause: [String]

        enum CodingKeys: String, CodingKey {
            case event, alias, variant, file, bytes, status, reply
            case meanKLD = "mean_kld"
            case sameTopPPercent = "same_top_p_percent"
            case rejectedBecause = "rejected_because"
        }
    }

    public struct Done: Codable, Sendable {
        public var event = "done"
        public var alias: String
        public var manifest: String
        public var report: String
        public var published: Int
        public var rejected: Int
        /// Nodes run and reused in this build.
        public var ran: Int
        public var reused: Int
        public var seconds: Double

        public init(
            alias: String, manifest: String, report: String, published: Int, rejected: Int, ran: Int, reused: Int,
            seconds: Double
        ) {
            self.alias = alias
            self.manifest = manifest
            self.report = report
            self.published = published
            self.rejected = rejected
            self.ran = ran
            self.reused = reused
            self.seconds = seconds
        }
    }
}

/// One node of a recipe's stage graph.
public struct BuildNode: Codable, Sendable, Equatable {
    public enum Stage: String, Codable, Sendable {
        case facts, imatrix, convert, quantize, reference, verify, manifest
    }
    public var key: String
    public var stage: Stage
    public var variant: String?
    /// Keys of the nodes whose outputs this one reads.
    public var inputs: [String]
    /// Paths relative to DIST.
    public var outputs: [String]
    /// The command that runs this node alone.
    public var command: [String]
    /// Its outputs exist (it would be reused).
    public var done: Bool
    /// The planned size of a GGUF output.
    public var expectedBytes: Int?

    enum CodingKeys: String, CodingKey {
        case key, stage, variant, inputs, outputs, command, done
        case expectedBytes = "expected_bytes"
    }
}
