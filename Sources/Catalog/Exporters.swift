import Foundation
import JSON

/// The files runtimes read today, written beside `catalog.json`:
///
/// - `llama-server.ini` — a models preset for `llama-server --models-preset` (router mode): a section
///   `<alias>:<variant>` per published variant and a section `<alias>` for the recommended one, each with
///   the model's absolute path, the context size and `jinja = true`;
/// - `ollama/<alias>/<variant>/Modelfile` — `FROM` the file, the context and stop tokens as `PARAMETER`s;
/// - `lmstudio/<alias>/model.yaml` — LM Studio's virtual model: one base entry per variant, with the memory
///   need, context length, tool use and reasoning;
/// - `foundry-catalog.json` — Foundry Local's catalog service response (`indexEntitiesResponse`).
public enum Exporters {
    /// (path relative to the catalog, contents)
    public static func all(_ index: CatalogIndex, catalog: URL, localFiles: [String: URL]) -> [(String, String)] {
        var out: [(String, String)] = [("llama-server.ini", llamaServerPreset(index, localFiles: localFiles))]
        for m in index.models {
            for v in m.variants {
                if let file = localFiles[v.id] {
                    out.append(("ollama/\(m.alias)/\(v.name)/Modelfile", ollamaModelfile(m, v, file: file)))
                }
            }
            out.append(("lmstudio/\(m.alias)/model.yaml", lmStudioModel(m)))
        }
        out.append(("foundry-catalog.json", foundryCatalog(index)))
        return out
    }

    /// Where a variant's file is on this machine: placed in the catalog, or the build's file under --base-url.
    static func path(_ v: CatalogIndex.Variant, _ localFiles: [String: URL]) -> String? { localFiles[v.id]?.path }

    public static func llamaServerPreset(_ index: CatalogIndex, localFiles: [String: URL]) -> String {
        var s = "; llama-server --models-preset llama-server.ini (written by kiln catalog build)\nversion = 1\n"
        var used: Set<String> = []
        for m in index.models {
            func section(_ name: String, _ v: CatalogIndex.Variant) {
                guard let file = path(v, localFiles) else { return }
                guard used.insert(name).inserted else {
                    s += "\n; \(v.id) is not listed: llama-server would name it \(name), as another variant\n"
                    return
                }
                if name != v.id && name != m.alias { s += "\n; \(v.id): llama-server lists this tag as \(name)" }
                s += "\n[\(name)]\nmodel = \(file)\nc = \(m.contextLength > 0 ? m.contextLength : 4096)\njinja = true\n"
            }
            if let r = m.variants.first(where: { $0.id == m.recommended }) { section(m.alias, r) }
            for v in m.variants { section(llamaServerName(v), v) }
        }
        return s
    }

    /// The model name llama-server's router gives the preset section `<alias>:<variant>`: it upper-cases the
    /// tag after the last `:` and keeps only its last part after a `-` or `.` (`canonical_tag` in
    /// `common/preset.cpp`), so `Q4_K_M` stays and `q4_k_m-embed-q8` becomes `Q8`.
    public static func llamaServerName(_ v: CatalogIndex.Variant) -> String {
        let tag = v.name.uppercased()
        var last = tag[...]
        if let cut = tag.lastIndex(where: { $0 == "-" || $0 == "." }) {
            let suffix = tag[tag.index(after: cut)...]
            if !suffix.isEmpty, suffix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { last = suffix }
        }
        return "\(v.alias):\(last)"
    }

    /// Ollama's Modelfile syntax: instructions one per line; strings with spaces or quotes in double quotes
    /// with `\"` and `\\` escaped.
    public static func ollamaModelfile(_ m: CatalogIndex.Model, _ v: CatalogIndex.Variant, file: URL) -> String {
        func quoted(_ x: String) -> String {
            "\"" + x.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var s = "# \(m.displayName), \(v.name) (kiln catalog build)\nFROM \(file.path)\n"
        if m.contextLength > 0 { s += "PARAMETER num_ctx \(m.contextLength)\n" }
        for stop in m.stopTokens { s += "PARAMETER stop \(quoted(stop))\n" }
        if let license = m.license { s += "LICENSE \(quoted(license))\n" }
        return s
    }

    public static func lmStudioModel(_ m: CatalogIndex.Model) -> String {
        func q(_ x: String) -> String { (try? JSONOutput.line(x)) ?? "\"\"" }
        let publisher = (m.publisher ?? "local").lowercased().replacingOccurrences(of: " ", with: "-")
        let (user, repo): (String, String)
        if m.source.hasPrefix("hf:"), let slash = m.source.dropFirst(3).firstIndex(of: "/") {
            user = String(m.source.dropFirst(3)[..<slash])
            repo = String(m.source.dropFirst(3)[m.source.dropFirst(3).index(after: slash)...])
        } else {
            (user, repo) = (publisher, m.alias)
        }
        var s = "# LM Studio virtual model (modelyaml.org), written by kiln catalog build\n"
        s += "model: \(q("\(publisher)/\(m.alias)"))\nbase:\n"
        for v in m.variants {
            s += "  - key: \(q("\(publisher)/\(m.alias)-\(v.name.lowercased())-gguf"))\n"
            s += "    sources:\n      - type: huggingface\n        user: \(q(user))\n        repo: \(q(repo))\n"
        }
        s += "metadataOverrides:\n  domain: llm\n  architectures:\n    - \(q(m.architecture))\n"
        s += "  compatibilityTypes:\n    - gguf\n"
        s += "  paramsStrings:\n    - \(q(parameterString(m.parameterCount)))\n"
        let minimum = m.variants.map(\.requirements.minMemoryBytes).min() ?? 0
        s += "  minMemoryUsageBytes: \(minimum)\n"
        if m.contextLength > 0 { s += "  contextLengths:\n    - \(m.contextLength)\n" }
        s += "  reasoning: \(m.capabilities.supportsReasoning)\n"
        s += "  trainedForToolUse: \(m.capabilities.supportsToolCalling)\n"
        s += "  vision: false\n"
        if m.contextLength > 0 {
            s +=
                "config:\n  load:\n    fields:\n      - key: llm.load.contextLength\n        value: \(m.contextLength)\n"
        }
        return s
    }

    /// `135M`, `1.2B`.
    static func parameterString(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.1fB", Double(n) / 1e9) }
        return "\(Int((Double(n) / 1e6).rounded()))M"
    }

    /// Foundry Local's catalog service response shape, one entry per variant.
    public static func foundryCatalog(_ index: CatalogIndex) -> String {
        var entries: [JSONValue] = []
        for m in index.models {
            for v in m.variants {
                var tags: [(String, JSONValue)] = [
                    ("alias", .string(m.alias)), ("foundryLocal", .string("")),
                    ("task", .string(m.task ?? "chat-completion")), ("license", .string(m.license ?? "")),
                    ("licenseDescription", .string(m.license ?? "")),
                    ("supportsToolCalling", .string(m.capabilities.supportsToolCalling ? "true" : "false")),
                    ("supportsReasoning", .string(m.capabilities.supportsReasoning ? "true" : "false")),
                    ("maxOutputTokens", .string("\(m.contextLength)"))
                ]
                if let p = m.promptTemplate {
                    let encoded = (try? JSONOutput.line(p)) ?? "{}"
                    tags.append(("promptTemplate", .string(encoded)))
                }
                for (k, value) in [
                    ("toolCallStart", m.capabilities.toolCallStart), ("toolCallEnd", m.capabilities.toolCallEnd),
                    ("reasoningStart", m.capabilities.reasoningStart), ("reasoningEnd", m.capabilities.reasoningEnd)
                ] {
                    if let value { tags.append((k, .string(value))) }
                }
                let entry: JSONValue = .object([
                    ("assetId", .string("kiln://\(v.id)")), ("entityId", .string(v.id)),
                    (
                        "annotations",
                        .object([
                            ("tags", .object(tags)),
                            (
                                "systemCatalogData",
                                .object([
                                    ("publisher", .string(m.publisher ?? "")),
                                    ("displayName", .string(v.displayName)),
                                    ("maxOutputTokens", .int(m.contextLength)),
                                    ("inferenceTasks", .array([.string(m.task ?? "chat-completion")])),
                                    ("license", .string(m.license ?? "")),
                                    ("textContextWindow", .int(m.contextLength))
                                ])
                            )
                        ])
                    ),
                    (
                        "properties",
                        .object([
                            ("id", .string(v.id)), ("name", .string("\(m.alias)-\(v.name)")),
                            ("version", .int(v.version)), ("uri", .string(v.uri)),
                            (
                                "variantInfo",
                                .object([
                                    ("parents", .array([.object([("assetId", .string("kiln://\(m.alias)"))])])),
                                    (
                                        "variantMetadata",
                                        .object([
                                            ("modelType", .string(v.modelType)), ("device", .string("cpu")),
                                            ("executionProvider", .string(v.runtime.executionProvider)),
                                            ("fileSizeBytes", .int(v.files[0].size))
                                        ])
                                    )
                                ])
                            )
                        ])
                    )
                ])
                entries.append(entry)
            }
        }
        let response: JSONValue = .object([
            (
                "indexEntitiesResponse",
                .object([
                    ("totalCount", .int(entries.count)), ("value", .array(entries)), ("nextSkip", .null),
                    ("continuationToken", .null)
                ])
            )
        ])
        return ((try? JSONOutput.line(response)) ?? "{}") + "\n"
    }
}
