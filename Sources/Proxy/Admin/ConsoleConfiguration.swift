/// The admin console at `/admin` on the proxy's listeners (``AdminConsole``).
///
/// On by default wherever access control authenticates: it answers only
/// admin-scope keys and Basic users given the `admin` right, and everyone
/// else gets its login page or a refusal. Off (`console.enabled: false`),
/// `/admin` is an ordinary admin path again, forwarded to the upstream for
/// admin-scope identities. Read at start: a change needs a restart.
public struct ConsoleConfiguration: Sendable, Equatable {
    /// Whether `/admin` is the console.
    public var enabled = true
    /// How long a console session lasts after its login.
    public var sessionLifetime: Duration = .seconds(8 * 3600)

    public init() {}
}

extension ConfigurationSetting {
    static let consoleSettings: [ConfigurationSetting] = [
        .init(key: "console.enabled", expected: "true or false") { draft, value in
            setting(&draft.configuration.console.enabled, value, SettingValueParsing.boolean)
        },
        .init(key: "console.session_lifetime", expected: "a duration such as 8h (at least 1m)") { draft, value in
            guard let duration = value.text.flatMap(SettingValueParsing.duration), duration >= .seconds(60) else {
                return false
            }
            draft.configuration.console.sessionLifetime = duration
            return true
        },
    ]
}
