import ArgumentParser
import Catalog
import CatalogServer
import FileAccess
import Foundation
import JSON

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "Publish built models as a catalog runtimes load by alias.",
        subcommands: [CatalogBuild.self, CatalogResolve.self, CatalogVerify.self, CatalogServe.self])
}

struct CatalogBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Merge build folders' manifests into CATALOG/catalog.json, with the files and the exports.",
        discussion: """
            Files are hard-linked (--link, the default; copied across file systems) or copied (--copy) to \
            CATALOG/files/<first 16 hex digits of the SHA-256>/<file>, or referenced under --base-url. Aliases \
            already in the catalog and not given here are kept.
            """)

    @Argument(help: "Build folders (DIST, or DIST/<alias>).") var dists: [String]
    @Option(name: [.short, .customLong("output")], help: "Catalog folder.") var output: String
    @Flag(help: "Hard-link the files (default).") var link = false
    @Flag(help: "Copy the files.") var copy = false
    @Option(help: "Reference the files under this URL instead of placing them.") var baseUrl: String?
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws {
        if link && copy { throw ValidationError("give --link or --copy, not both") }
    }

    func run() throws {
        try reportingErrors {
            var o = CatalogBuilder.Options(
                dists: dists.map { URL(fileURLWithPath: $0) }, output: URL(fileURLWithPath: output))
            o.placement = copy ? .copy : .link
            o.baseURL = baseUrl
            let r = try CatalogBuilder.build(o)
            struct Summary: Encodable {
                var event = "catalog"
                var catalog: String
                var aliases: [String]
                var variants: Int
                var changed: [String]
                var placed: Int
            }
            let s = Summary(
                catalog: URL(fileURLWithPath: output).appendingPathComponent("catalog.json").path,
                aliases: r.index.models.map(\.alias), variants: r.index.models.map(\.variants.count).reduce(0, +),
                changed: r.changed, placed: r.placed)
            if json {
                try JSONOutput.print(s)
            } else {
                print(
                    "wrote \(s.catalog): \(s.aliases.count) aliases, \(s.variants) variants; changed: \(s.changed.isEmpty ? "none" : s.changed.joined(separator: ", ")); \(s.placed) files placed"
                )
            }
        }
    }
}

struct CatalogResolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Pick the variant a device should load.",
        discussion: """
            For an alias: the best measured quality whose memory need fits (ties: the smaller file). For \
            --task: the smallest model listing the task that has a variant fitting the budget and the floor.
            """)

    @Argument(help: "Catalog folder.") var catalog: String
    @Argument(help: "Alias.") var alias: String?
    @Option(help: "Task (instead of an alias).") var task: String?
    @Option(help: "Memory budget: bytes, or 4GB, 512MB, 1.5GiB (binary units).") var memory: String?
    @Option(help: "Quality floor: same top p in percent.") var minSameTopP: Double?
    @Option(help: "Tokens of context the memory is counted at.") var context = 4096
    @Flag(help: "Print the candidates table.") var verbose = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (alias == nil) != (task == nil) else { throw ValidationError("give an alias or --task, not both") }
        if let memory, Resolver.parseBytes(memory) == nil {
            throw ValidationError("--memory: expected bytes or a size like 4GB")
        }
    }

    func run() throws {
        try reportingErrors {
            let indexURL = URL(fileURLWithPath: catalog).appendingPathComponent("catalog.json")
            let index = try CatalogIndex(contentsOf: indexURL)
            var r = Resolver.Request(alias: alias, task: task)
            r.memoryBudget = memory.flatMap(Resolver.parseBytes)
            r.minSameTopP = minSameTopP
            r.contextLength = context
            let res = try NamedFileError.naming(indexURL.path) { try Resolver.resolve(index, r) }
            if json {
                try JSONOutput.print(res)
                return
            }
            print("\(res.id): \(res.reason) (needs \(res.memoryBytes / 1_048_576) MiB at \(res.contextLength) tokens)")
            if verbose {
                print(
                    "candidate                                 memory MiB   size MiB  same top %   mean KLD  fits  floor"
                )
                for c in res.candidates {
                    print(
                        String(
                            format: "%@ %10.1f %10.1f  %10@ %10@  %@  %@",
                            c.id.padding(toLength: 40, withPad: " ", startingAt: 0), Double(c.memoryBytes) / 1_048_576,
                            Double(c.bytes) / 1_048_576, c.sameTopPPercent.map { String(format: "%.3f", $0) } ?? "–",
                            c.meanKLD.map { String(format: "%.6f", $0) } ?? "–", c.fits ? "yes " : "no  ",
                            c.meetsFloor ? "yes" : "no"))
                }
            }
        }
    }
}

struct CatalogVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-hash every file and check every manifest of a catalog.")

    @Argument(help: "Catalog folder.") var catalog: String

    func run() throws {
        let problems = CatalogVerifier.verify(URL(fileURLWithPath: catalog))
        for p in problems { FileHandle.standardError.write(Data("kiln: error: \(p)\n".utf8)) }
        if !problems.isEmpty { throw ExitCode(KilnExit.error) }
        print("\(catalog): every file and manifest matches the catalog")
    }
}

struct CatalogServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve a catalog over HTTP (read-only) until SIGINT or SIGTERM.")

    @Argument(help: "Catalog folder.") var catalog: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed at start).") var port = 8080

    func run() throws {
        let server: CatalogServer
        do { server = try CatalogServer(catalog: URL(fileURLWithPath: catalog)) } catch {
            FileHandle.standardError.write(Data("kiln: error: \(error)\n".utf8))
            throw ExitCode(KilnExit.error)
        }
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        let host = self.host, port = self.port
        Task {
            do {
                try await server.run(host: host, port: port) { bound in
                    FileHandle.standardOutput.write(
                        Data("serving \(server.root.path) at http://\(host):\(bound)\n".utf8))
                }
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error {
            FileHandle.standardError.write(Data("kiln: error: \(error)\n".utf8))
            throw ExitCode(KilnExit.error)
        }
    }
}

final class FailureBox: @unchecked Sendable {
    var error: Error?
}
