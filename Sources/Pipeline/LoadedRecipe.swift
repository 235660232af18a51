import Conversion
import FileAccess
import Foundation

/// A recipe read from its file, checked, with its source resolved and its files found. Nothing is written.
public struct LoadedRecipe: Sendable {
    public let file: URL
    public let recipe: Recipe
    public let sha256: String
    public let source: SourceCheckpoint
    /// The importance matrix: a calibration text Kiln computes the matrix from, or a matrix file.
    public let imatrix: Imatrix?
    public let verifyText: URL?

    public enum Imatrix: Sendable, Equatable {
        case text(URL)
        case file(URL)
    }

    /// Reads and checks the recipe at `path`. Every error names the recipe file and the key.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws -> LoadedRecipe
    {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
            let data = FileManager.default.contents(atPath: url.path)
        else {
            throw RecipeError(file: path, key: nil, "cannot read the recipe (no such file)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RecipeError(file: path, key: nil, "not UTF-8 text")
        }
        let recipe = try Recipe(yaml: text, file: path)
        let source = try SourceCheckpoint.resolve(recipe.source, recipeFile: url, environment: environment)
        let folder = url.deletingLastPathComponent()
        func existing(_ name: String, key: String) throws(RecipeError) -> URL {
            let f = name.hasPrefix("/") ? URL(fileURLWithPath: name) : folder.appendingPathComponent(name)
            var d: ObjCBool = false
            guard FileManager.default.fileExists(atPath: f.path, isDirectory: &d), !d.boolValue else {
                throw RecipeError(file: path, key: key, "\(f.standardizedFileURL.path) does not exist")
            }
            return f.standardizedFileURL
        }
        var imatrix: Imatrix? = nil
        if let name = recipe.imatrix {
            let f = try existing(name, key: "imatrix")
            let lower = f.pathExtension.lowercased()
            imatrix = lower == "gguf" || lower == "dat" ? .file(f) : .text(f)
        }
        if imatrix == nil, let i = recipe.variants.firstIndex(where: { $0.type == .q2_K_S }) {
            throw RecipeError(
                file: path, key: "variants[\(i)]",
                "\(recipe.variants[i].type) needs an importance matrix; give the recipe an `imatrix`")
        }
        for (i, v) in recipe.variants.enumerated() {
            for (j, kv) in v.overrideKV.enumerated() where KVOverride(parsing: kv) == nil {
                throw RecipeError(file: path, key: "variants[\(i)].override_kv[\(j)]", "'\(kv)' is not KEY=TYPE:VALUE")
            }
        }
        let verifyText = try recipe.verify.map { v throws(RecipeError) in try existing(v.text, key: "verify.text") }
        return LoadedRecipe(
            file: url, recipe: recipe, sha256: SHA256Digest.hexDigest(Array(data)), source: source, imatrix: imatrix,
            verifyText: verifyText)
    }
}
