import Architectures
import FileAccess
import Foundation
import GGUF
import Quantization

/// `--override-kv KEY=TYPE:VALUE` (TYPE int, float, bool or str), written as llama-quantize writes them:
/// ints as UINT32 of the absolute value, floats as FLOAT32.
public struct KVOverride: Sendable, Equatable {
    public let key: String
    public let value: GGUFValue

    public init(key: String, value: GGUFValue) {
        self.key = key
        self.value = value
    }

    public init?(parsing text: String) {
        guard let eq = text.firstIndex(of: "="), let colon = text[eq...].firstIndex(of: ":") else { return nil }
        let key = String(text[..<eq])
        let type = text[text.index(after: eq)..<colon]
        let raw = String(text[text.index(after: colon)...])
        guard !key.isEmpty, key.utf8.count < 128 else { return nil }
        switch type {
        case "int":
            guard let v = Int64(raw) else { return nil }
            value = .uint32(UInt32(truncatingIfNeeded: v.magnitude))
        case "float":
            guard let v = Double(raw) else { return nil }
            value = .float32(Float(v))
        case "bool":
            guard raw == "true" || raw == "false" else { return nil }
            value = .bool(raw == "true")
        case "str":
            guard raw.utf8.count < 128 else { return nil }
            value = .string(raw)
        default:
            return nil
        }
        self.key = key
    }
}

/// Options of `kiln quantize`.
public struct QuantizeOptions: Sendable {
    /// A GGUF file (F32, F16 or BF16; quantized with ``allowRequantize``) or a checkpoint folder.
    public var input: URL
    public var output: URL
    public var fileType: LlamaFileType
    public var threads: Int
    public var importanceMatrix: URL?
    /// `--include-weights` / `--exclude-weights`: substrings selecting importance-matrix entries.
    public var includeWeights: [String] = []
    public var excludeWeights: [String] = []
    public var overrides = QuantizationOverrides()
    public var overrideKV: [KVOverride] = []
    public var allowRequantize = false
    public var dryRun = false
    public var overwrite = false

    public init(
        input: URL, output: URL, fileType: LlamaFileType, threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.input = input
        self.output = output
        self.fileType = fileType
        self.threads = threads
    }
}

/// One tensor of a quantization plan.
public struct QuantizePlanEntry: Sendable {
    public let name: String
    /// GGML order (row length first).
    public let dimensions: [Int]
    public let from: GGMLType
    public let to: GGMLType
    public let bytesBefore: Int
    public let bytesAfter: Int
    public let usesImportanceMatrix: Bool
    public let fellBack: Bool
}

public struct QuantizeResult: Sendable {
    public let output: URL
    public let entries: [QuantizePlanEntry]
    public let fileBytes: Int
    public let wrote: Bool
}

public enum QuantizeError: Error, Equatable, CustomStringConvertible {
    case requantizeDisabled(path: String, tensor: String, type: String)
    case cannotEncode(tensor: String, type: String)
    case missingModelKey(path: String, key: String)
    case importanceMatrixRequired(tensor: String, fileType: String)

    public var description: String {
        switch self {
        case let .requantizeDisabled(path, tensor, type):
            "\(path): tensor \(tensor) is already quantized (\(type)); pass --allow-requantize to quantize it again"
        case let .cannotEncode(tensor, type): "tensor \(tensor): Kiln cannot encode \(type) yet"
        case let .missingModelKey(path, key): "\(path): missing \(key), which the mixture rules need"
        case let .importanceMatrixRequired(tensor, fileType):
            "\(fileType) needs an importance matrix for tensor \(tensor) (pass --imatrix FILE)"
        }
    }
}

/// `kiln quantize`: llama-quantize's file types and mixtures, byte-identical to its output.
///
/// From a GGUF file it behaves as `llama-quantize IN OUT TYPE`; from a checkpoint folder it converts and
/// quantizes in one streaming pass, writing what `convert_hf_to_gguf.py --outtype f32` followed by
/// llama-quantize would write, without the intermediate file.
public enum Quantize {
    struct Item {
        let name: String
        let dimensions: [Int]
        let type: GGMLType
        let rows: any RowSource
        /// The stored bytes, when the input already holds them in the tensor's type (GGUF input).
        let raw: UnsafeRawBufferPointer?
    }

    /// The input, opened once: its metadata and its tensors in llama-quantize's order.
    struct Input {
        let metadata: GGUFMetadata
        let items: [Item]
        let facts: QuantizationModelFacts
    }

    /// One variant's plan: the output's metadata, per-tensor targets and importance weights.
    struct Plan {
        let options: QuantizeOptions
        let metadata: GGUFMetadata
        let entries: [QuantizePlanEntry]
        let weights: [[Float]?]
        var infos: [GGUFTensorInfo] {
            entries.map { GGUFTensorInfo(name: $0.name, dimensions: $0.dimensions, type: $0.to) }
        }

        var plannedFileBytes: Int {
            let header = GGUFWriter.encodeHeader(metadata: metadata, tensors: infos).count
            var size = GGUF.pad(header, to: GGUF.defaultAlignment)
            for i in infos { size += GGUF.pad(i.byteCount, to: GGUF.defaultAlignment) }
            return size
        }
    }

    public static func run(
        _ options: QuantizeOptions, progress: ((QuantizePlanEntry, Int, Int) -> Void)? = nil
    ) throws -> QuantizeResult {
        let input = try open(options.input)
        let plan = try self.plan(options, input: input)
        if options.dryRun {
            for (i, e) in plan.entries.enumerated() { progress?(e, i, plan.entries.count) }
            return QuantizeResult(
                output: options.output, entries: plan.entries, fileBytes: plan.plannedFileBytes, wrote: false)
        }
        return try write([plan], input: input) { _, i, n in progress?(plan.entries[i], i, n) }[0]
    }

    /// Several variants of one input in a single pass: each tensor's rows are read (converted) once and
    /// encoded for every variant, each output byte-identical to ``run(_:progress:)`` of that variant. Variants
    /// that give a tensor the same type and importance weights share one encoding.
    ///
    /// - Parameter progress: called after each tensor with its entry per variant, its index and the count.
    public static func runLadder(
        _ variants: [QuantizeOptions], progress: (([QuantizePlanEntry], Int, Int) -> Void)? = nil
    ) throws -> [QuantizeResult] {
        guard let first = variants.first else { return [] }
        precondition(variants.allSatisfy { $0.input == first.input }, "a ladder quantizes one input")
        let input = try open(first.input)
        let plans = try variants.map { try plan($0, input: input) }
        if variants.allSatisfy(\.dryRun) {
            return plans.map {
                QuantizeResult(
                    output: $0.options.output, entries: $0.entries, fileBytes: $0.plannedFileBytes, wrote: false)
            }
        }
        return try write(plans, input: input) { entries, i, n in progress?(entries, i, n) }
    }

    /// The planned size of each variant's file, without reading any weights.
    public static func plannedSizes(_ variants: [QuantizeOptions]) throws -> [QuantizeResult] {
        try runLadder(
            variants.map {
                var o = $0; o.dryRun = true; return o
            })
    }

    static func open(_ url: URL) throws -> Input {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        let metadata: GGUFMetadata
        var items: [Item]
        if exists && isDir.boolValue {
            let p = try Converter.prepare(ConversionOptions(checkpoint: url, outputType: .f32))
            metadata = p.metadata
            items = p.tensors.map { t in
                Item(
                    name: t.name, dimensions: trimmed(t.shape.reversed()), type: .f32, rows: PlannedRows(tensor: t),
                    raw: nil)
            }
        } else {
            let f = try GGUFFile(url: url)
            metadata = f.metadata
            items = f.tensors.map { t in
                Item(
                    name: t.name, dimensions: trimmed(t.dimensions), type: t.type, rows: GGUFRows(file: f, info: t),
                    raw: f.data(for: t))
            }
        }
        let facts = try modelFacts(metadata, path: url.path)
        // A model without its token embedding cannot run; llama.cpp would find out only when loading it.
        if metadata["general.type"]?.stringValue != "adapter",
            !items.contains(where: { $0.name == "token_embd.weight" })
        {
            throw NamedFileError(
                path: url.path, message: "no tensor token_embd.weight (the token embedding): not a complete model")
        }
        let order = QuantizationPolicy.quantizeOrder(items.map(\.name))
        let byName = Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0) })
        items = order.map { byName[$0]! }
        return Input(metadata: metadata, items: items, facts: facts)
    }

    static func plan(_ options: QuantizeOptions, input: Input) throws -> Plan {
        let path = options.input.path
        let items = input.items
        var importance: ImportanceMatrix? = nil
        if let url = options.importanceMatrix {
            var m = try ImportanceMatrix(url: url)
            for name in options.excludeWeights { m.entries = m.entries.filter { !$0.key.contains(name) } }
            if !options.includeWeights.isEmpty {
                m.entries = m.entries.filter { e in options.includeWeights.contains { e.key.contains($0) } }
            }
            for (k, v) in m.entries where v.contains(where: { !$0.isFinite }) {
                throw ImportanceMatrixError.nonFinite(path: m.path, tensor: k)
            }
            importance = m
        }
        var overrides = options.overrides
        overrides.hasImportanceMatrix = importance.map { !$0.entries.isEmpty } ?? false
        let policy = QuantizationPolicy(fileType: options.fileType, model: input.facts, overrides: overrides)
        let choices = policy.choose(items.map { ($0.name, $0.dimensions, $0.type) })

        var entries: [QuantizePlanEntry] = []
        var weights: [[Float]?] = []
        for (item, choice) in zip(items, choices) {
            var w: [Float]? = nil
            let converts = choice.target != item.type
            if converts, let m = importance, let e = m.entries[item.name] {
                let expected = item.dimensions[0] * (item.dimensions.count > 2 ? item.dimensions[2] : 1)
                if e.count == expected {
                    w = e
                } else if item.name != "token_embd.weight" {
                    throw ImportanceMatrixError.sizeMismatch(
                        path: m.path, tensor: item.name, expected: expected, actual: e.count)
                }
            }
            if converts, w == nil, policy.requiresImportanceMatrix(name: item.name, target: choice.target) {
                throw QuantizeError.importanceMatrixRequired(tensor: item.name, fileType: options.fileType.description)
            }
            if converts, item.type.isQuantized, !options.allowRequantize {
                throw QuantizeError.requantizeDisabled(path: path, tensor: item.name, type: item.type.description)
            }
            if converts, !Quantizer.canEncode(choice.target) {
                throw QuantizeError.cannotEncode(tensor: item.name, type: choice.target.description)
            }
            let elements = item.dimensions.reduce(1, *)
            entries.append(
                QuantizePlanEntry(
                    name: item.name, dimensions: item.dimensions, from: item.type, to: choice.target,
                    bytesBefore: item.type.byteCount(elements: elements),
                    bytesAfter: choice.target.byteCount(elements: elements),
                    usesImportanceMatrix: w != nil, fellBack: choice.fellBack))
            weights.append(w)
        }

        // llama-quantize's metadata: the input's keys in order, then these two moved to the end.
        var metadata = input.metadata
        metadata.moveToEnd("general.quantization_version", .uint32(2))
        metadata.moveToEnd("general.file_type", .uint32(options.fileType.rawValue))
        for k in ["split.no", "split.count", "split.tensors.count"] { metadata.remove(k) }
        var kvOverrides = options.overrideKV
        if let m = importance, !m.entries.isEmpty {
            // llama-quantize stores the path as it was given on the command line.
            kvOverrides.append(
                KVOverride(
                    key: "quantize.imatrix.file", value: .string(truncated127(options.importanceMatrix!.relativePath))))
            if let d = m.datasets.first {
                kvOverrides.append(KVOverride(key: "quantize.imatrix.dataset", value: .string(truncated127(d))))
            }
            kvOverrides.append(
                KVOverride(key: "quantize.imatrix.entries_count", value: .uint32(UInt32(m.entries.count))))
            if m.chunkCount > 0 {
                kvOverrides.append(
                    KVOverride(key: "quantize.imatrix.chunks_count", value: .uint32(UInt32(m.chunkCount))))
            }
        }
        for o in kvOverrides { metadata.moveToEnd(o.key, o.value) }
        return Plan(options: options, metadata: metadata, entries: entries, weights: weights)
    }

    /// Writes every plan's file in one pass over the input's tensors.
    static func write(
        _ plans: [Plan], input: Input, progress: ([QuantizePlanEntry], Int, Int) -> Void
    ) throws -> [QuantizeResult] {
        let writers = try plans.map {
            try GGUFWriter(
                destination: $0.options.output, metadata: $0.metadata, tensors: $0.infos,
                overwrite: $0.options.overwrite)
        }
        var encoder = TensorEncoder(threads: max(1, plans.map(\.options.threads).max() ?? 1))
        let count = input.items.count
        for (i, item) in input.items.enumerated() {
            var targets: [TensorEncoder.Target] = []
            for (plan, writer) in zip(plans, writers) {
                let to = plan.entries[i].to, w = plan.weights[i]
                if to == item.type, let raw = item.raw {
                    try writer.writeTensorData(raw)
                } else if let k = targets.firstIndex(where: { $0.type == to && $0.importance == w }) {
                    targets[k].writers.append(writer)
                } else {
                    targets.append(TensorEncoder.Target(type: to, importance: w, writers: [writer]))
                }
            }
            if targets.isEmpty {
                item.rows.finished()
            } else {
                try encoder.encode(item.rows, targets: targets)
            }
            progress(plans.map { $0.entries[i] }, i, count)
        }
        for w in writers { try w.finish() }
        return try plans.map {
            QuantizeResult(
                output: $0.options.output, entries: $0.entries, fileBytes: fileSize($0.options.output), wrote: true)
        }
    }

    /// `ggml_n_dims`: trailing dimensions of 1 are dropped (at least one stays).
    static func trimmed(_ dims: [Int]) -> [Int] {
        var d = dims
        while d.count > 1, d.last == 1 { d.removeLast() }
        return d
    }

    static func modelFacts(_ kv: GGUFMetadata, path: String) throws -> QuantizationModelFacts {
        guard let arch = kv["general.architecture"]?.stringValue else {
            throw QuantizeError.missingModelKey(path: path, key: "general.architecture")
        }
        func int(_ key: String) -> Int? {
            switch kv["\(arch).\(key)"] {
            case let .array(.uint32(a))?: a.first.map(Int.init)
            case let .array(.int32(a))?: a.first.map(Int.init)
            case let v?: v.integerValue.map(Int.init)
            case nil: nil
            }
        }
        guard let layers = int("block_count") else {
            throw QuantizeError.missingModelKey(path: path, key: "\(arch).block_count")
        }
        let heads = int("attention.head_count") ?? 0
        return QuantizationModelFacts(
            architecture: arch, layerCount: layers, headCount: heads,
            headCountKV: int("attention.head_count_kv") ?? heads, expertCount: int("expert_count") ?? 0)
    }
}

/// llama-quantize copies strings into a 128-byte buffer: at most 127 bytes survive.
func truncated127(_ s: String) -> String { String(decoding: Array(s.utf8.prefix(127)), as: UTF8.self) }
