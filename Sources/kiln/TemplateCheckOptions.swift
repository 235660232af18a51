import ArgumentParser
import ChatTemplates
import Conversion
import Foundation
import JSON

/// The chat-template check `kiln convert` and one-step `kiln quantize` run on the template they embed.
struct TemplateCheckOptions: ParsableArguments {
    @Flag(
        help: "Fail with status 3, writing nothing, when the embedded chat template has findings (kiln template check)."
    )
    var strictTemplate = false

    /// Checks the template a checkpoint folder's conversion embeds (none, or not a folder: nil). With
    /// `--strict-template`, findings end the command here, before anything is written.
    func check(checkpoint: String) throws -> (origin: String, report: ChatTemplateReport)? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory), isDirectory.boolValue
        else { return nil }
        // No template, or tokenizer files the conversion itself will report: nothing to check here.
        guard let source = try? ChatTemplateSource.folder(URL(fileURLWithPath: checkpoint)) else { return nil }
        let report = source.check()
        if strictTemplate, let first = report.findings.first {
            FileHandle.standardError.write(
                Data("kiln: error: \(source.origin): chat template \(first) (--strict-template)\n".utf8))
            throw ExitCode(KilnExit.gateFailed)
        }
        return (source.origin, report)
    }

    /// Prints a check's findings after the output was written: warnings on standard error, or a `template`
    /// JSON event.
    func report(_ checked: (origin: String, report: ChatTemplateReport)?, json: Bool) throws {
        guard let checked else { return }
        if json {
            try JSONOutput.print(TemplateEvent(report: checked.report))
        } else {
            for finding in checked.report.findings {
                FileHandle.standardError.write(
                    Data("kiln: warning: \(checked.origin): chat template \(finding)\n".utf8))
            }
        }
    }

    struct TemplateEvent: Encodable {
        var event = "template"
        var report: ChatTemplateReport
    }
}
