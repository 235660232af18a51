import ArgumentParser
import ChatTemplates
import Foundation
import JSON

/// `kiln-bench template TEMPLATE.jinja`: time to render one tools conversation (a system prompt, a user turn,
/// an assistant tool call, the tool's result, a follow-up) with Kiln's engine, the template parsed once, and
/// beside it transformers' `apply_chat_template` with the template already compiled
/// (`scripts/bench/template_transformers.py`), after checking that both render the same prompt.
struct TemplateBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Benchmark chat-template rendering against transformers' apply_chat_template.")

    @Argument(help: "A .jinja template (for example llama.cpp's models/templates/Qwen-Qwen2.5-7B-Instruct.jinja).")
    var template: String
    @Option(help: "Renders per timed batch (5 batches, the best is reported).") var runs = 2000
    @Option(help: "Python with transformers, to measure it alongside.") var peerPython: String?

    static let conversation: JSONValue = {
        let text = #"""
            {"messages": [
              {"role": "system", "content": "You are a travel assistant. Use the tools when they help."},
              {"role": "user", "content": "What's the weather in Paris tomorrow, and should I pack an umbrella?"},
              {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function":
                {"name": "get_weather", "arguments": {"city": "Paris", "date": "tomorrow", "units": "celsius"}}}]},
              {"role": "tool", "name": "get_weather", "content": "{\"forecast\": \"rain\", \"high\": 14, \"low\": 9}"},
              {"role": "assistant", "content": "Rain is expected in Paris tomorrow (9–14 °C): pack an umbrella."},
              {"role": "user", "content": "Thanks! And in Lyon?"}
            ],
            "tools": [
              {"type": "function", "function": {"name": "get_weather", "description": "Weather forecast for a city.",
                "parameters": {"type": "object", "properties": {
                  "city": {"type": "string", "description": "City name"},
                  "date": {"type": "string", "description": "today, tomorrow or YYYY-MM-DD"},
                  "units": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                  "required": ["city"]}}},
              {"type": "function", "function": {"name": "search_hotels", "description": "Hotels with rooms free.",
                "parameters": {"type": "object", "properties": {
                  "city": {"type": "string"}, "nights": {"type": "integer", "minimum": 1},
                  "filters": {"type": "object", "properties": {"max_price": {"type": "number"},
                    "amenities": {"type": "array", "items": {"type": "string"}}}}},
                  "required": ["city", "nights"]}}}
            ]}
            """#
        return try! JSONParser.parse(Data(text.utf8))
    }()

    func run() throws {
        let source = try String(contentsOfFile: template, encoding: .utf8)
        let parsed = try ChatTemplate(source, origin: template)
        var request = ChatRequest(messages: Self.conversation["messages"]?.arrayValue ?? [])
        request.tools = Self.conversation["tools"]?.arrayValue
        request.addGenerationPrompt = true
        request.specialTokens = [("bos_token", "<s>"), ("eos_token", "</s>")]
        let output = try parsed.apply(request)
        var batches: [Double] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<runs { _ = try parsed.apply(request) }
            batches.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(runs))
        }
        let kiln = batches.min()!
        print(
            String(
                format: "kiln: %.1f µs per render (best of 5 batches of %d; %d bytes)", kiln * 1e6, runs,
                output.utf8.count))
        guard let peerPython else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let conversationFile = folder.appendingPathComponent("conversation.json")
        try Data(Self.conversation.dumps(ensureASCII: false).utf8).write(to: conversationFile)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/bench/template_transformers.py").standardized.path
        let peerRuns = max(1, runs / 10)
        let result = try runChild(peerPython, [script, template, conversationFile.path, String(peerRuns)], in: folder)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").last,
            let report = try? JSONParser.parse(Data(line.utf8)),
            let peer = report["seconds_per_render"]?.arrayValue?.compactMap(\.numberValue).min()
        else {
            throw ValidationError("the transformers peer failed: \(result.stderr.suffix(500))")
        }
        let same = report["output"]?.stringValue == output
        print(
            String(
                format: "transformers apply_chat_template: %.1f µs per render (best of 5 batches of %d)", peer * 1e6,
                peerRuns))
        print(String(format: "same prompt: %@; kiln is %.1f× faster", same ? "yes" : "NO", peer / kiln))
        if !same { throw ExitCode.failure }
    }
}

/// Runs a child process to completion with its output in files (no pipe can fill and block it) and returns
/// its status and output.
private func runChild(
    _ executable: String, _ arguments: [String], in folder: URL
) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let outURL = folder.appendingPathComponent("stdout"), errURL = folder.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    defer {
        try? out.close()
        try? err.close()
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.standardOutput = out
    p.standardError = err
    try p.run()
    p.waitUntilExit()
    let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return (p.terminationStatus, stdout, stderr)
}
