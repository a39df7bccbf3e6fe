import ArgumentParser
import Backend
import Dispatch
import Foundation
import Gateway
import Logging

/// `lmgate backend`: serve a GGUF model with the OpenAI and Anthropic APIs on
/// a loopback address. Listens at once (`/health` answers 503 while the model
/// loads), then loads the model and serves it.
struct BackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Serve GGUF models with OpenAI- and Anthropic-compatible APIs on 127.0.0.1:1234.",
        discussion: """
            Endpoints: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, \
            POST /v1/messages, GET /health, GET /metrics. Only loopback addresses are served; \
            put `lmgate proxy` in front to admit other machines. Requests must name a loopback \
            Host, come from no other web origin, and post JSON. With --api-key (or \
            LMGATE_BACKEND_KEY) every endpoint but /health needs `Authorization: Bearer <key>` \
            (or `x-api-key: <key>`). \
            With --model the one model is loaded at start and answers to any name. With \
            --models-dir every *.gguf below the folder is listed (id: its path relative to the \
            folder without .gguf) and loaded on its first request; --idle-ttl, --max-loaded and \
            --max-memory unload idle and least recently used ones. POST /api/v1/models/load and \
            /api/v1/models/unload with {"model": ID} load and unload (see `lmgate models`).
            """)

    @Option(help: "The GGUF model file (default: \(DefaultModel.relativePath) when scripts/setup installed it).")
    var model: String?
    @Option(name: .customLong("models-dir"), help: "A folder of GGUF models, each loaded on its first request.")
    var modelsDir: String?
    @Option(name: .customLong("alias"), help: "Another name for a model, NAME=ID (repeatable), for clients with fixed names.")
    var aliases: [String] = []
    @Option(name: .customLong("idle-ttl"), help: "Unload a model idle this long (30s, 15m, 1h; default: keep).")
    var idleTTL: String?
    @Option(name: .customLong("model-ttl"), help: "A model's own idle TTL, ID=DURATION (repeatable).")
    var modelTTLs: [String] = []
    @Option(name: .customLong("max-loaded"), help: "The most models loaded at once.") var maxLoaded: Int?
    @Option(name: .customLong("max-memory"), help: "The most memory the loaded models may take (file sizes plus KV caches; 8g, 512m).")
    var maxMemory: String?
    @Option(name: .customLong("pin"), help: "A model never unloaded (repeatable).") var pinned: [String] = []
    @Option(help: "The address to listen on (loopback only).") var host: String = "127.0.0.1"
    @Option(help: "The port to listen on.") var port: Int = 1234
    @Option(help: "Threads the model computes on (default: all cores).") var threads: Int?
    @Option(help: "The most requests generated at once; each decoding step serves all of them.") var parallel: Int = 8
    @Option(help: "The most requests waiting beyond those; more get 503.") var queue: Int = 32
    @Option(
        name: .customLong("api-key"),
        help: "A key clients must send as 'Authorization: Bearer <key>' or 'x-api-key' (default: LMGATE_BACKEND_KEY, else none).")
    var apiKey: String?
    /// Set by `lmgate serve`, which supervises this process: if serve is
    /// killed outright (no chance to stop its backend), the backend must not
    /// live on holding the port.
    @Flag(name: .customLong("exit-with-parent"), help: .hidden) var exitWithParent = false

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        guard queue >= 0 else { throw ValidationError("--queue must be 0 or more") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
        if model != nil && modelsDir != nil { throw ValidationError("give --model or --models-dir, not both") }
        _ = try limits()
        _ = try aliasTable()
        if modelsDir == nil {
            let model = try modelPath()
            guard FileManager.default.isReadableFile(atPath: model) else { throw ValidationError("cannot read the model file '\(model)'") }
        }
    }

    /// `--model`, else the default model when it is installed.
    func modelPath() throws -> String {
        try DefaultModel.path(
            named: model, currentDirectory: FileManager.default.currentDirectoryPath, setting: "--model FILE.gguf",
            exists: FileManager.default.fileExists(atPath:))
    }

    func run() async throws {
        ProcessLogging.bootstrap()
        let logger = Logger(label: "lmgate.backend")
        let metrics = BackendMetrics(platform: .current())
        var scheduling = SchedulerConfiguration()
        scheduling.maxActiveSequences = parallel
        scheduling.maxQueuedRequests = queue
        scheduling.keptCaches = parallel
        if let threads { scheduling.threads = threads }
        let models = ModelHost()
        // From the environment, the key stays off the command line (which `ps` shows to every user);
        // `lmgate serve` hands its per-start key to this process that way.
        let key = (apiKey ?? ProcessInfo.processInfo.environment[BackendKey.environmentVariable]).flatMap(BackendAPIKey.init)
        let server: BackendServer
        do {
            server = try BackendServer(host: host, port: port, models: models, metrics: metrics, apiKey: key, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        _ = try await server.start()

        // Listening first: reading even the headers may wait (a slow disk, a file still being written).
        let entries = try entries()
        var limits = try limits()
        // `--model` is "this one model": loaded at start and kept.
        if modelsDir == nil { limits.pinned.insert(entries[0].id) }
        let registry: ModelRegistry
        do {
            registry = try ModelRegistry(
                entries: entries, aliases: try aliasTable(), limits: limits, configuration: scheduling, metrics: metrics, logger: logger)
        } catch let error as ModelFolderError {
            await server.shutdown()
            throw ValidationError(error.description)
        }
        for entry in entries where entry.problem != nil {
            logger.warning("a model file cannot be served", metadata: ["model.id": "\(entry.id)", "error": "\(entry.problem ?? "")"])
        }
        models.attach(registry)

        // Pinned models (the `--model` one among them) are loaded before the server reports ready.
        for id in limits.pinned.sorted() {
            do {
                _ = try await registry.load(id)
            } catch {
                logger.error("the model could not be loaded", metadata: ["model.id": "\(id)", "error": "\(error.message)"])
                await server.shutdown()
                throw ExitCode.failure
            }
        }
        models.ready()
        let loadedIDs = await registry.loadedIDs
        logger.info("models ready", metadata: ["models.count": "\(entries.count)", "models.loaded": "\(loadedIDs.joined(separator: ","))"])

        if exitWithParent {
            await ProcessSignals.terminationOrParentExit()
        } else {
            await ProcessSignals.termination()
        }
        logger.info("shutting down")
        await server.shutdown()
    }
}
