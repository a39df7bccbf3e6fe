import ArgumentParser

@main
struct LMGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lmgate",
        abstract: "An authenticating TLS gateway in front of a local language-model server.",
        subcommands: []
    )
}
