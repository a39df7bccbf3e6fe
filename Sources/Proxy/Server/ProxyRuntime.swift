import Foundation
import Logging
import NIOConcurrencyHelpers

/// A proxy as a command runs it: its configuration loaded from the file, the
/// environment and the command line, its access control made from the same
/// settings (and re-read from them on reload), and its server started.
///
/// `lmgate proxy` and `lmgate serve` both run one; they differ only in what
/// they put around it.
public final class ProxyRuntime: Sendable {
    /// The settings the proxy started with.
    public let configuration: ProxyConfiguration
    /// The running server.
    public let server: ProxyServer
    private let access: AccessControl
    /// Usage accounting, closed (its last usage written) after the server stops.
    private let usage: UsageAccounting?
    private let logger: Logger

    /// Loads the configuration and starts the proxy.
    /// - Parameters:
    ///   - file: the YAML configuration file, if any.
    ///   - ignoringSections: top-level sections of the file that belong to
    ///     another component (e.g. `backend` for `lmgate serve`).
    /// - Throws: ``ProxyRuntimeError`` naming every problem with the
    ///   settings or the files they name, or an error from binding a listener.
    public static func start(
        file: String?,
        ignoringSections: Set<String> = [],
        environment: [String: String],
        overrides: [ConfigurationOverride],
        sharedStore: SharedUsageStoreMaker? = nil,
        logger: Logger
    ) async throws -> ProxyRuntime {
        let source = ConfigurationSource(
            file: file, ignoringSections: ignoringSections, environment: environment, overrides: overrides)
        let configuration: ProxyConfiguration
        do {
            configuration = try source.load()
        } catch {
            throw ProxyRuntimeError(description: "invalid configuration:\n\(error.description)")
        }
        return try await self.start(configuration: configuration, source: source, sharedStore: sharedStore, logger: logger)
    }

    /// Starts the proxy with settings already loaded from `source` (which a
    /// reload reads again).
    /// - Throws: ``ProxyRuntimeError`` if a file the settings name cannot be
    ///   loaded, or an error from binding a listener.
    public static func start(
        configuration: ProxyConfiguration, source: ConfigurationSource, sharedStore: SharedUsageStoreMaker? = nil,
        logger: Logger
    ) async throws -> ProxyRuntime {
        let usage: UsageAccounting?
        do {
            usage = try await UsageAccounting.open(
                state: configuration.state, keysPath: configuration.access.keysPath, sharedStore: sharedStore, logger: logger)
        } catch {
            throw ProxyRuntimeError(description: "cannot start usage accounting: \(error.description)")
        }
        let access: AccessControl
        let server: ProxyServer
        // The server, once made: a reload puts its new queue settings in force.
        let reloadable = NIOLockedValueBox<ProxyServer?>(nil)
        do {
            do {
                // On reload the allowlists and the queue settings are read again
                // from the same sources; settings that fail to load change nothing.
                access = try AccessControl(
                    configuration: configuration.access, logger: logger,
                    configurationSource: {
                        let reloaded = try source.load()
                        reloadable.withLockedValue { $0 }?.reloadQueue(reloaded.queue)
                        return reloaded.access
                    },
                    configurationFile: source.file, listeners: configuration.listeners, usageAccounting: usage)
            } catch {
                throw ProxyRuntimeError(description: "cannot start access control: \(error.description)")
            }
            server = ProxyServer(configuration: configuration, logger: logger, admission: access)
            reloadable.withLockedValue { $0 = server }
            try await server.start()
        } catch {
            await usage?.close()
            throw error
        }
        access.startWatching()
        usage?.startWriting()
        return ProxyRuntime(configuration: configuration, server: server, access: access, usage: usage, logger: logger)
    }

    /// Where a proxy's settings come from: the file, the environment and the
    /// command line, read at start and again on every reload.
    public struct ConfigurationSource: Sendable {
        public let file: String?
        let ignoringSections: Set<String>
        let environment: [String: String]
        let overrides: [ConfigurationOverride]

        public init(
            file: String?, ignoringSections: Set<String> = [], environment: [String: String],
            overrides: [ConfigurationOverride]
        ) {
            self.file = file
            self.ignoringSections = ignoringSections
            self.environment = environment
            self.overrides = overrides
        }

        /// Reads the settings.
        public func load() throws(ConfigurationError) -> ProxyConfiguration {
            try ProxyConfigurationLoader.load(
                file: self.file, ignoringSections: self.ignoringSections, environment: self.environment,
                overrides: self.overrides)
        }
    }

    private init(
        configuration: ProxyConfiguration, server: ProxyServer, access: AccessControl, usage: UsageAccounting?, logger: Logger
    ) {
        self.configuration = configuration
        self.server = server
        self.access = access
        self.usage = usage
        self.logger = logger
    }

    /// What the proxy accepts from clients, in words, for a startup banner.
    public var authenticationSummary: String { self.access.summary }

    /// Re-reads the TLS certificates and the access-control files and
    /// settings (SIGHUP); open connections are not dropped.
    public func reload() {
        self.logger.info("reloading TLS certificates and access control")
        self.server.reloadCertificates()
        self.access.reload()
    }

    /// Stops accepting, lets open requests finish (bounded by the shutdown
    /// timeout), stops watching files, and writes the last usage.
    public func shutdown() async {
        self.access.stop()
        await self.server.shutdown()
        await self.usage?.close()
    }
}

/// Why a proxy could not start, in words for the user.
public struct ProxyRuntimeError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
