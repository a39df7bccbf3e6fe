import Foundation

/// Where the proxy keeps usage accounting and token-quota state (the
/// `state` section of the configuration).
///
/// - `state.path: /var/lib/lmgate/usage.sqlite`: an SQLite file
///   (``SQLiteUsageStore``), made if missing;
/// - unset: `usage.sqlite` beside the keys file (`auth.keys_file`), so
///   `lmgate serve` keeps it in `~/.lmgate/`; no keys file, no accounting;
/// - `state.path: off`: no accounting; token quotas are then counted in
///   memory only, and a restart resets them;
/// - `state.postgres: postgres://…`: a PostgreSQL database shared by several
///   proxies (``PostgresUsageStore``), in place of the file; see docs/POLICY.md.
public struct StateConfiguration: Sendable, Equatable {
    /// The setting as written: a path, `off`, or `nil` for the default.
    public var path: String?
    /// The shared PostgreSQL database, if any (`state.postgres`).
    public var postgres: PostgresSettings?
    /// The file holding its password (`state.postgres_password_file`).
    public var postgresPasswordFile: String?
    /// What requests that need the shared state get while it is unreachable.
    public var onUnavailable: SharedStateFailureMode = .closed

    public init(path: String? = nil, postgres: PostgresSettings? = nil, postgresPasswordFile: String? = nil) {
        self.path = path
        self.postgres = postgres
        self.postgresPasswordFile = postgresPasswordFile
    }

    /// The file name used beside the keys file.
    public static let defaultFileName = "usage.sqlite"

    /// The database file in use with this keys file, or `nil` for none.
    public func databasePath(keysPath: String?) -> String? {
        switch self.path {
        case "off": return nil
        case let path?: return path
        case nil:
            guard let keysPath else { return nil }
            return URL(fileURLWithPath: keysPath).deletingLastPathComponent().appendingPathComponent(Self.defaultFileName).path
        }
    }
}

extension ConfigurationSetting {
    /// The `state` rows of ``ConfigurationSetting/all``.
    static let stateSettings: [ConfigurationSetting] = [
        .init(key: "state.path", expected: "an SQLite file path for usage and quota state, or off") { draft, value in
            guard let text = value.text, !text.isEmpty else { return false }
            draft.configuration.state.path = text
            return true
        },
        .init(
            key: "state.postgres",
            expected: "a postgres://USER@HOST:PORT/DATABASE URL, optionally with ?sslmode=disable|prefer|require, "
                + "and no password (it goes in state.postgres_password_file)"
        ) { draft, value in
            guard let text = value.text, let settings = PostgresSettings(url: text) else { return false }
            draft.configuration.state.postgres = settings
            return true
        },
        .init(key: "state.postgres_password_file", expected: "the path of a file holding the PostgreSQL password") { draft, value in
            guard let text = value.text, !text.isEmpty else { return false }
            draft.configuration.state.postgresPasswordFile = text
            return true
        },
        .init(key: "state.on_unavailable", expected: "closed or open") { draft, value in
            guard let mode = value.text.flatMap(SharedStateFailureMode.init(rawValue:)) else { return false }
            draft.configuration.state.onUnavailable = mode
            return true
        },
    ]
}
