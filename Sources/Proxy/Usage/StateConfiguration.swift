import Foundation

/// Where the proxy keeps usage accounting and token-quota state (the
/// `state` section of the configuration).
///
/// - `state.path: /var/lib/lmgate/usage.sqlite`: an SQLite file
///   (``SQLiteUsageStore``), made if missing;
/// - unset: `usage.sqlite` beside the keys file (`auth.keys_file`), so
///   `lmgate serve` keeps it in `~/.lmgate/`; no keys file, no accounting;
/// - `state.path: off`: no accounting; token quotas are then counted in
///   memory only, and a restart resets them.
public struct StateConfiguration: Sendable, Equatable {
    /// The setting as written: a path, `off`, or `nil` for the default.
    public var path: String?

    public init(path: String? = nil) {
        self.path = path
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
        }
    ]
}
