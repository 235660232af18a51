import Foundation
import KilnTestSupport
import Testing

/// One malformed input of `fixtures/bad/cases.json` (written by `fixtures/bad/make-bad.py`) and the command
/// that must refuse it.
struct BadInputCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    /// A committed fixture (`fixtures/NAME`) copied first; the case's own files are laid over it.
    let base: String?
    /// Files deleted from the copy of `base`.
    let remove: [String]?
    /// The arguments after `kiln`, with `{case}`, `{out}`, `{fixtures}` and `{tiny_gguf}` placeholders.
    let command: [String]
    /// Substrings the error line must hold: the offending file's name and a word for the problem.
    let mentions: [String]
    let why: String

    var testDescription: String { name }

    /// The command the case exercises: `convert`, …, or `catalog build` / `template render`.
    var commandName: String {
        ["catalog", "template"].contains(command[0]) && command.count > 1 ? "\(command[0]) \(command[1])" : command[0]
    }
}

/// The bad-input corpus under `fixtures/bad/`: every case, and the valid model the cases that need one share.
enum BadInputCorpus {
    static let folder = TestEnvironment.fixtures.appendingPathComponent("bad")

    /// Every case, in file order; empty when `cases.json` cannot be read (which ``BadInputCorpusTests`` reports).
    static let cases: [BadInputCase] = {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("cases.json").path)
        else { return [] }
        return (try? JSONDecoder().decode([BadInputCase].self, from: data)) ?? []
    }()

    /// Every command of `kiln` that reads a file a user gives it.
    static let commands: Set<String> = [
        "convert", "quantize", "tokenize", "verify", "generate", "chat", "template render", "template check",
        "imatrix", "inspect", "build", "catalog build", "catalog resolve", "catalog verify"
    ]

    /// A valid F16 GGUF of `fixtures/tiny-llama`, converted once per test process by the kiln under test.
    static let tinyGGUF: Result<URL, ConversionFailed> = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bad-inputs-\(getpid())")
        let url = folder.appendingPathComponent("tiny-llama-f16.gguf")
        let fixture = TestEnvironment.fixtures.appendingPathComponent("tiny-llama").path
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let r = try run(
                TestEnvironment.kiln.path,
                ["convert", fixture, "-o", url.path, "--outtype", "f16", "--force", "--quiet"])
            guard r.status == 0 else { return .failure(ConversionFailed(reason: r.stderr)) }
        } catch {
            return .failure(ConversionFailed(reason: "\(error)"))
        }
        return .success(url)
    }()

    struct ConversionFailed: Error, CustomStringConvertible {
        let reason: String
        var description: String { "kiln convert fixtures/tiny-llama failed: \(reason)" }
    }

    /// Every file and folder under `root`, as paths relative to it (hidden ones included).
    static func listing(_ root: URL) -> Set<String> {
        guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return Set(enumerator.compactMap { $0 as? String })
    }
}

/// Bad input through the real command line: for every case of the corpus, a non-zero exit, exactly one line
/// on stderr (`kiln: error: …`) naming the file and the problem, and nothing written: the output folder stays
/// empty and no file appears beside the inputs, not even a partial or temporary one.
@Suite("kiln refuses the bad-input corpus")
struct BadInputCorpusTests {
    @Test("the corpus is there and covers every command")
    func coverage() throws {
        let cases = BadInputCorpus.cases
        #expect(cases.count >= 60, "fixtures/bad/cases.json holds \(cases.count) cases (run fixtures/bad/make-bad.py)")
        let covered = Set(cases.map(\.commandName))
        #expect(
            BadInputCorpus.commands.subtracting(covered).isEmpty,
            "no case for \(BadInputCorpus.commands.subtracting(covered).sorted())")
        #expect(Set(cases.map(\.name)).count == cases.count, "case names are unique")
        for c in cases {
            #expect(
                c.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" }, "\(c.name) is not kebab-case")
            #expect(!c.mentions.isEmpty && !c.why.isEmpty, "\(c.name) needs mentions and why")
        }
        let folders = try FileManager.default.contentsOfDirectory(
            atPath: BadInputCorpus.folder.appendingPathComponent("cases").path)
        let stale = Set(folders).subtracting(cases.map(\.name))
        #expect(stale.isEmpty, "folders under fixtures/bad/cases/ that no case uses: \(stale.sorted())")
    }

    @Test("one line naming the file, a non-zero exit, nothing written", arguments: BadInputCorpus.cases)
    func refusal(_ c: BadInputCase) throws {
        let folder = TemporaryFolder()
        defer { withExtendedLifetime(folder) {} }
        let input = folder.file("case"), out = folder.file("out")
        try materialize(c, at: input)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        var tinyFolder: URL?
        var tiny = ""
        if c.command.contains(where: { $0.contains("{tiny_gguf}") }) {
            let url = try BadInputCorpus.tinyGGUF.get()
            tiny = url.path
            tinyFolder = url.deletingLastPathComponent()
        }
        let arguments = c.command.map {
            $0.replacingOccurrences(of: "{case}", with: input.path)
                .replacingOccurrences(of: "{out}", with: out.path)
                .replacingOccurrences(of: "{fixtures}", with: TestEnvironment.fixtures.path)
                .replacingOccurrences(of: "{tiny_gguf}", with: tiny)
        }
        let inputsBefore = BadInputCorpus.listing(input)
        let tinyBefore = tinyFolder.map(BadInputCorpus.listing)

        // The output folder is also the working directory, so a default or relative output is caught too.
        let r = try run(TestEnvironment.kiln.path, arguments, directory: out)

        let context = "kiln \(c.command.joined(separator: " ")) (\(c.why))"
        #expect(r.status != 0, "exit status 0: \(context)")
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines.count == 2 && lines[1].isEmpty && lines[0].count > "kiln: error: ".count,
            "not exactly one line on stderr: \(context)\n\(r.stderr)")
        #expect(r.stderr.hasPrefix("kiln: error: "), "\(context)\n\(r.stderr)")
        for m in c.mentions {
            #expect(r.stderr.contains(m), "stderr should mention \(m): \(context)\n\(r.stderr)")
        }
        let written = BadInputCorpus.listing(out)
        #expect(written.isEmpty, "left in the output folder: \(written.sorted()) by \(context)")
        let inputsAfter = BadInputCorpus.listing(input)
        let added = inputsAfter.subtracting(inputsBefore).sorted()
        let removed = inputsBefore.subtracting(inputsAfter).sorted()
        #expect(added.isEmpty && removed.isEmpty, "inputs added \(added), removed \(removed) by \(context)")
        if let tinyFolder, let tinyBefore {
            let tinyAfter = BadInputCorpus.listing(tinyFolder)
            #expect(tinyAfter.subtracting(tinyBefore).isEmpty, "left beside the tiny GGUF by \(context)")
        }
    }

    /// Builds the case folder: a copy of its base fixture (or an empty folder), its own files laid over it,
    /// then the removals.
    func materialize(_ c: BadInputCase, at target: URL) throws {
        let fm = FileManager.default
        if let base = c.base {
            try fm.copyItem(at: TestEnvironment.fixtures.appendingPathComponent(base), to: target)
        } else {
            try fm.createDirectory(at: target, withIntermediateDirectories: true)
        }
        let own = BadInputCorpus.folder.appendingPathComponent("cases").appendingPathComponent(c.name)
        for path in BadInputCorpus.listing(own).sorted() {
            var isDirectory: ObjCBool = false
            let source = own.appendingPathComponent(path), destination = target.appendingPathComponent(path)
            guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
            try fm.copyItem(at: source, to: destination)
        }
        for path in c.remove ?? [] {
            try fm.removeItem(at: target.appendingPathComponent(path))
        }
    }
}
