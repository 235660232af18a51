import Catalog
import Foundation
import Testing

/// Variant selection on a catalog with known numbers.
@Suite struct ResolverTests {
    static func variant(
        _ alias: String, _ name: String, size: Int, memory: Int, sameTop: Double?, kld: Double? = nil, ctx: Int = 8192
    ) -> CatalogIndex.Variant {
        let mib = 1_048_576
        let need = Manifest.Memory(
            weightsBytes: size * mib, repackBytes: 0,
            contexts: [
                .init(contextLength: 4096, kvCacheBytes: 0, computeBytes: 0, totalBytes: memory * mib),
                .init(contextLength: ctx, kvCacheBytes: 0, computeBytes: 0, totalBytes: (memory + 100) * mib)
            ], method: "test")
        let quality = sameTop.map {
            CatalogIndex.Quality(
                ppl: 10, lnPPLRatio: 0, meanKLD: kld ?? (100 - $0) / 100, kld99: 0, maxKLD: 0, sameTopPPercent: $0,
                rmsDpPercent: 0, reference: "r", corpusSHA256: "", ctx: 512, chunks: 8)
        }
        return CatalogIndex.Variant(
            id: "\(alias):\(name)", name: name, version: 1, alias: alias, displayName: name, providerType: "llama.cpp",
            modelType: "GGUF", fileType: name, bitsPerWeight: Double(size) / 10, uri: "files/\(name)",
            fileSizeMb: size, runtime: .init(deviceType: "CPU", executionProvider: "CPU"), contextLength: ctx,
            files: [.init(path: "files/\(name)", sha256: String(repeating: "0", count: 64), size: size * mib)],
            requirements: .init(
                minMemoryBytes: memory * mib, memoryAtContextLength: (memory + 100) * mib, kvBytesPerToken: 0,
                memory: need), quality: quality, tensorTypeMapSHA256: "", provenance: "")
    }

    static func model(
        _ alias: String, parameters: Int, tasks: [String], _ variants: [CatalogIndex.Variant]
    )
        -> CatalogIndex.Model
    {
        CatalogIndex.Model(
            alias: alias, displayName: alias, publisher: nil, license: nil, description: nil, task: tasks.first,
            tasks: tasks, architecture: "llama", parameterCount: parameters, contextLength: 8192,
            capabilities: .init(
                supportsToolCalling: false, toolCallStart: nil, toolCallEnd: nil, supportsReasoning: false,
                reasoningStart: nil, reasoningEnd: nil, supportsSystemRole: true), promptTemplate: nil,
            chatTemplateSHA256: nil, stopTokens: [], recommended: variants[0].id, manifest: "", manifestSHA256: "",
            source: "", revision: nil, variants: variants)
    }

    static let index = CatalogIndex(
        baseURL: nil,
        models: [
            model(
                "big", parameters: 1_000_000_000, tasks: ["chat-completion", "general"],
                [
                    variant("big", "Q8_0", size: 1000, memory: 1500, sameTop: 97),
                    variant("big", "Q6_K", size: 800, memory: 1300, sameTop: 95),
                    variant("big", "Q4_K_M", size: 600, memory: 1100, sameTop: 90),
                    variant("big", "Q2_K", size: 400, memory: 900, sameTop: 70)
                ]),
            model(
                "small", parameters: 135_000_000, tasks: ["chat-completion", "router"],
                [
                    variant("small", "Q8_0", size: 140, memory: 320, sameTop: 96),
                    variant("small", "Q4_K_M", size: 100, memory: 300, sameTop: 88),
                    variant("small", "Q4_K_M-b", size: 100, memory: 300, sameTop: 88, kld: 0.01),
                    variant("small", "Q2_K", size: 80, memory: 290, sameTop: 68)
                ])
        ])

    /// (budget, expected variant) for the alias `big`.
    static let budgets: [(String, String)] = [
        ("100GB", "big:Q8_0"), ("1500MiB", "big:Q8_0"), ("1499MB", "big:Q6_K"), ("1.2GB", "big:Q4_K_M"),
        ("1000MB", "big:Q2_K"), ("900M", "big:Q2_K")
    ]

    @Test(arguments: budgets) func theBestQualityThatFits(_ budget: String, _ expected: String) throws {
        var r = Resolver.Request(alias: "big")
        r.memoryBudget = Resolver.parseBytes(budget)
        #expect(try Resolver.resolve(Self.index, r).id == expected)
    }

    @Test func equalSameTopPGoesToTheLowerKLD() throws {
        var r = Resolver.Request(alias: "small")
        r.memoryBudget = Resolver.parseBytes("310MB")
        #expect(try Resolver.resolve(Self.index, r).id == "small:Q4_K_M-b")
    }

    @Test func tasksPickTheSmallestFileThatIsGoodEnough() throws {
        var r = Resolver.Request(task: "chat-completion")
        r.minSameTopP = 85
        #expect(try Resolver.resolve(Self.index, r).id == "small:Q4_K_M-b")
        r.minSameTopP = 96.5
        #expect(try Resolver.resolve(Self.index, r).id == "big:Q8_0")
        var general = Resolver.Request(task: "general")
        general.memoryBudget = Resolver.parseBytes("1GB")
        #expect(try Resolver.resolve(Self.index, general).id == "big:Q2_K")
        var router = Resolver.Request(task: "router")
        router.minSameTopP = 90
        #expect(try Resolver.resolve(Self.index, router).id == "small:Q8_0")
    }

    @Test func refusesClearlyWhenNothingFits() {
        var r = Resolver.Request(alias: "big")
        r.memoryBudget = Resolver.parseBytes("512MB")
        #expect {
            try Resolver.resolve(Self.index, r)
        } throws: { error in
            "\(error)" == "big: nothing fits in 512 MiB; it needs at least 900 MiB"
        }
        #expect(throws: CatalogError.self) { try Resolver.resolve(Self.index, Resolver.Request(alias: "nope")) }
        #expect(throws: CatalogError.self) { try Resolver.resolve(Self.index, Resolver.Request(task: "vision")) }
    }

    @Test func memoryIsCountedAtTheRequestedContext() throws {
        var r = Resolver.Request(alias: "big")
        r.memoryBudget = Resolver.parseBytes("1500MB")
        r.contextLength = 8192
        #expect(try Resolver.resolve(Self.index, r).id == "big:Q6_K")
    }

    @Test func parsesSizes() {
        #expect(Resolver.parseBytes("4GB") == 4 << 30)
        #expect(Resolver.parseBytes("1.5GiB") == 3 << 29)
        #expect(Resolver.parseBytes("512M") == 512 << 20)
        #expect(Resolver.parseBytes("1000") == 1000)
        #expect(Resolver.parseBytes("lots") == nil)
        #expect(Resolver.parseBytes("-1") == nil)
    }

    @Test func theRecommendedVariantIsTheSmallestWithin90PercentOfTheBest() {
        #expect(CatalogBuilder.recommended(Self.index.models[0].variants) == "big:Q4_K_M")
        #expect(CatalogBuilder.recommended(Self.index.models[1].variants) == "small:Q4_K_M")
    }

    @Test func llamaServerNamesFollowItsTagRule() {
        let v = Self.variant("a", "Q4_K_M-embed-q8", size: 1, memory: 1, sameTop: nil)
        #expect(Exporters.llamaServerName(v) == "a:Q8")
        #expect(Exporters.llamaServerName(Self.variant("a", "q4_k_m", size: 1, memory: 1, sameTop: nil)) == "a:Q4_K_M")
    }
}
