import FileAccess
import Foundation
import Testing

/// Paths and tools prepared by `scripts/test`. A missing one is a test failure, never a skip: the suite
/// is meant to be run through `scripts/test`, which provides everything.
enum TestEnvironment {
    static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    static func required(_ name: String) throws -> String {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
            Issue.record("\(name) is not set: run the suite with scripts/test, which prepares it")
            throw MissingEnvironment(name: name)
        }
        return v
    }

    static var shared: URL { get throws { URL(fileURLWithPath: try required("KILN_SHARED")) } }
    static var python: String { get throws { try required("KILN_PYTHON") } }
    static var smolLM2: URL { get throws { URL(fileURLWithPath: try required("KILN_SMOLLM2_DIR")) } }
    static var oraclePython: String { get throws { try required("KILN_ORACLE_PYTHON") } }
    static var llamaCpp: URL { get throws { URL(fileURLWithPath: try required("KILN_LLAMA_CPP")) } }
    static var fixtures: URL { repositoryRoot.appendingPathComponent("fixtures") }
    static var oracleScripts: URL { repositoryRoot.appendingPathComponent("scripts/oracle") }

    /// The `kiln` executable built alongside the tests.
    static var kiln: URL { repositoryRoot.appendingPathComponent(".build/debug/kiln") }
    static var kilnBench: URL { repositoryRoot.appendingPathComponent(".build/debug/kiln-bench") }

    struct MissingEnvironment: Error { let name: String }
}

/// Result of running a command to completion.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a command, capturing its output (read concurrently so a chatty child cannot block on a full pipe).
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> CommandResult {
    let p = Process()
    if let directory { p.currentDirectoryURL = directory }
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    p.waitUntilExit()
    group.wait()
    return CommandResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// SHA-256 of a file, streamed.
func sha256(of url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hasher = SHA256Digest()
    while let chunk = try handle.read(upToCount: 8 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { hasher.update($0) } }
    return SHA256Digest.hex(hasher.finalize())
}

/// A temporary folder removed when the value is released.
final class TemporaryFolder {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}
