import ArgumentParser
import Foundation
import Gateway

/// `lmgate models list|load|unload|unpin`: the models of a running backend (of
/// `lmgate serve`, or `lmgate backend`), in the spirit of LM Studio's `lms ls`,
/// `lms load [--ttl]`, `lms unload`. Talks to the backend on loopback, with the key of
/// serve's current start (from `$LMGATE_HOME`) or `LMGATE_BACKEND_KEY`.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, load, pin and unload the models of a running backend.",
        subcommands: [List.self, Load.self, Unload.self, Unpin.self])

    /// Where the backend is and the key it wants.
    struct Connection: ParsableArguments {
        @Option(help: "The configuration file, for the backend's port (default: $LMGATE_HOME/lmgate.yaml).")
        var config: String?
        @Option(help: "The backend's loopback port (default: backend.port of the configuration, else 1234).")
        var port: Int?

        func client() throws -> BackendModelsClient {
            let environment = ProcessInfo.processInfo.environment
            let home = GatewayHome.standard(environment: environment)
            var port = self.port ?? 1234
            let file = config ?? home.configurationFile
            if self.port == nil, FileManager.default.fileExists(atPath: file) {
                do {
                    port = try BackendSettings(file: file).port
                } catch {
                    throw ValidationError("invalid configuration \(file):\n\(error.description)")
                }
            }
            let key = environment[BackendKey.environmentVariable].flatMap { BackendKey(value: $0) }
                ?? BackendKey.read(from: home.backendKeyFile(port: port))
            return BackendModelsClient(port: port, key: key)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the models and which are loaded.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let models = try await ModelsCommand.run { try await connection.client().list() }
            print(ModelsTable.render(models))
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "load", abstract: "Load a model (by id or alias) and wait for it.")
        @OptionGroup var connection: Connection
        @Argument(help: "The model's id or alias.") var model: String
        @Flag(help: "Keep the model in memory: no idle TTL or eviction unloads it (until `lmgate models unpin`).")
        var pin = false
        @Option(help: "Unload the model after this many idle seconds (overrides the configured TTL; after an unpin, with --pin).")
        var ttl: Double?

        func run() async throws {
            let id = try await ModelsCommand.run { try await connection.client().load(model, pin: pin, idleTTL: ttl) }
            print("loaded \(id)" + (pin ? " (pinned)" : "") + (ttl.map { " (idle TTL \(Int($0))s)" } ?? ""))
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unpin", abstract: "Let a pinned model's idle TTL unload it again.")
        @OptionGroup var connection: Connection
        @Argument(help: "The model's id or alias.") var model: String

        func run() async throws {
            let id = try await ModelsCommand.run { try await connection.client().unpin(model) }
            print("unpinned \(id)")
        }
    }

    struct Unload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unload", abstract: "Unload a model (refused while it is generating).")
        @OptionGroup var connection: Connection
        @Argument(help: "The model's id or alias.") var model: String

        func run() async throws {
            let id = try await ModelsCommand.run { try await connection.client().unload(model) }
            print("unloaded \(id)")
        }
    }

    /// Runs `body`, turning the client's error into a message and a failing exit.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as BackendModelsClientError {
            FileHandle.standardError.write(Data("lmgate models: \(error.description)\n".utf8))
            throw ExitCode.failure
        }
    }
}
