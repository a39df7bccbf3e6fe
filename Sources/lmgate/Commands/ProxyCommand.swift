import ArgumentParser
import Dispatch
import Foundation
import Logging
import Proxy

/// `lmgate proxy`: the TLS reverse proxy. Parses flags into configuration
/// overrides, starts a ``ProxyServer`` and stops it gracefully on SIGTERM or SIGINT.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the TLS reverse proxy in front of one or more OpenAI-compatible servers.",
        discussion: """
            Settings come from, in increasing precedence: defaults, the YAML file given \
            with --config, LMGATE_PROXY_* environment variables (e.g. LMGATE_PROXY_LIMITS_MAX_BODY_BYTES) \
            and flags. Any setting can be given with --set KEY=VALUE (e.g. --set timeouts.upstream_read=120s).
            """
    )

    @Option(name: .long, help: "A YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "An address to accept clients on, e.g. 127.0.0.1:8443 (repeatable).")
    var listen: [String] = []

    @Option(name: .customLong("tls-cert"), help: "PEM certificate (chain) for TLS listeners.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for TLS listeners.")
    var tlsKey: String?

    @Option(name: .long, help: "An upstream server, e.g. http://127.0.0.1:1234 (repeatable).")
    var upstream: [String] = []

    @Flag(name: .customLong("allow-plain-http"), help: "Allow plain HTTP listeners on non-loopback addresses.")
    var allowPlainHTTP = false

    @Option(name: .customLong("admin-listen"), help: "Address of the admin listener serving /metrics and /healthz.")
    var adminListen: String?

    @Option(name: .long, help: "An htpasswd file: clients authenticate with HTTP Basic.")
    var htpasswd: String?

    @Option(name: .long, help: "A keys file made by `lmgate keys create`: clients authenticate with API keys.")
    var keys: String?

    @Option(name: .customLong("api-key"), help: "A single API key clients must send (or LMGATE_API_KEY).")
    var apiKey: String?

    @Option(name: .long, help: "Only these client addresses may connect, e.g. 192.168.1.0/24 (repeatable).")
    var allow: [String] = []

    @Option(name: .long, help: "Refuse these client addresses, e.g. 192.168.1.13 (repeatable).")
    var deny: [String] = []

    @Option(name: .customLong("trusted-proxy"), help: "A proxy whose X-Forwarded-For is believed (repeatable).")
    var trustedProxy: [String] = []

    @Option(name: .long, help: "Any setting as KEY=VALUE (repeatable).")
    var set: [String] = []

    func run() async throws {
        var overrides: [ConfigurationOverride] = []
        for assignment in self.set {
            guard let override = ConfigurationOverride(assignment: assignment) else {
                throw ValidationError("--set expects KEY=VALUE, got '\(assignment)'")
            }
            overrides.append(override)
        }
        if !self.listen.isEmpty { overrides.append(.init(key: "listen", values: self.listen)) }
        if let tlsCertificate { overrides.append(.init(key: "tls.certificate", value: tlsCertificate)) }
        if let tlsKey { overrides.append(.init(key: "tls.key", value: tlsKey)) }
        if !self.upstream.isEmpty { overrides.append(.init(key: "upstreams", values: self.upstream)) }
        if self.allowPlainHTTP { overrides.append(.init(key: "allow_plain_non_loopback", value: "true")) }
        if let adminListen { overrides.append(.init(key: "admin.listen", value: adminListen)) }
        if let htpasswd { overrides.append(.init(key: "auth.htpasswd", value: htpasswd)) }
        if let keys { overrides.append(.init(key: "auth.keys_file", value: keys)) }
        // As llama.cpp's LLAMA_API_KEY: the single key may come from the environment.
        if let apiKey = self.apiKey ?? ProcessInfo.processInfo.environment["LMGATE_API_KEY"] {
            overrides.append(.init(key: "auth.api_key", value: apiKey))
        }
        if !self.allow.isEmpty { overrides.append(.init(key: "access.allow", values: self.allow)) }
        if !self.deny.isEmpty { overrides.append(.init(key: "access.deny", values: self.deny)) }
        if !self.trustedProxy.isEmpty { overrides.append(.init(key: "access.trusted_proxies", values: self.trustedProxy)) }

        let configuration: ProxyConfiguration
        let (file, finalOverrides) = (self.config, overrides)
        do {
            configuration = try ProxyConfigurationLoader.load(
                file: file, environment: ProcessInfo.processInfo.environment, overrides: finalOverrides)
        } catch {
            throw ValidationError("invalid configuration:\n\(error.description)")
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "lmgate.proxy")
        // Access control re-reads the settings (for allowlists) from the same sources on reload.
        let access: AccessControl
        do {
            access = try AccessControl(
                configuration: configuration.access, logger: logger,
                configurationSource: {
                    try ProxyConfigurationLoader.load(
                        file: file, environment: ProcessInfo.processInfo.environment, overrides: finalOverrides
                    ).access
                },
                configurationFile: file)
        } catch {
            throw ValidationError("cannot start access control: \(error.description)")
        }
        access.startWatching()
        defer { access.stop() }
        let server = ProxyServer(configuration: configuration, logger: logger, admission: access)
        try await server.start()

        // SIGHUP reloads the TLS certificates and keys, the htpasswd and keys
        // files and the allowlists without dropping connections.
        signal(SIGHUP, SIG_IGN)
        let reloadSource = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        reloadSource.setEventHandler {
            logger.info("SIGHUP: reloading TLS certificates and access control")
            server.reloadCertificates()
            access.reload()
        }
        reloadSource.resume()
        defer { reloadSource.cancel() }

        await Self.waitForTerminationSignal()
        logger.info("shutting down: no new connections, letting open requests finish")
        await server.shutdown()
    }

    /// Suspends until SIGTERM or SIGINT arrives.
    private static func waitForTerminationSignal() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumed = SignalLatch(continuation)
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { resumed.resume() }
                source.resume()
                resumed.keep(source)
            }
        }
    }
}

/// Resumes a continuation once, whichever signal comes first, and keeps the
/// signal sources alive until then.
private final class SignalLatch: @unchecked Sendable {
    // Guarded by `lock`.
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []
    private let lock = NSLock()

    init(_ continuation: CheckedContinuation<Void, Never>) {
        self.continuation = continuation
    }

    func keep(_ source: any DispatchSourceSignal) {
        self.lock.withLock { self.sources.append(source) }
    }

    func resume() {
        let continuation = self.lock.withLock { () -> CheckedContinuation<Void, Never>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume()
    }
}
