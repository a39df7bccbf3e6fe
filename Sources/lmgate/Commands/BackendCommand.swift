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
        abstract: "Serve a GGUF model with OpenAI- and Anthropic-compatible APIs on 127.0.0.1:1234.",
        discussion: """
            Endpoints: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, \
            POST /v1/messages, GET /health, GET /metrics. Only loopback addresses are served; \
            put `lmgate proxy` in front to admit other machines. Requests must name a loopback \
            Host, come from no other web origin, and post JSON. With --api-key (or \
            LMGATE_BACKEND_KEY) every endpoint but /health needs `Authorization: Bearer <key>` \
            (or `x-api-key: <key>`).
            """)

    @Option(help: "The GGUF model file (default: \(DefaultModel.relativePath) when scripts/setup installed it).")
    var model: String?
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
        let model = try modelPath()
        guard FileManager.default.isReadableFile(atPath: model) else { throw ValidationError("cannot read the model file '\(model)'") }
    }

    /// `--model`, else the default model when it is installed.
    private func modelPath() throws -> String {
        try DefaultModel.path(
            named: model, currentDirectory: FileManager.default.currentDirectoryPath, setting: "--model FILE.gguf",
            exists: FileManager.default.fileExists(atPath:))
    }

    func run() async throws {
        ProcessLogging.bootstrap()
        let logger = Logger(label: "lmgate.backend")
        let metrics = BackendMetrics(platform: .current())
        let models = ModelHost(metrics: metrics)
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

        var scheduling = SchedulerConfiguration()
        scheduling.maxActiveSequences = parallel
        scheduling.maxQueuedRequests = queue
        scheduling.keptCaches = parallel
        if let threads { scheduling.threads = threads }
        let path = try modelPath()
        let configuration = scheduling
        // Loading maps the file and builds the tokenizer: blocking work, off the cooperative pool.
        let loaded = await withCheckedContinuation { (continuation: CheckedContinuation<Result<ModelService, any Error>, Never>) in
            DispatchQueue.global().async {
                let progress = LoadingProgress(label: "loading \(URL(fileURLWithPath: path).lastPathComponent)")
                continuation.resume(returning: Result {
                    try ModelService(path: path, configuration: configuration, metrics: metrics, progress: progress.update)
                })
            }
        }
        switch loaded {
        case .success(let service):
            models.ready(service)
            logger.info(
                "model loaded",
                metadata: ["model.id": "\(service.id)", "model.context": "\(service.contextLength)", "model.quantization": "\(service.quantization)"])
        case .failure(let error):
            logger.error("the model could not be loaded", metadata: ["error": "\(error)"])
            await server.shutdown()
            throw ExitCode.failure
        }

        if exitWithParent {
            await ProcessSignals.terminationOrParentExit()
        } else {
            await ProcessSignals.termination()
        }
        logger.info("shutting down")
        await server.shutdown()
    }
}
