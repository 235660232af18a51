import Foundation

/// Which variant a device should load: `kiln catalog resolve` and the server's `/v1/models/{alias}`.
///
/// For an alias: the variant with the highest measured quality (same-top-p, then the lower mean KLD) whose
/// memory need at the context length fits the budget; ties go to the smaller file; unmeasured variants rank
/// after measured ones, larger first. For a task: the smallest file, across every model listing the task,
/// that fits the budget and meets the quality floor (a router or a classifier wants the smallest model that
/// is good enough); ties go to the better quality.
public enum Resolver {
    public struct Request: Sendable {
        public var alias: String?
        public var task: String?
        public var memoryBudget: Int?
        public var minSameTopP: Double?
        /// Tokens of context the memory need is counted at (default 4,096, at most the model's).
        public var contextLength: Int = 4096

        public init(alias: String? = nil, task: String? = nil) {
            self.alias = alias
            self.task = task
        }
    }

    public struct Candidate: Codable, Sendable {
        public var id: String
        public var memoryBytes: Int
        public var bytes: Int
        public var sameTopPPercent: Double?
        public var meanKLD: Double?
        public var fits: Bool
        public var meetsFloor: Bool
    }

    public struct Resolution: Codable, Sendable {
        public var alias: String
        public var id: String
        public var uri: String
        public var sha256: String
        public var bytes: Int
        public var memoryBytes: Int
        public var contextLength: Int
        public var reason: String
        public var candidates: [Candidate]
    }

    public static func memory(_ v: CatalogIndex.Variant, model m: CatalogIndex.Model, context: Int) -> Int {
        let n = m.contextLength > 0 ? min(context, m.contextLength) : context
        return v.requirements.memory.total(atContext: n) ?? v.requirements.memory.contexts.first?.totalBytes
            ?? v.requirements.minMemoryBytes
    }

    /// Quality order: measured before unmeasured; higher same-top-p, lower mean KLD; then the smaller file.
    static func better(_ a: CatalogIndex.Variant, _ b: CatalogIndex.Variant) -> Bool {
        switch (a.quality, b.quality) {
        case let (qa?, qb?):
            if qa.sameTopPPercent != qb.sameTopPPercent { return qa.sameTopPPercent > qb.sameTopPPercent }
            if qa.meanKLD != qb.meanKLD { return qa.meanKLD < qb.meanKLD }
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil):
            if a.bitsPerWeight != b.bitsPerWeight { return a.bitsPerWeight > b.bitsPerWeight }
        }
        return (a.files[0].size, a.id) < (b.files[0].size, b.id)
    }

    static func candidates(_ m: CatalogIndex.Model, _ r: Request) -> [Candidate] {
        m.variants.sorted(by: better).map { v in
            let need = memory(v, model: m, context: r.contextLength)
            return Candidate(
                id: v.id, memoryBytes: need, bytes: v.files[0].size, sameTopPPercent: v.quality?.sameTopPPercent,
                meanKLD: v.quality?.meanKLD, fits: r.memoryBudget.map { need <= $0 } ?? true,
                meetsFloor: r.minSameTopP.map { floor in (v.quality?.sameTopPPercent ?? -1) >= floor } ?? true)
        }
    }

    public static func resolve(_ index: CatalogIndex, _ r: Request) throws -> Resolution {
        let models: [CatalogIndex.Model]
        if let alias = r.alias {
            guard let m = index.model(alias) else {
                throw CatalogError(
                    "no alias \(alias) in the catalog (it has \(index.models.map(\.alias).joined(separator: ", ")))")
            }
            models = [m]
        } else if let task = r.task {
            models = index.models.filter { $0.tasks.contains(task) }.sorted {
                ($0.parameterCount, $0.alias) < ($1.parameterCount, $1.alias)
            }
            guard !models.isEmpty else { throw CatalogError("no model in the catalog lists the task \(task)") }
        } else {
            throw CatalogError("give an alias or a task")
        }
        var smallestNeed = Int.max
        var picks: [(CatalogIndex.Model, Candidate, [Candidate])] = []
        for m in models {
            let list = candidates(m, r)
            smallestNeed = min(smallestNeed, list.filter(\.meetsFloor).map(\.memoryBytes).min() ?? .max)
            let qualifying = list.filter { $0.fits && $0.meetsFloor }
            // By alias: the first (best quality). By task: the smallest file (list order breaks ties).
            let pick = r.task == nil ? qualifying.first : qualifying.min { $0.bytes < $1.bytes }
            if let pick { picks.append((m, pick, list)) }
        }
        if let (m, pick, list) = r.task == nil ? picks.first : picks.min(by: { $0.1.bytes < $1.1.bytes }),
            let v = m.variants.first(where: { $0.id == pick.id })
        {
            var reason: String
            if let task = r.task {
                reason = "the smallest file for \(task)"
                if let q = pick.sameTopPPercent { reason += String(format: " (same top p %.3f%%)", q) }
            } else {
                reason =
                    pick.sameTopPPercent.map {
                        String(format: "the best measured quality (same top p %.3f%%)", $0)
                    } ?? "no variant is measured; the most bits per weight"
            }
            if let b = r.memoryBudget { reason += " that fits in \(mib(b))" }
            if let f = r.minSameTopP { reason += String(format: " with same top p ≥ %.1f%%", f) }
            return Resolution(
                alias: m.alias, id: v.id, uri: v.uri, sha256: v.files[0].sha256, bytes: v.files[0].size,
                memoryBytes: pick.memoryBytes,
                contextLength: m.contextLength > 0 ? min(r.contextLength, m.contextLength) : r.contextLength,
                reason: reason, candidates: list)
        }
        let what = r.alias ?? "task \(r.task!)"
        if smallestNeed == .max {
            throw CatalogError("\(what): no variant meets same top p ≥ \(r.minSameTopP ?? 0)%")
        }
        throw CatalogError(
            "\(what): nothing fits in \(mib(r.memoryBudget ?? 0)); it needs at least \(mib(smallestNeed))")
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }

    /// `4GB`, `4GiB`, `512MB`, `512M`, `1.5G`, or plain bytes. Units are binary (as memory is counted).
    public static func parseBytes(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let g = 1_073_741_824.0, m = 1_048_576.0, k = 1024.0
        let units: [(String, Double)] = [
            ("GIB", g), ("GB", g), ("G", g), ("MIB", m), ("MB", m), ("M", m), ("KIB", k), ("KB", k), ("K", k), ("B", 1)
        ]
        for (u, f) in units where t.hasSuffix(u) {
            guard let v = Double(t.dropLast(u.count).trimmingCharacters(in: .whitespaces)), v >= 0, v.isFinite
            else { return nil }
            return Int(v * f)
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }
}
