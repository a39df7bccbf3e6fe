import ArgumentParser

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
        ]
    )
}
