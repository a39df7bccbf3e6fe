import ArgumentParser
import Foundation
import Backend
import Logging

/// The `lmgate` command. Each subcommand lives in `Commands/`, one per file,
/// and only parses arguments and wires library types together.
@main
struct LMGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lmgate",
        abstract: "An authenticating TLS gateway in front of a local language-model server.",
        subcommands: [
            RunCommand.self,
            BenchCommand.self,
            CertCommand.self,
            ProxyCommand.self,
            ServeCommand.self,
            StatusCommand.self,
            BackendCommand.self,
            KeysCommand.self,
            ModelsCommand.self,
            UsageCommand.self,
        ]
    )

    /// The subcommands that compute with OpenBLAS. (`serve` starts `backend`
    /// as a child process, which sees to its own core.)
    static let engineCommands: Set<String> = Set(
        [RunCommand.self, BenchCommand.self, BackendCommand.self].compactMap { (command: any ParsableCommand.Type) in
            command.configuration.commandName
        })

    /// Before parsing, an engine command makes OpenBLAS run the kernels for
    /// this CPU, which may execute the program again (OpenBLAS picks its
    /// kernels when it loads), and logs which core it runs.
    static func main() async {
        if let command = CommandLine.arguments.dropFirst().first, engineCommands.contains(command) {
            let logger = Logger(label: "lmgate.engine", factory: { StreamLogHandler.standardError(label: $0) })
            BLASCoreStartup.reexecuteIfNeeded(logger: logger)
            // A kernel path the CPU lacks is refused here, before any work.
            do {
                _ = try KernelPath.select(environment: ProcessInfo.processInfo.environment)
            } catch {
                logger.error("\(error.description)")
                Foundation.exit(2)
            }
            logger.info("OpenBLAS kernels", metadata: EnginePlatform.current().logMetadata)
        }
        await main(nil)
    }
}
