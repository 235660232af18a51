// The `general.*` metadata convert_hf_to_gguf.py derives from a model folder
// (gguf-py `Metadata.load` + the fallbacks in `ModelBase.prepare_metadata`), written
// in `Metadata.set_gguf_meta_model` order with gguf-py's value types.

import Foundation
import GGUF
import JSON

public enum ModelMetadataError: Error, Equatable, CustomStringConvertible {
    /// A file exists but could not be read.
    case unreadableFile(path: String)
    /// A file is not valid UTF-8 (Python's open(..., encoding="utf-8") fails).
    case invalidUTF8(path: String)
    /// config.json or the `--metadata` override file is not valid JSON (the converter aborts).
    case invalidJSON(path: String, reason: String)
    /// config.json / the override file / generation_config.json has a top level the converter cannot `.get` from.
    case notAnObject(path: String)
    /// The README.md front matter is not valid YAML (yaml.safe_load raises).
    case invalidYAML(path: String, reason: String)
    /// A value the converter would crash on when writing or naming (e.g. `version: 1.0` in a
    /// model card is a YAML float, and gguf-py cannot write a float as a string).
    case unsupportedValue(key: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path): "cannot read \(path)"
        case let .invalidUTF8(path): "\(path) is not valid UTF-8"
        case let .invalidJSON(path, reason): "invalid JSON in \(path): \(reason)"
        case let .notAnObject(path): "\(path) does not contain a JSON object"
        case let .invalidYAML(path, reason): "invalid YAML front matter in \(path): \(reason)"
        case let .unsupportedValue(key, reason): "unsupported metadata value for \(key): \(reason)"
        }
    }
}

/// gguf-py's `Metadata` after `Metadata.load` and the `prepare_metadata` fallbacks.
///
/// Known differences from gguf-py (all in inputs where the Python converter is unusual or fails):
/// - YAML front matter with duplicate keys is an error here (Yams rejects it; PyYAML keeps the
///   last value); YAML merge keys (`<<`) are not expanded.
/// - Where the Python converter crashes (a non-string truthy value written as a string, e.g.
///   `version: 1.0`; mixed-type or null items in `tags`/`languages`; a float `top_k`; an int
///   outside int32; a non-object override/config), `load` throws `unsupportedValue`/`notAnObject`.
///   A falsy non-string (`0`, `false`, `[]`) in a field that is only written is treated as ""
///   (skipped, like `add_string`); in `name`/`basename`/`finetune`/`version`/`size_label`,
///   which `naming_convention` formats, it throws (Python crashes for all but `size_label`).
/// - `--remote` (`remote_hf_model_id`) is not modelled; final-sigma lowercasing in `str.title()`
///   and Python's extra IGNORECASE folds (Kelvin sign, long s, dotless i) are not reproduced.
///
/// Every field is what gguf-py would hand to the writer; `nil` means "not written".
/// Empty strings are kept (they block later fallbacks, exactly like in Python) but
/// `entries()` skips them because `GGUFWriter.add_string` ignores falsy values.
public struct ModelMetadata: Equatable, Sendable {
    /// `license` from the model card: a string, or a list written joined with ",".
    public enum License: Equatable, Sendable {
        case string(String)
        case list([String])
    }

    /// One `general.base_model.{i}.*` / `general.dataset.{i}.*` entry.
    public struct Source: Equatable, Sendable {
        public var name: String?
        public var author: String?
        public var version: String?
        public var organization: String?
        public var description: String?
        public var url: String?
        public var doi: String?
        public var uuid: String?
        public var repoURL: String?

        public init(
            name: String? = nil, author: String? = nil, version: String? = nil, organization: String? = nil,
            description: String? = nil, url: String? = nil, doi: String? = nil, uuid: String? = nil,
            repoURL: String? = nil
        ) {
            self.name = name; self.author = author; self.version = version; self.organization = organization
            self.description = description; self.url = url; self.doi = doi; self.uuid = uuid; self.repoURL = repoURL
        }
    }

    // Recommended sampler parameters (general.sampling.*), already in their GGUF types.
    public var samplingSequence: String?
    public var samplingTopK: Int32?
    public var samplingTopP: Float?
    public var samplingMinP: Float?
    public var samplingXTCProbability: Float?
    public var samplingXTCThreshold: Float?
    public var samplingTemp: Float?
    public var samplingPenaltyLastN: Int32?
    public var samplingPenaltyRepeat: Float?
    public var samplingMirostat: Int32?
    public var samplingMirostatTau: Float?
    public var samplingMirostatEta: Float?

    // Authorship metadata.
    public var name: String?
    public var author: String?
    public var version: String?
    public var organization: String?
    public var finetune: String?
    public var basename: String?
    public var description: String?
    public var quantizedBy: String?
    public var sizeLabel: String?
    public var url: String?
    public var doi: String?
    public var uuid: String?
    public var repoURL: String?
    public var sourceURL: String?
    public var sourceDOI: String?
    public var sourceUUID: String?
    public var sourceRepoURL: String?
    public var license: License?
    public var licenseName: String?
    public var licenseLink: String?
    public var baseModels: [Source]?
    /// Usually strings; a card with e.g. `tags: [1, 2]` gives an INT32 array, as in gguf-py.
    public var tags: GGUFArray?
    public var languages: GGUFArray?
    public var datasets: [Source]?

    public init() {}

    // MARK: - Loading

    /// Reads the model folder like `convert_hf_to_gguf.py` does for its metadata:
    /// `Metadata.load(metadata_override, dir_model, model_name, total_params)`, then
    /// `prepare_metadata`'s fallbacks (name = directory name when still unset; size label
    /// from the parameter count when still unset and `totalParameters > 0`).
    ///
    /// Sources, first non-null wins per field: `modelName` (`--model-name`, name only) >
    /// override JSON (`--metadata`) > generation_config.json (sampling only) > README.md
    /// front matter > config.json `_name_or_path` (if it has at most one "/") > directory name.
    ///
    /// - Parameters:
    ///   - directory: the model folder. Its last path component is used like Python's
    ///     `Path.name` on `relativePath`, so pass the path as the user typed it (for ".",
    ///     Python sees an empty name).
    ///   - totalParameters: what `GGUFWriter.get_total_parameter_count()` returns as its first
    ///     value: the sum, over **every tensor queued for writing** (after all renames, splits,
    ///     merges and generated tensors such as `rope_freqs`/`rope_factors`, i.e. exactly the
    ///     tensors in the output GGUF), of the product of its shape dimensions (element count,
    ///     independent of the storage type). 0 disables the size checks and the computed label.
    ///   - sharedParameters/expertParameters/expertCount: the other three values of
    ///     `get_total_parameter_count()` for MoE models. For tensors whose name contains
    ///     "_exps." and that have ≥ 3 dims, expertParameters += elements / n_expert
    ///     (n_expert = shape[-3] in Python's row-major order, shape[-2] for ".bias"), and
    ///     expertCount = (sum of those n_expert) / (number of such tensors); everything else
    ///     goes to sharedParameters. With expertCount > 0 the computed label is
    ///     "{expertCount}x{size(shared + expert)}".
    ///   `config` is `config.json` already parsed by the caller (so a conversion reads it once); nil reads it here.
    public static func load(
        directory: URL, overrideFile: URL? = nil, modelName: String? = nil, totalParameters: Int64,
        sharedParameters: Int64 = 0, expertParameters: Int64 = 0, expertCount: Int64 = 0,
        config: JSONValue? = nil
    ) throws -> ModelMetadata {
        var w = Working()
        let dirName = pythonPathName(directory)
        var isDir: ObjCBool = false
        let dirExists = FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir) && isDir.boolValue

        let card: PythonValue = dirExists ? try loadModelCard(directory.appendingPathComponent("README.md")) : .dict([])
        let configURL = directory.appendingPathComponent("config.json")
        let hfParams: PythonValue
        if let config {
            hfParams = try configObject(PythonValue(json: config), configURL) ?? .dict([])
        } else {
            hfParams = dirExists ? try loadJSONIfFile(configURL) ?? .dict([]) : .dict([])
        }
        // load_generation_config: unreadable or invalid JSON is ignored; invalid UTF-8 is not.
        var genConfig: PythonValue = .dict([])
        let genURL = directory.appendingPathComponent("generation_config.json")
        if dirExists, isRegularFile(genURL) {
            do {
                let text = try readText(genURL)
                genConfig = (try? JSONParser.parse(Data(text.utf8))).map(PythonValue.init(json:)) ?? .dict([])
            } catch ModelMetadataError.unreadableFile {
                genConfig = .dict([])
            }
        }

        try w.applyHeuristics(card: card, hfParams: hfParams, directoryName: dirName, totalParams: totalParameters)

        if genConfig.isTruthy {
            guard case .dict = genConfig else { throw ModelMetadataError.notAnObject(path: "generation_config.json") }
            func g(_ key: String, _ current: PythonValue?) -> PythonValue? {
                genConfig.has(key) ? genConfig[key]! : current
            }
            w.samplingSequence = g("sequence", w.samplingSequence)
            w.samplingTopK = g("top_k", w.samplingTopK)
            w.samplingTopP = g("top_p", w.samplingTopP)
            w.samplingMinP = g("min_p", w.samplingMinP)
            w.samplingXTCProbability = g("xtc_probability", w.samplingXTCProbability)
            w.samplingXTCThreshold = g("xtc_threshold", w.samplingXTCThreshold)
            w.samplingTemp = g("temperature", w.samplingTemp)
            w.samplingPenaltyLastN = g("penalty_last_n", w.samplingPenaltyLastN)
            w.samplingPenaltyRepeat = g("penalty_repeat", g("repetition_penalty", w.samplingPenaltyRepeat))
            w.samplingMirostat = g("mirostat", w.samplingMirostat)
            w.samplingMirostatTau = g("mirostat_tau", w.samplingMirostatTau)
            w.samplingMirostatEta = g("mirostat_eta", w.samplingMirostatEta)
        }

        if let overrideFile, FileManager.default.fileExists(atPath: overrideFile.path, isDirectory: &isDir),
            !isDir.boolValue
        {
            let o = try loadJSON(overrideFile)
            guard case .dict = o else { throw ModelMetadataError.notAnObject(path: overrideFile.path) }
            w.applyOverride(o)
        }

        if let modelName { w.name = .str(modelName) }

        if w.name == nil || w.name == PythonValue.none { w.name = .str(dirName) }
        var result = try w.finish()
        if result.sizeLabel == nil && totalParameters > 0 {
            result.sizeLabel = ModelNaming.sizeLabel(
                total: totalParameters, shared: sharedParameters, expert: expertParameters, expertCount: expertCount)
        }
        return result
    }

    /// gguf-py `size_label(total_params, shared_params, expert_params, expert_count)`.
    public static func sizeLabel(
        totalParameters: Int64, sharedParameters: Int64 = 0, expertParameters: Int64 = 0, expertCount: Int64 = 0
    ) -> String {
        ModelNaming.sizeLabel(
            total: totalParameters, shared: sharedParameters, expert: expertParameters, expertCount: expertCount)
    }

    // MARK: - Output

    /// The general.* entries set_gguf_meta_model writes, in its order, with gguf-py's types.
    /// Empty strings and empty arrays are skipped (GGUFWriter.add_string / add_array do that).
    public func entries() -> [(String, GGUFValue)] {
        var out: [(String, GGUFValue)] = []
        func str(_ key: String, _ v: String?) { if let v, !v.isEmpty { out.append((key, .string(v))) } }
        func i32(_ key: String, _ v: Int32?) { if let v { out.append((key, .int32(v))) } }
        func f32(_ key: String, _ v: Float?) { if let v { out.append((key, .float32(v))) } }

        str("general.sampling.sequence", samplingSequence)
        i32("general.sampling.top_k", samplingTopK)
        f32("general.sampling.top_p", samplingTopP)
        f32("general.sampling.min_p", samplingMinP)
        f32("general.sampling.xtc_probability", samplingXTCProbability)
        f32("general.sampling.xtc_threshold", samplingXTCThreshold)
        f32("general.sampling.temp", samplingTemp)
        i32("general.sampling.penalty_last_n", samplingPenaltyLastN)
        f32("general.sampling.penalty_repeat", samplingPenaltyRepeat)
        i32("general.sampling.mirostat", samplingMirostat)
        f32("general.sampling.mirostat_tau", samplingMirostatTau)
        f32("general.sampling.mirostat_eta", samplingMirostatEta)

        str("general.name", name)
        str("general.author", author)
        str("general.version", version)
        str("general.organization", organization)
        str("general.finetune", finetune)
        str("general.basename", basename)
        str("general.description", description)
        str("general.quantized_by", quantizedBy)
        str("general.size_label", sizeLabel)
        switch license {
        case let .string(s): str("general.license", s)
        case let .list(l): str("general.license", l.joined(separator: ","))
        case nil: break
        }
        str("general.license.name", licenseName)
        str("general.license.link", licenseLink)
        str("general.url", url)
        str("general.doi", doi)
        str("general.uuid", uuid)
        str("general.repo_url", repoURL)
        str("general.source.url", sourceURL)
        str("general.source.doi", sourceDOI)
        str("general.source.uuid", sourceUUID)
        str("general.source.repo_url", sourceRepoURL)

        func sources(_ prefix: String, _ list: [Source]?) {
            guard let list else { return }
            out.append(("general.\(prefix).count", .uint32(UInt32(list.count))))
            for (i, s) in list.enumerated() {
                let p = "general.\(prefix).\(i)."
                str(p + "name", s.name)
                str(p + "author", s.author)
                str(p + "version", s.version)
                str(p + "organization", s.organization)
                str(p + "description", s.description)
                str(p + "url", s.url)
                str(p + "doi", s.doi)
                str(p + "uuid", s.uuid)
                str(p + "repo_url", s.repoURL)
            }
        }
        sources("base_model", baseModels)
        sources("dataset", datasets)

        if let tags, tags.count > 0 { out.append(("general.tags", .array(tags))) }
        if let languages, languages.count > 0 { out.append(("general.languages", .array(languages))) }
        return out
    }

    /// The converter's default output file name for an outtype name like "F16", "BF16", "Q8_0"
    /// (`naming_convention(name, basename, finetune, version, size_label, outtype)` + ".gguf").
    public func defaultFileName(outtype: String) -> String {
        func dashed(_ s: String) -> String { PythonString.strip(s).replacingOccurrences(of: " ", with: "-") }
        let base: String
        if let basename {
            base = dashed(basename).replacingOccurrences(of: "/", with: "-")
        } else if let name {
            base = dashed(name).replacingOccurrences(of: "/", with: "-")
        } else {
            base = "ggml-model"
        }
        var out = base
        if let sizeLabel { out += "-\(sizeLabel)" }
        if let finetune { out += "-" + dashed(finetune) }
        if let version { out += "-" + dashed(version) }
        out += "-" + dashed(outtype).uppercased()
        return out + ".gguf"
    }
}

// MARK: - Loading internals

/// Python `Path(p).name` for the path the caller gave.
private func pythonPathName(_ url: URL) -> String {
    let raw = url.relativePath.isEmpty ? url.path : url.relativePath
    let parts = raw.split(separator: "/").filter { $0 != "." }
    return parts.last.map(String.init) ?? ""
}

private func readText(_ url: URL) throws -> String {
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw ModelMetadataError.unreadableFile(path: url.path)
    }
    guard var text = String(validating: data, as: UTF8.self) else {
        throw ModelMetadataError.invalidUTF8(path: url.path)
    }
    // Python's "utf-8" codec keeps a byte order mark as U+FEFF (so a BOM README has no front
    // matter and a BOM JSON file is invalid); make sure Swift did not drop it.
    if data.starts(with: [0xEF, 0xBB, 0xBF]), text.unicodeScalars.first != "\u{FEFF}" { text = "\u{FEFF}" + text }
    return text
}

private func isRegularFile(_ url: URL) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && !isDir.boolValue
}

private func loadJSON(_ url: URL) throws -> PythonValue {
    let text = try readText(url)
    JSONReads.record(url)
    do { return PythonValue(json: try JSONParser.parse(Data(text.utf8))) } catch {
        throw ModelMetadataError.invalidJSON(path: url.path, reason: "\(error.reason) at byte \(error.offset)")
    }
}

/// config.json: missing → nil; JSON null → nil (Python skips `None`); non-object → error.
private func loadJSONIfFile(_ url: URL) throws -> PythonValue? {
    guard isRegularFile(url) else { return nil }
    _ = try readText(url)  // invalid UTF-8 is an error of its own
    let document: JSONValue?
    do { document = try JSONReads.read(url) } catch {
        throw ModelMetadataError.invalidJSON(path: url.path, reason: "\(error.reason) at byte \(error.offset)")
    }
    return try document.flatMap { try configObject(PythonValue(json: $0), url) }
}

/// A parsed config.json as the metadata reads it: null → nil, an object as it is, anything else an error.
private func configObject(_ v: PythonValue, _ url: URL) throws -> PythonValue? {
    if v.isNone { return nil }
    guard case .dict = v else { throw ModelMetadataError.notAnObject(path: url.path) }
    return v
}

/// `Metadata.load_model_card`: YAML front matter between a first line "---" and the next "---".
private func loadModelCard(_ url: URL) throws -> PythonValue {
    guard isRegularFile(url) else { return .dict([]) }
    let content = try readText(url)
    let lines = PythonString.splitLines(content)
    guard let first = lines.first, first == "---" else { return .dict([]) }
    var yamlLines: [String] = []
    for line in lines.dropFirst() {
        if line == "---" { break }
        yamlLines.append(line)
    }
    var yaml = yamlLines.joined(separator: "\n") + "\n"
    yaml = yaml.replacingOccurrences(of: "- no\n", with: "- \"no\"\n")
    yaml = yaml.replacingOccurrences(of: "\t", with: "  ")
    let data: PythonValue
    do { data = try ModelCardYAML.load(yaml) } catch {
        throw ModelMetadataError.invalidYAML(path: url.path, reason: "\(error)")
    }
    if case .dict = data { return data }
    return .dict([])
}

/// The Python `Metadata` object while it is being filled: raw Python-like values.
private struct Working {
    var samplingSequence: PythonValue?, samplingTopK: PythonValue?, samplingTopP: PythonValue?,
        samplingMinP: PythonValue?
    var samplingXTCProbability: PythonValue?, samplingXTCThreshold: PythonValue?, samplingTemp: PythonValue?
    var samplingPenaltyLastN: PythonValue?, samplingPenaltyRepeat: PythonValue?, samplingMirostat: PythonValue?
    var samplingMirostatTau: PythonValue?, samplingMirostatEta: PythonValue?
    var name: PythonValue?, author: PythonValue?, version: PythonValue?, organization: PythonValue?
    var finetune: PythonValue?, basename: PythonValue?, description: PythonValue?, quantizedBy: PythonValue?
    var sizeLabel: PythonValue?, url: PythonValue?, doi: PythonValue?, uuid: PythonValue?, repoURL: PythonValue?
    var sourceURL: PythonValue?, sourceDOI: PythonValue?, sourceUUID: PythonValue?, sourceRepoURL: PythonValue?
    var license: PythonValue?, licenseName: PythonValue?, licenseLink: PythonValue?
    var baseModels: PythonValue?, tags: PythonValue?, languages: PythonValue?, datasets: PythonValue?

    // `nil` and `.none` both mean Python None; normalise to test "is None".
    static func isNone(_ v: PythonValue?) -> Bool { v == nil || v == PythonValue.none }

    mutating func applyHeuristics(
        card: PythonValue, hfParams: PythonValue, directoryName: String, totalParams: Int64
    ) throws {
        func use(_ field: WritableKeyPath<Working, PythonValue?>, _ key: String) {
            if card.has(key), Working.isNone(self[keyPath: field]) { self[keyPath: field] = card[key] }
        }
        func useArray(_ field: WritableKeyPath<Working, PythonValue?>, _ key: String) {
            guard let v = card[key], !v.isNone else { return }
            var current: [PythonValue] = []
            if case let .list(l)? = self[keyPath: field] { current = l }
            switch v {
            case .str: current.append(v)
            case let .list(l): current.append(contentsOf: l)
            default: break
            }
            self[keyPath: field] = .list(current)
        }

        use(\.name, "name"); use(\.author, "author"); use(\.version, "version"); use(\.organization, "organization")
        use(\.description, "description"); use(\.finetune, "finetune"); use(\.basename, "basename")
        use(\.sizeLabel, "size_label"); use(\.sourceURL, "url"); use(\.sourceDOI, "doi"); use(\.sourceUUID, "uuid")
        use(\.sourceRepoURL, "repo_url")

        use(\.name, "model_name"); use(\.author, "model_author"); use(\.version, "model_version")
        use(\.organization, "model_organization"); use(\.description, "model_description")
        use(\.finetune, "model_finetune"); use(\.basename, "model_basename"); use(\.sizeLabel, "model_size_label")
        use(\.sourceURL, "model_url"); use(\.sourceDOI, "model_doi"); use(\.sourceUUID, "model_uuid")
        use(\.sourceRepoURL, "model_repo_url")

        use(\.name, "model_name"); use(\.author, "model_creator"); use(\.basename, "model_type")

        func sourceList(_ keys: [String], urlPrefixes: [String], into field: WritableKeyPath<Working, PythonValue?>) {
            guard keys.contains(where: card.has) else { return }
            var value: PythonValue = .none
            for k in keys where card.has(k) { value = card[k]!; break }
            var ids: [PythonValue] = []
            switch value {
            case .str: ids = [value]
            case let .list(l): ids = l
            default: break
            }
            var list: [PythonValue] = []
            if case let .list(l)? = self[keyPath: field] { list = l }
            for id in ids {
                var entry: [(PythonValue, PythonValue)] = []
                func set(_ k: String, _ v: String) { entry.append((.str(k), .str(v))) }
                switch id {
                case let .str(s):
                    if urlPrefixes.contains(where: s.hasPrefix) {
                        set("repo_url", s)
                        if s.contains("huggingface.co"), let hfID = huggingFaceID(inURL: s) {
                            let c = ModelNaming.modelIDComponents(hfID, totalParams: totalParams)
                            if let n = c.fullName { set("name", ModelNaming.idToTitle(n)) }
                            if let o = c.organization { set("organization", ModelNaming.idToTitle(o)) }
                            if let v = c.version { set("version", v) }
                        }
                    } else {
                        let c = ModelNaming.modelIDComponents(s, totalParams: totalParams)
                        if let n = c.fullName { set("name", ModelNaming.idToTitle(n)) }
                        if let o = c.organization { set("organization", ModelNaming.idToTitle(o)) }
                        if let v = c.version { set("version", v) }
                        if let o = c.organization, let n = c.fullName {
                            set("repo_url", "https://huggingface.co/\(o)/\(n)")
                        }
                    }
                    list.append(PythonValue.makeDict(entry))
                case .dict:
                    list.append(id)
                default:
                    list.append(.dict([]))
                }
            }
            self[keyPath: field] = .list(list)
        }
        let prefixes = ["http://", "https://", "ssh://"]
        sourceList(["base_model", "base_models", "base_model_sources"], urlPrefixes: prefixes, into: \.baseModels)
        sourceList(["datasets", "dataset", "dataset_sources"], urlPrefixes: prefixes, into: \.datasets)

        use(\.license, "license"); use(\.licenseName, "license_name"); use(\.licenseLink, "license_link")
        useArray(\.tags, "tags"); useArray(\.tags, "pipeline_tag")
        useArray(\.languages, "languages"); useArray(\.languages, "language")

        func fill(from modelID: String) {
            let c = ModelNaming.modelIDComponents(modelID, totalParams: totalParams)
            if Working.isNone(name), let n = c.fullName { name = .str(ModelNaming.idToTitle(n)) }
            if Working.isNone(organization), let o = c.organization { organization = .str(ModelNaming.idToTitle(o)) }
            if Working.isNone(basename), let b = c.basename { basename = .str(b) }
            if Working.isNone(finetune), let f = c.finetune { finetune = .str(f) }
            if Working.isNone(version), let v = c.version { version = .str(v) }
            if Working.isNone(sizeLabel), let s = c.sizeLabel { sizeLabel = .str(s) }
        }

        if let nameOrPath = hfParams["_name_or_path"], !nameOrPath.isNone {
            guard case let .str(s) = nameOrPath else {
                throw ModelMetadataError.unsupportedValue(
                    key: "_name_or_path", reason: "expected a string, got \(nameOrPath.pythonTypeName)")
            }
            if s.filter({ $0 == "/" }).count <= 1 { fill(from: s) }
        }
        fill(from: directoryName)
    }

    mutating func applyOverride(_ o: PythonValue) {
        func ov(_ field: WritableKeyPath<Working, PythonValue?>, _ key: String) {
            if o.has(key) { self[keyPath: field] = o[key] }
        }
        ov(\.samplingSequence, "general.sampling.sequence")
        ov(\.samplingTopK, "general.sampling.top_k")
        ov(\.samplingTopP, "general.sampling.top_p")
        ov(\.samplingMinP, "general.sampling.min_p")
        ov(\.samplingXTCProbability, "general.sampling.xtc_probability")
        ov(\.samplingXTCThreshold, "general.sampling.xtc_threshold")
        ov(\.samplingTemp, "general.sampling.temp")
        ov(\.samplingPenaltyLastN, "general.sampling.penalty_last_n")
        ov(\.samplingPenaltyRepeat, "general.sampling.penalty_repeat")
        ov(\.samplingMirostat, "general.sampling.mirostat")
        ov(\.samplingMirostatTau, "general.sampling.mirostat_tau")
        ov(\.samplingMirostatEta, "general.sampling.mirostat_eta")
        ov(\.name, "general.name"); ov(\.author, "general.author"); ov(\.version, "general.version")
        ov(\.organization, "general.organization"); ov(\.finetune, "general.finetune");
        ov(\.basename, "general.basename")
        ov(\.description, "general.description"); ov(\.quantizedBy, "general.quantized_by")
        ov(\.sizeLabel, "general.size_label"); ov(\.licenseName, "general.license.name");
        ov(\.licenseLink, "general.license.link")
        ov(\.url, "general.url"); ov(\.doi, "general.doi"); ov(\.uuid, "general.uuid");
        ov(\.repoURL, "general.repo_url")
        ov(\.sourceURL, "general.source.url"); ov(\.sourceDOI, "general.source.doi");
        ov(\.sourceUUID, "general.source.uuid")
        ov(\.sourceRepoURL, "general.source.repo_url")
        ov(\.baseModels, "general.base_models")
        ov(\.datasets, "general.datasets")
        ov(\.tags, "general.tags")
        ov(\.languages, "general.languages")
        // Note: the override has no key for `license` (gguf-py never reads one).
    }

    // MARK: Conversion to GGUF-typed fields (where gguf-py's writer would fail, we throw)

    /// A value passed to `add_string`: falsy values are skipped; a truthy non-string crashes the writer.
    /// `naming` marks fields `naming_convention` calls `.strip()` on, where any non-string crashes.
    static func string(_ v: PythonValue?, _ key: String, naming: Bool = false) throws -> String? {
        guard let v, !v.isNone else { return nil }
        if case let .str(s) = v { return s }
        if v.isTruthy || naming {
            throw ModelMetadataError.unsupportedValue(key: key, reason: "expected a string, got \(v.pythonTypeName)")
        }
        return ""
    }

    static func int32(_ v: PythonValue?, _ key: String) throws -> Int32? {
        guard let v, !v.isNone else { return nil }
        switch v {
        case let .bool(b): return b ? 1 : 0
        case let .int(i): if let x = Int32(exactly: i) { return x }
        default: break
        }
        throw ModelMetadataError.unsupportedValue(key: key, reason: "not an int32: \(v.pythonTypeName)")
    }

    static func float32(_ v: PythonValue?, _ key: String) throws -> Float? {
        guard let v, !v.isNone else { return nil }
        let d: Double
        switch v {
        case let .bool(b): d = b ? 1 : 0
        case let .int(i): d = Double(i)
        case let .float(x): d = x
        default: throw ModelMetadataError.unsupportedValue(key: key, reason: "not a float: \(v.pythonTypeName)")
        }
        let f = Float(d)
        if f.isInfinite && !d.isInfinite {
            throw ModelMetadataError.unsupportedValue(key: key, reason: "float too large to pack with f format")
        }
        return f
    }

    /// `add_array`: element type from the first item, all items must share it.
    static func array(_ v: PythonValue?, _ key: String) throws -> GGUFArray? {
        guard let v, !v.isNone else { return nil }
        let items: [PythonValue]
        switch v {
        case let .list(l): items = l
        case let .str(s): items = s.unicodeScalars.map { .str(String($0)) }
        case let .dict(d): if d.isEmpty { items = [] } else { fallthrough }
        default: throw ModelMetadataError.unsupportedValue(key: key, reason: "expected a list, got \(v.pythonTypeName)")
        }
        guard let first = items.first else { return .string([]) }
        let bad = ModelMetadataError.unsupportedValue(
            key: key, reason: "all items in a GGUF array must have the same type (str, int, float or bool)")
        switch first {
        case .str:
            return .string(
                try items.map {
                    guard case let .str(s) = $0 else { throw bad }; return s
                })
        case .bool:
            return .bool(
                try items.map {
                    guard case let .bool(b) = $0 else { throw bad }; return b
                })
        case .int:
            return .int32(
                try items.map {
                    guard case let .int(i) = $0, let x = Int32(exactly: i) else { throw bad }; return x
                })
        case .float:
            return .float32(
                try items.map {
                    guard case let .float(d) = $0 else { throw bad }
                    let f = Float(d)
                    if f.isInfinite && !d.isInfinite { throw bad }
                    return f
                })
        default: throw bad
        }
    }

    static func sources(_ v: PythonValue?, _ key: String) throws -> [ModelMetadata.Source]? {
        guard let v, !v.isNone else { return nil }
        let items: [PythonValue]
        switch v {
        case let .list(l): items = l
        case let .str(s): items = s.unicodeScalars.map { .str(String($0)) }
        case let .dict(d): items = d.map(\.key)
        default: throw ModelMetadataError.unsupportedValue(key: key, reason: "expected a list, got \(v.pythonTypeName)")
        }
        let fields = ["name", "author", "version", "organization", "description", "url", "doi", "uuid", "repo_url"]
        return try items.enumerated().map { i, item in
            let k = "\(key).\(i)"
            switch item {
            case .dict:
                var s = ModelMetadata.Source()
                s.name = try string(item["name"], k + ".name")
                s.author = try string(item["author"], k + ".author")
                s.version = try string(item["version"], k + ".version")
                s.organization = try string(item["organization"], k + ".organization")
                s.description = try string(item["description"], k + ".description")
                s.url = try string(item["url"], k + ".url")
                s.doi = try string(item["doi"], k + ".doi")
                s.uuid = try string(item["uuid"], k + ".uuid")
                s.repoURL = try string(item["repo_url"], k + ".repo_url")
                return s
            case let .str(text):
                // Python: `"name" in entry` is a substring test, then entry["name"] fails.
                if fields.contains(where: text.contains) {
                    throw ModelMetadataError.unsupportedValue(key: k, reason: "expected a dict, got str")
                }
                return ModelMetadata.Source()
            case let .list(l):
                if l.contains(where: { fields.map(PythonValue.str).contains($0) }) {
                    throw ModelMetadataError.unsupportedValue(key: k, reason: "expected a dict, got list")
                }
                return ModelMetadata.Source()
            default:
                throw ModelMetadataError.unsupportedValue(key: k, reason: "expected a dict, got \(item.pythonTypeName)")
            }
        }
    }

    func finish() throws -> ModelMetadata {
        var m = ModelMetadata()
        typealias W = Working
        m.samplingSequence = try W.string(samplingSequence, "general.sampling.sequence")
        m.samplingTopK = try W.int32(samplingTopK, "general.sampling.top_k")
        m.samplingTopP = try W.float32(samplingTopP, "general.sampling.top_p")
        m.samplingMinP = try W.float32(samplingMinP, "general.sampling.min_p")
        m.samplingXTCProbability = try W.float32(samplingXTCProbability, "general.sampling.xtc_probability")
        m.samplingXTCThreshold = try W.float32(samplingXTCThreshold, "general.sampling.xtc_threshold")
        m.samplingTemp = try W.float32(samplingTemp, "general.sampling.temp")
        m.samplingPenaltyLastN = try W.int32(samplingPenaltyLastN, "general.sampling.penalty_last_n")
        m.samplingPenaltyRepeat = try W.float32(samplingPenaltyRepeat, "general.sampling.penalty_repeat")
        m.samplingMirostat = try W.int32(samplingMirostat, "general.sampling.mirostat")
        m.samplingMirostatTau = try W.float32(samplingMirostatTau, "general.sampling.mirostat_tau")
        m.samplingMirostatEta = try W.float32(samplingMirostatEta, "general.sampling.mirostat_eta")

        let basenameIsNone = W.isNone(basename)
        m.name = try W.string(name, "general.name", naming: basenameIsNone)
        m.author = try W.string(author, "general.author")
        m.version = try W.string(version, "general.version", naming: true)
        m.organization = try W.string(organization, "general.organization")
        m.finetune = try W.string(finetune, "general.finetune", naming: true)
        m.basename = try W.string(basename, "general.basename", naming: true)
        m.description = try W.string(description, "general.description")
        m.quantizedBy = try W.string(quantizedBy, "general.quantized_by")
        m.sizeLabel = try W.string(sizeLabel, "general.size_label", naming: true)
        m.url = try W.string(url, "general.url")
        m.doi = try W.string(doi, "general.doi")
        m.uuid = try W.string(uuid, "general.uuid")
        m.repoURL = try W.string(repoURL, "general.repo_url")
        m.sourceURL = try W.string(sourceURL, "general.source.url")
        m.sourceDOI = try W.string(sourceDOI, "general.source.doi")
        m.sourceUUID = try W.string(sourceUUID, "general.source.uuid")
        m.sourceRepoURL = try W.string(sourceRepoURL, "general.source.repo_url")
        if let license, !license.isNone {
            if case let .list(l) = license {
                m.license = .list(
                    try l.map {
                        guard case let .str(s) = $0 else {
                            throw ModelMetadataError.unsupportedValue(
                                key: "general.license", reason: "list items must be strings")
                        }
                        return s
                    })
            } else {
                m.license = .string(try W.string(license, "general.license") ?? "")
            }
        }
        m.licenseName = try W.string(licenseName, "general.license.name")
        m.licenseLink = try W.string(licenseLink, "general.license.link")
        m.baseModels = try W.sources(baseModels, "general.base_model")
        m.datasets = try W.sources(datasets, "general.dataset")
        m.tags = try W.array(tags, "general.tags")
        m.languages = try W.array(languages, "general.languages")
        return m
    }
}

/// `re.match(r"https?://huggingface.co/([^/]+/[^/]+)$", url).group(1)`.
private func huggingFaceID(inURL s: String) -> String? {
    var u = Array(s.unicodeScalars)[...]
    if PythonString.string(u.prefix(7)) == "http://" {
        u = u.dropFirst(7)
    } else if PythonString.string(u.prefix(8)) == "https://" {
        u = u.dropFirst(8)
    } else {
        return nil
    }
    let host = Array("huggingface".unicodeScalars)
    guard u.count > 15, Array(u.prefix(11)) == host else { return nil }
    let dot = u[u.startIndex + 11]
    guard dot != "\n", Array(u[(u.startIndex + 12)..<(u.startIndex + 15)]) == ["c", "o", "/"] else { return nil }
    let rest = u.dropFirst(15)
    let pieces = rest.split(separator: "/", omittingEmptySubsequences: false)
    guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty else { return nil }
    // `$` may also match before a final "\n"; the greedy groups then keep it, so the text is the same.
    return PythonString.string(rest)
}
