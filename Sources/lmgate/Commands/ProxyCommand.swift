import ArgumentParser
import Dispatch
import Foundation
import Gateway
import Logging
import PostgresState
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

    @OptionGroup var options: ProxyOptions

    func run() async throws {
        let overrides = try self.options.overrides()
        ProcessLogging.bootstrap(to: .standardOutput)
        let logger = Logger(label: "lmgate.proxy")
        let proxy: ProxyRuntime
        do {
            proxy = try await ProxyRuntime.start(
                file: self.config, ignoringSections: ["backend", "models"], environment: ProcessInfo.processInfo.environment,
                overrides: overrides, sharedStore: PostgresUsageStore.maker, logger: logger)
        } catch let error as ProxyRuntimeError {
            throw ValidationError(error.description)
        }

        // SIGHUP reloads the TLS certificates and keys, the htpasswd and keys
        // files, the allowlists and the queue settings without dropping
        // connections; SIGTERM drains.
        try await GatewayServices.proxy(await ProxyService(runtime: proxy, logger: logger), logger: logger).run()
    }
}
