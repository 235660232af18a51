import Foundation
import KilnTestSupport
import Testing

/// Output that cannot be written: a file-size limit or a full file system gives one "no space" line and
/// removes the temporary file; a read-only folder is refused before any tensor is converted.
@Suite struct DiskTests {
    static var isRoot: Bool { getuid() == 0 }

    /// Mounts a tmpfs of `size` (with `options`) on a fresh folder, runs `body`, and unmounts it.
    static func withTmpfs(size: String, options: String = "", _ body: (URL) throws -> Void) throws {
        let folder = TemporaryFolder()
        let mountPoint = folder.file("mnt")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mount = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)" + options, "tmpfs", mountPoint.path])
        try #require(mount.status == 0, "mount: \(mount.stderr)")
        defer { _ = try? run("/bin/umount", [mountPoint.path]) }
        try body(mountPoint)
    }

    /// Checks a refused conversion: status 1, one line naming `output` and containing `words`, no tensor
    /// converted when `beforeWork`, and nothing left in `output`'s folder.
    static func expectRefused(
        _ r: CommandResult, output: URL, words: String, beforeWork: Bool = false
    ) {
        #expect(r.status == 1, "status \(r.status): \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(output.path) && r.stderr.contains(words), "\(r.stderr)")
        if beforeWork { #expect(!r.stdout.contains("\"tensor\""), "work was done: \(r.stdout.prefix(200))") }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test("a file-size limit (ulimit -f) gives a no-space error and leaves nothing")
    func fileSizeLimit() throws {
        let folder = TemporaryFolder()
        let out = folder.file("out/model.gguf")
        try FileManager.default.createDirectory(
            at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        // 64 KiB: the tiny Llama's F32 file is several times larger.
        let script = "ulimit -f 128; exec \"$0\" convert \"$1\" -o \"$2\" --outtype f32 --json"
        let r = try run(
            "/bin/sh",
            [
                "-c", script, TestEnvironment.kiln.path,
                TestEnvironment.fixtures.appendingPathComponent("tiny-llama").path,
                out.path
            ])
        Self.expectRefused(r, output: out, words: "no space left")
    }

    @Test("a full file system gives a no-space error and leaves nothing", .enabled(if: isRoot, "needs mount (root)"))
    func fullFileSystem() throws {
        try Self.withTmpfs(size: "64k") { mnt in
            let out = mnt.appendingPathComponent("model.gguf")
            let r = try run(
                TestEnvironment.kiln.path,
                [
                    "convert", TestEnvironment.fixtures.appendingPathComponent("tiny-llama").path, "-o", out.path,
                    "--outtype", "f32", "--json"
                ])
            Self.expectRefused(r, output: out, words: "no space left")
        }
    }

    @Test("a read-only folder is refused before any work", .enabled(if: isRoot, "needs mount (root)"))
    func readOnlyFolder() throws {
        try Self.withTmpfs(size: "1m", options: ",ro") { mnt in
            let out = mnt.appendingPathComponent("model.gguf")
            let tiny = TestEnvironment.fixtures.appendingPathComponent("tiny-llama").path
            for arguments in [
                ["convert", tiny, "-o", out.path, "--json"], ["quantize", tiny, out.path, "Q8_0", "--json"]
            ] {
                let r = try run(TestEnvironment.kiln.path, arguments)
                Self.expectRefused(r, output: out, words: "Read-only file system", beforeWork: true)
            }
        }
    }
}
