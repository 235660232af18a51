import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Wall time and peak resident set of one finished child process.
struct ChildMeasurement {
    let seconds: Double
    let peakRSSBytes: Int
    let status: Int32
}

/// Runs `arguments` (argv[0] is looked up on PATH) and measures it with `wait4`, which reports the child's
/// own peak RSS (not the maximum over every child this process ever had).
func measure(_ arguments: [String], environment: [String: String] = [:], quiet: Bool = true) throws -> ChildMeasurement
{
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for p in argv { free(p) }
        for p in envp { free(p) }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if quiet {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    }
    var pid: pid_t = 0
    let start = Date()
    let rc = posix_spawnp(&pid, arguments[0], &actions, nil, argv, envp)
    guard rc == 0 else { throw ValidationErrorText("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let seconds = Date().timeIntervalSince(start)
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ChildMeasurement(seconds: seconds, peakRSSBytes: Int(usage.ru_maxrss) * 1024, status: exit)
}

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The path of this executable, to re-run it for a single measured job.
var selfExecutable: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
