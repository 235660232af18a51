import Foundation
import Testing

/// The suite's tiers. Every test runs in `scripts/test` (the full tier, what CI runs). `scripts/test --fast`
/// sets `KILN_TEST_TIER=fast`, which skips the tests tagged below: what is left needs neither the Python
/// tools nor llama.cpp nor the SmolLM2 checkpoint, and runs in well under two minutes on two cores.
extension Tag {
    /// Drives a live peer: llama.cpp's converter or tools, `transformers`, `tokenizers`, jinja2.
    @Tag public static var oracle: Self
    /// Compares with outputs recorded from llama.cpp (`../shared/golden`, `fixtures/oracle*`).
    @Tag public static var golden: Self
    /// Runs the SmolLM2 checkpoint or another model large enough to take tens of seconds.
    @Tag public static var slow: Self
}

public enum TestTier {
    /// True when only the fast tier is wanted (`KILN_TEST_TIER=fast`).
    public static var fastOnly: Bool { ProcessInfo.processInfo.environment["KILN_TEST_TIER"] == "fast" }
}

extension Trait where Self == ConditionTrait {
    /// Runs only in the full tier; put it beside the tags that say why.
    public static var fullTier: Self {
        .enabled(if: !TestTier.fastOnly, "the full tier only (KILN_TEST_TIER=fast skips it)")
    }
}

/// Compares a file with a summary recorded from llama.cpp (`compare_gguf.py --json` format): equal digests
/// settle it at once; only when they differ is llama.cpp's own Python reader run, to name the first
/// differing key or tensor in the failure.
public func expectSameAsGolden(
    _ file: URL, golden: URL, _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: golden)) as? [String: Any]
    guard let expected = summary?["file_sha256"] as? String else {
        Issue.record("\(golden.path) has no file_sha256", sourceLocation: sourceLocation)
        return
    }
    let actual = try sha256(of: file)
    if actual == expected { return }
    let report = try run(
        try TestEnvironment.python,
        [
            TestEnvironment.oracleScripts.appendingPathComponent("compare_gguf.py").path, "--golden", golden.path,
            file.path
        ])
    Issue.record(
        "\(context): SHA-256 \(actual), llama.cpp's \(expected); gguf-py: \(report.stdout)\(report.stderr)",
        sourceLocation: sourceLocation)
}

/// Compares two GGUF files the same way: digests first, llama.cpp's reader only to explain a difference.
public func expectSameFiles(
    _ ours: URL, _ theirs: URL, _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let a = try sha256(of: ours), b = try sha256(of: theirs)
    if a == b { return }
    let report = try run(
        try TestEnvironment.python,
        [TestEnvironment.oracleScripts.appendingPathComponent("compare_gguf.py").path, theirs.path, ours.path])
    Issue.record(
        "\(context): SHA-256 \(a), llama.cpp's \(b); gguf-py: \(report.stdout)\(report.stderr)",
        sourceLocation: sourceLocation)
}
