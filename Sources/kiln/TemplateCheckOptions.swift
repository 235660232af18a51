import ArgumentParser
import ChatTemplates
import Conversion
import Foundation
import JSON

/// The chat-template check `kiln convert` and one-step `kiln quantize` run on the template they embed.
struct TemplateCheckOptions: ParsableArguments {
    @Flag(help: "Fail, writing nothing, when the embedded chat template has findings (kiln template check).")
    var strictTemplate = false

    /// Checks the template a checkpoint folder's conversion embeds (none: nothing to check) and prints its
    /// findings on standard error, or as a `template` JSON event; with `--strict-template` findings are an error.
    func run(checkpoint: String, json: Bool) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory), isDirectory.boolValue else { return }
        let source: ChatTemplateSource
        do {
            source = try ChatTemplateSource.folder(URL(fileURLWithPath: checkpoint))
        } catch ChatTemplateSourceError.noTemplate {
            return
        } catch {
            // The conversion itself reports unreadable tokenizer files.
            return
        }
        let report = source.check()
        if json {
            try JSONOutput.print(TemplateEvent(report: report))
        } else {
            for finding in report.findings {
                FileHandle.standardError.write(Data("kiln: warning: chat template \(finding)\n".utf8))
            }
        }
        if strictTemplate, let first = report.findings.first {
            FileHandle.standardError.write(Data("kiln: error: \(source.origin): chat template \(first) (--strict-template)\n".utf8))
            throw ExitCode(KilnExit.gateFailed)
        }
    }

    struct TemplateEvent: Encodable {
        var event = "template"
        var report: ChatTemplateReport
    }
}
