import FileAccess
import Foundation
import Testing

/// Paths and tools prepared by `scripts/test`. A missing one is a test failure, never a skip: the suite
/// is meant to be run through `scripts/test`, which provides everything. Nothing here knows a particular
/// machine's folders: every path comes from the environment or from the repository's own location.
public enum TestEnvironment {
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    public static func required(_ name: String) throws -> String {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
            Issue.record("\(name) is not set: run the suite with scripts/test, which prepares it")
            throw MissingEnvironment(name: name)
        }
        return v
    }

    /// The value of an environment variable, or nil when unset or empty.
    public static func optional(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// `../shared` (golden files, specs, tools): `KILN_SHARED`, else the folder beside the repository.
    public static var shared: URL {
        get throws {
            if let path = optional("KILN_SHARED") { return URL(fileURLWithPath: path) }
            let beside = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
            if FileManager.default.fileExists(atPath: beside.appendingPathComponent("golden").path) { return beside }
            Issue.record("../shared not found beside the repository and KILN_SHARED is not set")
            throw MissingEnvironment(name: "KILN_SHARED")
        }
    }
    public static var python: String { get throws { try required("KILN_PYTHON") } }
    public static var smolLM2: URL { get throws { URL(fileURLWithPath: try required("KILN_SMOLLM2_DIR")) } }
    public static var oraclePython: String { get throws { try required("KILN_ORACLE_PYTHON") } }
    public static var llamaCpp: URL { get throws { URL(fileURLWithPath: try required("KILN_LLAMA_CPP")) } }
    /// llama.cpp's tools built by `scripts/test` (`llama-imatrix`, `llama-quantize`).
    public static var llamaBin: URL { get throws { URL(fileURLWithPath: try required("KILN_LLAMA_BIN")) } }
    public static var fixtures: URL { repositoryRoot.appendingPathComponent("fixtures") }
    public static var oracleScripts: URL { repositoryRoot.appendingPathComponent("scripts/oracle") }
    /// Whether the SmolLM2 checkpoint is available (tests that only need it, and not the Python tools, use this).
    public static var hasSmolLM2: Bool { optional("KILN_SMOLLM2_DIR") != nil }

    /// The `kiln` executable built alongside the tests.
    public static var kiln: URL { repositoryRoot.appendingPathComponent(".build/debug/kiln") }
    public static var kilnBench: URL { repositoryRoot.appendingPathComponent(".build/debug/kiln-bench") }

    public struct MissingEnvironment: Error { public let name: String }
}

/// Result of running a command to completion.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs a command, capturing its output (read concurrently so a chatty child cannot block on a full pipe).
public func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
    input: Data? = nil
) throws -> CommandResult {
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
    let stdin = Pipe()
    p.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try p.run()
    if let input {
        DispatchQueue.global().async {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
    }
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    group.enter()
    DispatchQueue.global().async {
        outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
    }
    p.waitUntilExit()
    group.wait()
    return CommandResult(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// SHA-256 of a file, streamed.
public func sha256(of url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hasher = SHA256Digest()
    while let chunk = try handle.read(upToCount: 8 << 20), !chunk.isEmpty {
        chunk.withUnsafeBytes { hasher.update($0) }
    }
    return SHA256Digest.hex(hasher.finalize())
}

/// A temporary folder removed when the value is released.
public final class TemporaryFolder {
    public let url: URL
    public init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}

/// Runs `kiln arguments` (which must print one `--json` event per line) and kills it with SIGKILL right after
/// its `events`-th line, or when it ends first. Returns whether it was still running when killed. Kill points
/// placed by progress, not by time, land in the same place on a loaded machine.
public func killKiln(_ arguments: [String], afterEvents events: Int) throws -> Bool {
    let p = Process()
    p.executableURL = TestEnvironment.kiln
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    var seen = 0
    while seen < events {
        let chunk = out.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        seen += chunk.filter { $0 == 0x0A }.count
    }
    let running = p.isRunning
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    return running
}
