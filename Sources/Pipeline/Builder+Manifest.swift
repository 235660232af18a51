import Catalog
import FileAccess
import Foundation
import JSON

extension Builder {
    /// Assembles the manifest from the node records, applies the gates, and writes `manifest.json`,
    /// `report.md` and one in-toto Statement per file. Cheap: no file is read again.
    func writeManifest(_ k: Keys, facts: ModelFacts) throws -> Manifest {
        let started = Date()
        let r = recipe
        var m = Manifest(
            alias: alias, displayName: r.displayName ?? facts.name ?? alias, tasks: r.tasks, model: facts.model,
            tokenizer: facts.tokenizer,
            source: Manifest.Source(
                kind: loaded.source.kind, location: loaded.source.location, revision: loaded.source.revision,
                files: k.sourceFiles),
            builder: Manifest.Builder(name: "kiln", version: options.version),
            recipe: Manifest.Recipe(file: loaded.file.lastPathComponent, sha256: loaded.sha256), variants: [])
        m.publisher = r.publisher ?? facts.organization
        m.license = r.license ?? facts.license
        m.description = r.description ?? facts.description
        m.chatTemplate = facts.chatTemplate
        if let key = k.imatrix {
            var im = Manifest.Imatrix(
                file: imatrixFileName, sha256: "", text: nil, textSHA256: nil, chunks: nil, ctx: nil)
            switch loaded.imatrix {
            case let .text(u)?:
                im.sha256 = record(key)?.outputs.first?.sha256 ?? ""
                im.text = u.lastPathComponent
                im.textSHA256 = k.imatrixTextSHA
                im.ctx = r.imatrixCtx
                im.chunks = r.imatrixChunks
            case let .file(u)?:
                im.file = u.lastPathComponent
                im.sha256 = k.imatrixFileSHA ?? ""
            case nil: break
            }
            m.imatrix = im
        }
        let contexts = Array(Set([facts.model.contextLength, 4096].filter { $0 > 0 })).sorted()
        var referencePPL: Double?, tokens = 0, chunks = 0
        for s in specs {
            guard let made = record(k.variant[s.name]!), let out = made.outputs.first, let v = made.variant else {
                continue
            }
            let measured = k.verify[s.name].flatMap { record($0)?.measurement }
            var gates: [Manifest.Gate] = []
            if let q = measured?.quality, let g = r.verify {
                referencePPL = measured?.referencePPL
                tokens = measured?.tokens ?? 0
                chunks = q.chunks
                if let limit = g.maxMeanKLD {
                    gates.append(
                        Manifest.Gate(
                            gate: "max_mean_kld", limit: format(limit), value: format(q.meanKLD),
                            passed: q.meanKLD <= limit))
                }
                if let limit = g.minSameTopP {
                    gates.append(
                        Manifest.Gate(
                            gate: "min_same_top_p", limit: format(limit), value: format(q.sameTopPPercent),
                            passed: q.sameTopPPercent >= limit))
                }
            }
            if let gen = measured?.generation, let expect = gen.expect {
                gates.append(Manifest.Gate(gate: "expect", limit: expect, value: gen.reply, passed: gen.passed))
            }
            let failed = gates.filter { !$0.passed }.map { g in
                switch g.gate {
                case "max_mean_kld": "mean KLD \(g.value) is above max_mean_kld \(g.limit)"
                case "min_same_top_p": "same top p \(g.value)% is below min_same_top_p \(g.limit)%"
                default: "the reply does not contain '\(g.limit)'"
                }
            }
            let provenance = "\(s.fileName).intoto.json"
            m.variants.append(
                Manifest.Variant(
                    name: s.name, id: "\(alias):\(s.name)", status: failed.isEmpty ? .published : .rejected,
                    rejectedBecause: failed, file: s.fileName, fileType: v.fileType, bytes: out.bytes,
                    sha256: out.sha256,
                    bitsPerWeight: v.elements > 0
                        ? (Double(v.tensorBytes) * 8 / Double(v.elements) * 1e4).rounded() / 1e4 : 0,
                    tensorTypes: v.tensorTypes, tensorTypeMapSHA256: v.tensorTypeMapSHA256, key: k.variant[s.name]!,
                    memory: MemoryEstimate.estimate(
                        facts: facts, weightsBytes: v.tensorBytes, repackBytes: v.repackBytes ?? 0, contexts: contexts),
                    quality: measured?.quality, generation: measured?.generation, gates: gates,
                    provenance: provenance))
            try AtomicOutputFile.write(
                JSONOutput.prettyData(statement(file: s.fileName, sha256: out.sha256, k: k)),
                to: folder.appendingPathComponent(provenance))
        }
        if let g = r.verify, let text = loaded.verifyText, let ppl = referencePPL {
            m.verification = Manifest.Verification(
                text: text.lastPathComponent, textSHA256: k.verifyTextSHA ?? "", ctx: g.ctx, chunks: chunks,
                tokens: tokens, referencePPL: ppl,
                gates: Manifest.Gates(maxMeanKLD: g.maxMeanKLD, minSameTopPPercent: g.minSameTopP), prompt: g.prompt,
                expect: g.expect)
        }
        try AtomicOutputFile.write(JSONOutput.prettyData(m), to: folder.appendingPathComponent("manifest.json"))
        try AtomicOutputFile.write(Data(report(m, k: k).utf8), to: folder.appendingPathComponent("report.md"))
        ran += 1
        emit(
            .node(
                .init(
                    alias: alias, stage: "manifest", variant: nil, key: k.manifest, action: "run",
                    seconds: Date().timeIntervalSince(started))))
        return m
    }

    func format(_ x: Double) -> String { String(format: "%.6g", x) }

    /// An in-toto v1 Statement with a SLSA v1 provenance predicate: the file and its digest, built from the
    /// source files, the recipe and the importance matrix by this Kiln.
    func statement(file: String, sha256: String, k: Keys) -> JSONValue {
        var dependencies: [JSONValue] = k.sourceFiles.map { f in
            .object([
                ("uri", .string("\(loaded.source.location)/\(f.path)")),
                ("digest", .object([("sha256", .string(f.sha256))]))
            ])
        }
        dependencies.append(
            .object([
                ("uri", .string("recipe:\(loaded.file.lastPathComponent)")),
                ("digest", .object([("sha256", .string(loaded.sha256))]))
            ]))
        if let sha = k.imatrixTextSHA ?? k.imatrixFileSHA, let name = recipe.imatrix {
            dependencies.append(
                .object([
                    ("uri", .string("imatrix:\((name as NSString).lastPathComponent)")),
                    ("digest", .object([("sha256", .string(sha))]))
                ]))
        }
        var external: [(String, JSONValue)] = [
            ("recipe", .string(loaded.file.lastPathComponent)), ("alias", .string(alias)),
            ("source", .string(loaded.source.location))
        ]
        if let rev = loaded.source.revision { external.append(("revision", .string(rev))) }
        return .object([
            ("_type", .string("https://in-toto.io/Statement/v1")),
            (
                "subject",
                .array([.object([("name", .string(file)), ("digest", .object([("sha256", .string(sha256))]))])])
            ),
            ("predicateType", .string("https://slsa.dev/provenance/v1")),
            (
                "predicate",
                .object([
                    (
                        "buildDefinition",
                        .object([
                            ("buildType", .string("https://github.com/kiln/kiln/build@v1")),
                            ("externalParameters", .object(external)),
                            ("resolvedDependencies", .array(dependencies))
                        ])
                    ),
                    (
                        "runDetails",
                        .object([
                            (
                                "builder",
                                .object([
                                    ("id", .string("kiln")), ("version", .object([("kiln", .string(options.version))]))
                                ])
                            )
                        ])
                    )
                ])
            )
        ])
    }

    /// The human-readable report: the quality table, sizes, memory, timings.
    func report(_ m: Manifest, k: Keys) -> String {
        var out = "# \(m.displayName) (`\(m.alias)`)\n\n"
        out += "Built by Kiln \(m.builder.version) from `\(m.source.location)`"
        if let rev = m.source.revision { out += " at `\(rev)`" }
        out += " with `\(m.recipe.file)`.\n\n"
        out +=
            "\(m.model.architecture), \(m.model.parameterCount) parameters, context \(m.model.contextLength), "
            + "vocabulary \(m.model.vocabularySize).\n\n"
        if let v = m.verification {
            out +=
                "Measured on `\(v.text)` (\(v.tokens) tokens, \(v.chunks) chunks of \(v.ctx)) against the source; "
                + String(format: "reference PPL %.4f.\n\n", v.referencePPL)
        } else {
            out += "No verification in the recipe: nothing was measured.\n\n"
        }
        let contextColumn = m.model.contextLength > 0 ? m.model.contextLength : 4096
        out +=
            "| variant | status | size (MiB) | BPW | memory at \(contextColumn) (MiB) | PPL | ln(PPL/ref) | mean KLD | 99% KLD | same top p % | reply | time (s) |\n"
        out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n"
        for v in m.variants {
            let q = v.quality
            func f(_ x: Double?, _ spec: String) -> String { x.map { String(format: spec, $0) } ?? "–" }
            let seconds = [k.variant[v.name], k.verify[v.name]].compactMap { $0.flatMap { record($0)?.seconds } }
                .reduce(0, +)
            let reply =
                v.generation.map { g in
                    g.reply.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "|", with: "\\|").prefix(
                        60)
                }.map(String.init) ?? "–"
            out +=
                "| \(v.name) | \(v.status.rawValue) | \(String(format: "%.2f", Double(v.bytes) / 1_048_576)) | "
                + "\(String(format: "%.2f", v.bitsPerWeight)) | "
                + "\(f(v.memory.total(atContext: contextColumn).map { Double($0) / 1_048_576 }, "%.1f")) | "
                + "\(f(q?.ppl, "%.4f")) | \(f(q?.lnPPLRatio, "%.6f")) | \(f(q?.meanKLD, "%.6f")) | "
                + "\(f(q?.kld99, "%.6f")) | \(f(q?.sameTopPPercent, "%.3f")) | \(reply) | \(String(format: "%.1f", seconds)) |\n"
        }
        let rejected = m.variants.filter { $0.status == .rejected }
        if !rejected.isEmpty {
            out += "\nRejected (not published):\n\n"
            for v in rejected { out += "- \(v.name): \(v.rejectedBecause.joined(separator: "; "))\n" }
        }
        out += "\nMemory: \(MemoryEstimate.method).\n"
        return out
    }
}
