import ArgumentParser
import Foundation
import Gateway
import Logging
import PostgresState
import Proxy

extension UsageReport.Column: ExpressibleByArgument {}

/// `lmgate usage`: the usage the proxy has accounted (requests, tokens,
/// errors per key or user, model and hour), read from its SQLite file —
/// while the proxy runs, too (the file is in WAL mode) — or from the
/// PostgreSQL database its replicas share (`state.postgres`).
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show requests, tokens and errors per key or user, model and hour.")

    @Option(help: "The configuration file (default: $LMGATE_HOME/lmgate.yaml); names the database (state.postgres, state.path, or beside auth.keys_file).")
    var config: String?

    @Option(help: "The usage database itself (instead of reading it from the configuration).")
    var database: String?

    @Option(help: "From this time: a UTC date (2026-12-07), time (2026-12-07T10:00:00Z) or span back (90m, 24h, 7d). Default: all.")
    var since: String?

    @Option(help: "Until this time (same forms as --since). Default: now.")
    var until: String?

    @Option(help: "Only this API key (its name).")
    var key: String?

    @Option(help: "Only this Basic user.")
    var user: String?

    @Option(help: "Only this model (as the upstream names it).")
    var model: String?

    @Option(parsing: .upToNextOption, help: "Group by these columns: hour, day, identity, model (default: identity model).")
    var by: [UsageReport.Column] = [.identity, .model]

    @Flag(help: "Print JSON (an array of lines) instead of a table.")
    var json = false

    func validate() throws {
        if self.key != nil && self.user != nil { throw ValidationError("give --key or --user, not both") }
        for (name, value) in [("--since", self.since), ("--until", self.until)] {
            if let value, UsageQuery.time(value) == nil {
                throw ValidationError("\(name) takes a date (2026-12-07), a UTC time (2026-12-07T10:00:00Z) or a span (24h, 7d), not '\(value)'")
            }
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let source = try self.source(environment: environment)
        var query = UsageQuery()
        // A range starting inside an hour takes in that whole hour: usage is kept per hour.
        if let since = self.since.flatMap({ UsageQuery.time($0) }) { query.from = since - ((since % 3600) + 3600) % 3600 }
        if let until = self.until.flatMap({ UsageQuery.time($0) }) { query.to = until }
        query.identity = self.key.map(APIKey.identity(ofKeyNamed:)) ?? self.user
        query.model = self.model
        let logger = Logger(label: "lmgate.usage", factory: { _ in SwiftLogNoOpLogHandler() })
        let store: any UsageStore
        let rows: [UsageRow]
        do {
            switch source {
            case .file(let path):
                store = try await SQLiteUsageStore.open(path: path, create: false, logger: logger)
            case .postgres(let settings, let passwordFile):
                let shared = PostgresUsageStore(settings: settings, passwordFile: passwordFile, logger: logger)
                store = shared
                do {
                    try await shared.connect()
                } catch {
                    await shared.close()
                    throw error
                }
            }
        } catch {
            throw ValidationError("\(error)")
        }
        do {
            rows = try await store.rows(query)
            await store.close()
        } catch {
            await store.close()
            throw ValidationError(error.description)
        }
        let report = UsageReport(rows: rows, by: self.by)
        print(self.json ? report.json() : report.table(), terminator: "")
    }

    /// Where the usage is kept.
    private enum Source {
        case file(String)
        case postgres(PostgresSettings, passwordFile: String?)
    }

    /// `--database`, or the database the configuration names.
    private func source(environment: [String: String]) throws -> Source {
        if let database = self.database { return .file(database) }
        let home = GatewayHome.standard(environment: environment)
        let file = self.config ?? home.configurationFile
        guard FileManager.default.fileExists(atPath: file) else {
            guard self.config == nil else { throw ValidationError("no configuration file at \(file)") }
            return .file(home.directory + "/" + StateConfiguration.defaultFileName)
        }
        let proxy: ProxyConfiguration
        do {
            proxy = try ProxyConfigurationLoader.load(
                file: file, ignoringSections: BackendSettings.sections, environment: environment, overrides: [])
        } catch {
            throw ValidationError("invalid configuration \(file):\n\(error.description)")
        }
        if let postgres = proxy.state.postgres {
            return .postgres(postgres, passwordFile: proxy.state.postgresPasswordFile)
        }
        guard let path = proxy.state.databasePath(keysPath: proxy.access.keysPath) else {
            throw ValidationError("\(file) keeps no usage (state.path is off, or no auth.keys_file to keep it beside); give --database")
        }
        return .file(path)
    }
}
