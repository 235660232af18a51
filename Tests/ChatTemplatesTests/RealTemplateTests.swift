import ChatTemplates
import Foundation
import JSON
import Testing

/// The 70 templates shipped with llama.cpp (spec §1), fetched by the test setup into `.build/kiln-test`.
/// Skipped (with a message) when they have not been fetched.
@Suite("Real chat templates")
struct RealTemplateTests {
    static let folder: URL = {
        // Resolved, since the test folder may be reached through a symlink from a development package.
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/kiln-test/oracle/llama.cpp/models/templates")
    }()

    static var files: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "jinja" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func message(_ role: String, _ content: String) -> JSONValue {
        .object([("role", .string(role)), ("content", .string(content))])
    }

    static var frozenOptions: RenderOptions {
        var components = DateComponents(year: 2025, month: 3, day: 7, hour: 9, minute: 5, second: 3)
        components.timeZone = .current
        return RenderOptions(now: Calendar(identifier: .gregorian).date(from: components)!)
    }

    @Test("all templates parse and render a simple conversation")
    func parseAndRender() throws {
        let files = Self.files
        guard !files.isEmpty else {
            print("skipped: no templates at \(Self.folder.path) (fetch them as spec §1 describes)")
            return
        }
        #expect(files.count == 70)
        // The templates where jinja2 itself raises on this conversation (python3 + jinja2 3.1.6, spec §6
        // environment): three tool-use templates loop over `tools` (none), firefunction reads `functions`.
        let failingInJinja: Set<String> = [
            "CohereForAI-c4ai-command-r-plus-tool_use.jinja", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
            "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "fireworks-ai-llama-3-firefunction-v2.jinja"
        ]
        var failures: Set<String> = []
        for file in files {
            let source = try String(contentsOf: file, encoding: .utf8)
            let template = try ChatTemplate(source, origin: file.lastPathComponent)
            var request = ChatRequest(messages: [
                Self.message("user", "Hello!"), Self.message("assistant", "Hi there."),
                Self.message("user", "How are you?")
            ])
            request.addGenerationPrompt = true
            request.specialTokens = [("bos_token", "<s>"), ("eos_token", "</s>")]
            do {
                let output = try template.apply(request, options: Self.frozenOptions)
                #expect(output.contains("How are you?"), "\(file.lastPathComponent)")
            } catch {
                failures.insert(file.lastPathComponent)
            }
        }
        #expect(failures == failingInJinja)
    }

    @Test("Qwen2.5 renders byte-identically to jinja2")
    func qwen() throws {
        let file = Self.folder.appendingPathComponent("Qwen-Qwen2.5-7B-Instruct.jinja")
        guard let source = try? String(contentsOf: file, encoding: .utf8) else {
            print("skipped: \(file.path) is absent")
            return
        }
        let template = try ChatTemplate(source, origin: file.lastPathComponent)
        var request = ChatRequest(messages: [Self.message("user", "Hi")], addGenerationPrompt: true)
        // python3: jinja2 env of spec §6, .render(messages=[{"role": "user", "content": "Hi"}], tools=None,
        // documents=None, add_generation_prompt=True)
        #expect(
            try template.apply(request)
                == "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        )
        request = ChatRequest(
            messages: [Self.message("user", "Hi"), Self.message("assistant", "Hello")], continueFinalMessage: true)
        // Same, with "CONTINUE_FINAL_MESSAGE_TAG " appended to "Hello" and the output cut at the marker.
        #expect(
            try template.apply(request)
                == "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello"
        )
    }
}
