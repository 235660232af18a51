import Foundation
import FuzzTargets

// `kiln-fuzz TARGET [ARGS...]`. Built by `scripts/fuzz` with coverage instrumentation, AddressSanitizer and
// libFuzzer (-DKILN_FUZZ), the arguments after TARGET go to libFuzzer. In a plain build (the test suite's) it
// replays files: `kiln-fuzz TARGET FILE...` runs the target on each file, and `kiln-fuzz seeds DIR` writes the
// generated seed inputs under DIR/TARGET/.

nonisolated(unsafe) private var selected: FuzzTarget = .gguf
nonisolated(unsafe) private var scratch: Scratch?

private func usage() -> Never {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    FileHandle.standardError.write(
        Data("usage: kiln-fuzz TARGET [ARGS...] | kiln-fuzz seeds DIR\ntargets: \(names)\n".utf8))
    exit(2)
}

#if KILN_FUZZ
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

@main
struct KilnFuzz {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else { usage() }
        if arguments[1] == "seeds" {
            guard arguments.count == 3 else { usage() }
            let root = URL(fileURLWithPath: arguments[2])
            for seed in try Seeds.all() {
                let folder = root.appendingPathComponent(seed.target.rawValue)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try Data(seed.bytes).write(to: folder.appendingPathComponent(seed.name))
            }
            return
        }
        guard let target = FuzzTarget(rawValue: arguments[1]) else { usage() }
        selected = target
        scratch = Scratch()
        #if KILN_FUZZ
        // libFuzzer sees the program name and the arguments after the target.
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(arguments[0])] + arguments.dropFirst(2).map { strdup($0) }
        argv.append(nil)
        var argc = CInt(argv.count - 1)
        let status = argv.withUnsafeMutableBufferPointer { buffer in
            var base = buffer.baseAddress!
            return runDriver(&argc, &base) { data, size in
                _ = selected.run(UnsafeRawBufferPointer(start: data, count: size), scratch: scratch!)
                return 0
            }
        }
        exit(status)
        #else
        for path in arguments.dropFirst(2) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let accepted = data.withUnsafeBytes { target.run($0, scratch: scratch!) }
            print("\(accepted ? "accepted" : "refused") \(path)")
        }
        scratch = nil
        #endif
    }
}
