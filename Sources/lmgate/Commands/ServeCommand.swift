import ArgumentParser
import Backend
import Foundation
import Gateway
import Logging
import PostgresState
import Proxy

/// `lmgate serve`: the backend on loopback, supervised, and the
/// authenticating TLS proxy in front of it — the whole deployable in one
/// command. On its first run it makes its certificate, main API key and
/// configuration (in `$LMGATE_HOME`, by default `~/.lmgate`).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model to the network: the loopback backend and the TLS proxy in front of it.",
        discussion: """
            Without --config, the configuration is $LMGATE_HOME/lmgate.yaml (default ~/.lmgate/lmgate.yaml); \
            when it does not exist, lmgate makes it with a self-signed certificate for this host, a main API \
            key (printed once) and an empty htpasswd file, listening with TLS on --listen (default 0.0.0.0:8443). \
            A listener that other machines can reach never runs without authentication, and the backend \
            answers only this proxy (a key made at each start; `lmgate status` reads it from \
            $LMGATE_HOME/backend-PORT.key). \
            SIGHUP reloads certificates, users, keys, allowlists and queue settings; SIGTERM drains and stops both parts.
            """)

    @Option(help: "The configuration file (default: $LMGATE_HOME/lmgate.yaml, made on first run).")
    var config: String?

    @Option(help: "The GGUF model the backend serves (overrides backend.model; default: \(DefaultModel.relativePath) when scripts/setup installed it).")
    var model: String?

    @Option(name: .customLong("models-dir"), help: "A folder of GGUF models loaded on demand (overrides backend.models_dir and backend.model).")
    var modelsDir: String?

    @Option(name: .customLong("backend-port"), help: "The backend's loopback port (overrides backend.port; default 1234).")
    var backendPort: Int?

    @OptionGroup var options: ProxyOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let home = GatewayHome.standard(environment: environment)
        var firstRun = FirstRun.Outcome()
        if self.config == nil {
            let listen = self.options.listen.isEmpty ? ["0.0.0.0:8443"] : self.options.listen
            do {
                firstRun = try FirstRun.prepare(home, listen: listen, backendPort: self.backendPort ?? 1234)
            } catch {
                throw ValidationError("cannot prepare \(home.directory): \(error)")
            }
        }
        let file = self.config ?? home.configurationFile
        var backend: BackendSettings
        do {
            backend = try BackendSettings(file: file)
        } catch {
            throw ValidationError("invalid configuration:\n\(error.description)")
        }
        if let model {
            backend.model = model
            backend.modelsDirectory = nil
        }
        if let modelsDir {
            backend.modelsDirectory = modelsDir
            backend.model = nil
        }
        if let backendPort {
            guard (1...65535).contains(backendPort) else { throw ValidationError("--backend-port must be a port number") }
            backend.port = backendPort
        }
        let modelPath: String
        if let folder = backend.modelsDirectory {
            // Checked here too, so that a bad folder stops serve with its reason rather than a backend restarting forever.
            do {
                _ = try ModelFolder.scan(folder)
            } catch {
                throw ValidationError(error.description)
            }
            modelPath = folder
        } else {
            modelPath = try DefaultModel.path(
                named: backend.model, currentDirectory: FileManager.default.currentDirectoryPath,
                setting: "--model FILE.gguf, --models-dir FOLDER, or backend.model in \(file)", exists: FileManager.default.fileExists(atPath:))
            backend.model = modelPath
            guard FileManager.default.isReadableFile(atPath: modelPath) else {
                throw ValidationError("cannot read the model file '\(modelPath)'")
            }
        }

        ProcessLogging.bootstrap()
        let logger = Logger(label: "lmgate.serve")
        // A new key at each start: only this proxy may use the backend (see BackendKey). The child
        // gets it in its environment, the proxy as an override, `lmgate status` from a 0600 file.
        let backendKey = BackendKey.generate()
        let source = ProxyRuntime.ConfigurationSource(
            file: file, ignoringSections: BackendSettings.sections, environment: environment,
            overrides: try self.options.overrides()
                + [ConfigurationOverride(key: "auth.upstream_api_key", value: backendKey.value)])
        // Read once; the safety rule is checked on the settings as they will run, before anything listens.
        let configuration: ProxyConfiguration
        do {
            configuration = try source.load()
        } catch {
            throw ValidationError("invalid configuration:\n\(error.description)")
        }
        if let problem = ExposureCheck.problem(in: configuration) { throw ValidationError("refusing to start: \(problem)") }

        let keyFile = home.backendKeyFile(port: backend.port)
        do {
            try backendKey.write(to: keyFile)
        } catch {
            throw ValidationError("\(error)")
        }
        defer { unlink(keyFile) }
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let supervisor = BackendSupervisor(
            executable: executable, arguments: backend.backendArguments,
            environment: [BackendKey.environmentVariable: backendKey.value], logger: logger)
        try supervisor.start()
        let proxy: ProxyRuntime
        do {
            proxy = try await ProxyRuntime.start(
                configuration: configuration, source: source, sharedStore: PostgresUsageStore.maker, logger: logger)
        } catch {
            await supervisor.stop(grace: .seconds(5))
            if let error = error as? ProxyRuntimeError { throw ValidationError(error.description) }
            throw error
        }
        let health = "http://127.0.0.1:\(backend.port)/health"
        let banner = StartupBanner(proxy: proxy, model: modelPath, home: home, firstRun: firstRun).text + "\n"
        let announcement = ReadinessAnnouncement(
            isReady: { await LoopbackFetch.get(health) != nil },
            late: { logger.warning("the backend has not finished loading its model; requests get 503 until it has") },
            // Written in one piece, unbuffered: whoever started lmgate (a terminal, a test) sees it at once.
            announce: { FileHandle.standardOutput.write(Data(banner.utf8)) })
        try await GatewayServices.serve(
            backend: BackendService(supervisor: supervisor), proxy: await ProxyService(runtime: proxy, logger: logger),
            announcement: announcement, logger: logger
        ).run()
    }
}
