import Foundation
import KilnTestSupport
import Pipeline
import Testing

/// Recipes are checked before any work: every problem is one error naming the recipe file and the key.
@Suite struct RecipeTests {
    static let valid = """
        name: smollm2-135m-instruct
        display_name: SmolLM2 135M Instruct
        publisher: HuggingFaceTB
        license: apache-2.0
        tasks: [chat-completion]
        source: ckpt
        base: f16
        imatrix: calibration.txt
        variants:
          - Q8_0
          - q4_k_m
          - name: Q4_K_M-embed-q8
            type: Q4_K_M
            token_embedding_type: Q8_0
            tensor_types: ["ffn_down=Q6_K"]
        verify:
          text: eval.txt
          ctx: 512
          chunks: 8
          max_mean_kld: 0.1
          min_same_top_p: 85
          prompt: "What is the capital of France? Answer in one sentence."
          expect: Paris
        """

    @Test func parsesTheIssueExample() throws {
        let r = try Recipe(yaml: Self.valid, file: "r.yaml")
        #expect(r.name == "smollm2-135m-instruct")
        #expect(r.tasks == ["chat-completion"])
        #expect(r.base == "f16")
        #expect(r.variants.map(\.name) == ["Q8_0", "Q4_K_M", "Q4_K_M-embed-q8"])
        #expect(r.variants[2].tokenEmbeddingType?.description == "Q8_0")
        #expect(r.variants[2].tensorTypes == ["ffn_down=Q6_K"])
        #expect(r.verify?.chunks == 8)
        #expect(r.verify?.minSameTopP == 85)
        #expect(r.verify?.expect == "Paris")
    }

    /// (recipe text, the key the error must name)
    static let broken: [(String, String)] = [
        (valid.replacingOccurrences(of: "publisher:", with: "publishr:"), "publishr"),
        (valid.replacingOccurrences(of: "name: smollm2-135m-instruct\n", with: ""), "name"),
        (valid.replacingOccurrences(of: "source: ckpt\n", with: ""), "source"),
        (valid.replacingOccurrences(of: "tasks: [chat-completion]", with: "tasks: {a: b}"), "tasks"),
        (valid.replacingOccurrences(of: "ctx: 512", with: "ctx: lots"), "verify.ctx"),
        (valid.replacingOccurrences(of: "chunks: 8", with: "chunks: [8]"), "verify.chunks"),
        (valid.replacingOccurrences(of: "  - Q8_0", with: "  - Q9_X"), "variants[0]"),
        (valid.replacingOccurrences(of: "type: Q4_K_M", with: "type: Q4_K_Q"), "variants[2].type"),
        (valid.replacingOccurrences(of: "  - Q8_0", with: "  - Q4_K_M"), "variants[1].name"),
        (valid.replacingOccurrences(of: "base: f16", with: "base: f8"), "base"),
        (valid.replacingOccurrences(of: "name: smollm2-135m-instruct", with: "name: ../escape"), "name"),
        (valid.replacingOccurrences(of: "name: smollm2-135m-instruct", with: "name: /abs"), "name"),
        (valid.replacingOccurrences(of: "name: smollm2-135m-instruct", with: "name: Upper"), "name"),
        (valid.replacingOccurrences(of: "name: Q4_K_M-embed-q8", with: "name: ../x"), "variants[2].name"),
        (valid.replacingOccurrences(of: "name: Q4_K_M-embed-q8", with: "name: a/b"), "variants[2].name"),
        (valid.replacingOccurrences(of: "name: Q4_K_M-embed-q8", with: "name: .."), "variants[2].name"),
        (
            valid.replacingOccurrences(of: "    token_embedding_type: Q8_0", with: "    token_embeding_type: Q8_0"),
            "variants[2].token_embeding_type"
        ),
        (valid.replacingOccurrences(of: "ffn_down=Q6_K", with: "ffn_down"), "variants[2].tensor_types[0]"),
        (valid.replacingOccurrences(of: "max_mean_kld: 0.1", with: "max_mean_kld: low"), "verify.max_mean_kld"),
        (valid.replacingOccurrences(of: "min_same_top_p: 85", with: "min_same_top_p: 185"), "verify.min_same_top_p"),
        (valid.replacingOccurrences(of: "  expect: Paris", with: "  expects: Paris"), "verify.expects"),
        (valid.replacingOccurrences(of: "variants:\n", with: "variantz:\n"), "variantz"),
        ("name: x\nsource: ckpt\nvariants: []\n", "variants"),
        ("name: x\nsource: ckpt\n", "variants")
    ]

    @Test(arguments: 0..<broken.count) func refusesBrokenRecipes(_ i: Int) throws {
        let (text, key) = Self.broken[i]
        do {
            _ = try Recipe(yaml: text, file: "recipes/r.yaml")
            Issue.record("recipe \(i) was accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.description.hasPrefix("recipes/r.yaml: `\(key)`: "), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func notYAMLOrNotAMapping() {
        for text in ["name: [unclosed", "- a\n- b\n", "just text"] {
            #expect(throws: RecipeError.self) { try Recipe(yaml: text, file: "r.yaml") }
        }
    }

    @Test func hubSourcesResolveOfflineInTheCache() throws {
        let tmp = TemporaryFolder()
        let repo = tmp.url.appendingPathComponent("hub/models--Org--Model")
        let commit = String(repeating: "ab", count: 20)
        let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data("\(commit)\n".utf8).write(to: repo.appendingPathComponent("refs/main"))
        try Data("{}".utf8).write(to: snapshot.appendingPathComponent("config.json"))
        let env = ["HF_HOME": tmp.url.path]
        let recipe = tmp.file("r.yaml")
        let main = try SourceCheckpoint.resolve("hf:Org/Model", recipeFile: recipe, environment: env)
        #expect(main.folder.path == snapshot.path)
        #expect(main.revision == commit)
        #expect(main.location == "hf:Org/Model")
        let pinned = try SourceCheckpoint.resolve("hf:Org/Model@\(commit)", recipeFile: recipe, environment: env)
        #expect(pinned.folder.path == snapshot.path)
        for missing in ["hf:Org/Other", "hf:Org/Model@v2", "hf:Org/Model@\(String(repeating: "cd", count: 20))"] {
            do {
                _ = try SourceCheckpoint.resolve(missing, recipeFile: recipe, environment: env)
                Issue.record("\(missing) resolved")
            } catch {
                #expect(error.key == "source")
                #expect(error.description.contains("not in the Hugging Face cache"), "\(error)")
            }
        }
        for bad in ["hf:Model", "hf:a/b/c", "hf:../x"] {
            #expect(throws: RecipeError.self) {
                try SourceCheckpoint.resolve(bad, recipeFile: recipe, environment: env)
            }
        }
    }
}

/// The recipes in `recipes/` are valid; those by `hf:` id name the missing snapshot when it is not cached.
@Suite struct BundledRecipeTests {
    static let folder = TestEnvironment.repositoryRoot.appendingPathComponent("recipes")
    static let names =
        (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter {
            $0.hasSuffix(".yaml")
        }.sorted() ?? []

    @Test func thereIsOneRecipePerFamilyBesidesTheFixtureAndSmolLM2() {
        #expect(Self.names.count >= 10)
        #expect(Self.names.contains("tiny-llama.yaml"))
        #expect(Self.names.contains("smollm2-135m-instruct.yaml"))
    }

    @Test(arguments: names) func parses(_ name: String) throws {
        let url = Self.folder.appendingPathComponent(name)
        let r = try Recipe(yaml: String(contentsOf: url, encoding: .utf8), file: url.path)
        #expect(r.name + ".yaml" == name)
        #expect(!r.variants.isEmpty)
        if r.source.hasPrefix("hf:") {
            let empty = TemporaryFolder()
            do {
                _ = try LoadedRecipe.load(path: url.path, environment: ["HF_HOME": empty.url.path])
                Issue.record("\(name) loaded from an empty cache")
            } catch let e as RecipeError {
                #expect(e.key == "source")
                #expect(e.description.contains("not in the Hugging Face cache"))
            }
        }
    }
}
