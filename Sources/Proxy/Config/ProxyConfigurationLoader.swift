import Foundation
import Yams

/// One setting given on the command line: `--set key=value`, or a named flag
/// such as `--listen` that stands for a key.
public struct ConfigurationOverride: Sendable {
    public let key: String
    let value: SettingValue

    /// A single value; list settings split it on commas.
    public init(key: String, value: String) {
        self.key = key
        self.value = .scalar(value)
    }

    /// A list value, from a repeated flag.
    public init(key: String, values: [String]) {
        self.key = key
        self.value = .list(values)
    }

    /// Parses `key=value` as written after `--set`.
    public init?(assignment: String) {
        guard let equals = assignment.firstIndex(of: "=") else { return nil }
        self.init(key: String(assignment[..<equals]), value: String(assignment[assignment.index(after: equals)...]))
    }
}

/// Builds a ``ProxyConfiguration`` from, in increasing precedence, built-in
/// defaults, a YAML file, `LMGATE_PROXY_*` environment variables and
/// command-line overrides, then checks that the result can run.
///
/// Every problem found is reported at once, each naming the setting and where
/// its value came from.
///
/// A file uses the same keys as ``ConfigurationSetting/all``, nested:
///
/// ```yaml
/// listen: ["0.0.0.0:8443", "http://127.0.0.1:8080"]  # https:// or http:// forces TLS or plain
/// tls: { certificate: /etc/lmgate/cert.pem, key: /etc/lmgate/key.pem }
/// upstreams: ["http://127.0.0.1:1234", "http://192.168.1.20:1234"]
/// admin: { listen: "127.0.0.1:9090", metrics_path: /metrics }
/// limits: { max_header_bytes: 32k, max_body_bytes: 64m, max_connections: 4096 }
/// timeouts: { request_head: 30s, client_body: 60s, client_body_total: 300s, upstream_connect: 5s, upstream_read: 300s }
/// health: { probe_interval: 1s, max_probe_interval: 30s }
/// websocket: { enabled: false, listeners: [], max_connections: 64, idle_timeout: 300s, max_duration: 1h }
/// queue: { upstream_slots: 4, max_waiting: 256, max_per_identity: 32, timeout: 120s }
/// access_log: true
/// ```
///
/// The same setting from the environment is `LMGATE_PROXY_LIMITS_MAX_BODY_BYTES=64m`
/// (lists separated by commas), and from the command line `--set limits.max_body_bytes=64m`.
public enum ProxyConfigurationLoader {
    /// Loads and validates a configuration.
    /// - Parameters:
    ///   - file: path of a YAML file, or `nil` for none.
    ///   - environment: the process environment (only `LMGATE_PROXY_*` is read).
    ///   - overrides: settings from the command line, applied last.
    ///   - ignoringSections: top-level sections of the file that belong to
    ///     another component and are not proxy settings.
    public static func load(
        file: String?,
        ignoringSections: Set<String> = [],
        environment: [String: String],
        overrides: [ConfigurationOverride]
    ) throws(ConfigurationError) -> ProxyConfiguration {
        var draft = ConfigurationDraft()
        if let file {
            try apply(excluding(ignoringSections, from: try fileSettings(file)), to: &draft)
        }
        let fromEnvironment = ConfigurationSetting.all.compactMap { setting -> (String, SettingValue, String)? in
            environment[setting.environmentName].map { (setting.key, .scalar($0), setting.environmentName) }
        }
        try apply(fromEnvironment, to: &draft)
        try apply(overrides.map { ($0.key, $0.value, "the command line") }, to: &draft)
        return try resolve(draft)
    }

    /// The settings a YAML file holds, as dotted keys and their values (a
    /// list value as several strings), without checking them: for a
    /// component whose own section shares the proxy's file.
    public static func rawSettings(ofFile file: String) throws(ConfigurationError) -> [String: [String]] {
        var settings: [String: [String]] = [:]
        for (key, value, _) in try fileSettings(file) {
            switch value {
            case .scalar(let text): settings[key] = [text]
            case .list(let items): settings[key] = items
            }
        }
        return settings
    }

    private static func fileSettings(
        _ file: String
    ) throws(ConfigurationError) -> [(key: String, value: SettingValue, source: String)] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw .unreadableFile(file, "\(error.localizedDescription)")
        }
        return try yamlSettings(text, file: file)
    }

    /// Loads a configuration from YAML text alone (for tests and tools).
    public static func load(yaml: String, ignoringSections: Set<String> = []) throws(ConfigurationError) -> ProxyConfiguration {
        var draft = ConfigurationDraft()
        try apply(excluding(ignoringSections, from: try yamlSettings(yaml, file: "YAML")), to: &draft)
        return try resolve(draft)
    }

    private static func excluding(
        _ sections: Set<String>,
        from settings: [(key: String, value: SettingValue, source: String)]
    ) -> [(key: String, value: SettingValue, source: String)] {
        guard !sections.isEmpty else { return settings }
        return settings.filter { setting in
            !sections.contains(where: { setting.key == $0 || setting.key.hasPrefix($0 + ".") })
        }
    }

    private static func apply(
        _ settings: [(key: String, value: SettingValue, source: String)],
        to draft: inout ConfigurationDraft
    ) throws(ConfigurationError) {
        for (key, value, source) in settings {
            guard let setting = ConfigurationSetting.named(key) else {
                throw .unknownSetting(key, source: source)
            }
            guard setting.apply(&draft, value) else {
                throw .invalidValue(setting: key, source: source, "expected \(setting.expected)")
            }
        }
    }

    /// Flattens a YAML document into dotted keys: nested maps become
    /// `outer.inner`, sequences of scalars become lists.
    private static func yamlSettings(
        _ text: String,
        file: String
    ) throws(ConfigurationError) -> [(key: String, value: SettingValue, source: String)] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .unreadableFile(file, "\(error)")
        }
        guard let root else { return [] }
        guard case .mapping = root else { throw .unreadableFile(file, "the top level must be a map of settings") }
        var settings: [(key: String, value: SettingValue, source: String)] = []
        func walk(_ node: Node, key: String) throws(ConfigurationError) {
            switch node {
            case .scalar(let scalar):
                settings.append((key, .scalar(scalar.string), file))
            case .sequence(let sequence):
                var items: [String] = []
                for item in sequence {
                    guard case .scalar(let scalar) = item else {
                        throw .invalidValue(setting: key, source: file, "expected a list of plain values")
                    }
                    items.append(scalar.string)
                }
                settings.append((key, .list(items), file))
            case .mapping(let mapping):
                for (name, value) in mapping {
                    guard case .scalar(let nameScalar) = name else {
                        throw .invalidValue(setting: key, source: file, "map keys must be plain names")
                    }
                    try walk(value, key: key.isEmpty ? nameScalar.string : "\(key).\(nameScalar.string)")
                }
            case .alias:
                throw .invalidValue(setting: key, source: file, "aliases are not supported")
            }
        }
        try walk(root, key: "")
        return settings
    }

    /// Turns the draft into a configuration, collecting every problem.
    static func resolve(_ draft: ConfigurationDraft) throws(ConfigurationError) -> ProxyConfiguration {
        var configuration = draft.configuration
        var problems: [String] = []

        switch (draft.tlsCertificate, draft.tlsKey) {
        case (.some, .none):
            problems.append("tls.certificate is set but tls.key is not: give both (--tls-cert and --tls-key)")
        case (.none, .some):
            problems.append("tls.key is set but tls.certificate is not: give both (--tls-cert and --tls-key)")
        default:
            break
        }
        let tlsFiles = draft.tlsCertificate.flatMap { certificate in draft.tlsKey.map { (certificate, $0) } }
        for path in [draft.tlsCertificate, draft.tlsKey].compactMap({ $0 })
        where !FileManager.default.isReadableFile(atPath: path) {
            problems.append("TLS file \(path) does not exist or cannot be read")
        }

        if draft.listen.isEmpty {
            problems.append("no listener: give one with --listen 127.0.0.1:8443 (or 'listen' in the configuration file)")
        }
        for text in draft.listen {
            var rest = Substring(text)
            var wantsTLS: Bool?
            if rest.lowercased().hasPrefix("https://") {
                wantsTLS = true
                rest = rest.dropFirst("https://".count)
            } else if rest.lowercased().hasPrefix("http://") {
                wantsTLS = false
                rest = rest.dropFirst("http://".count)
            }
            guard let address = HostAndPort(parsing: rest) else {
                problems.append("listen: '\(text)' is not an address such as 127.0.0.1:8443 or [::1]:8443")
                continue
            }
            let security: ListenerConfiguration.Security
            if wantsTLS ?? (tlsFiles != nil) {
                guard let tlsFiles else {
                    problems.append("listen: \(text) asks for TLS but tls.certificate and tls.key are not set")
                    continue
                }
                security = .tls(certificatePath: tlsFiles.0, keyPath: tlsFiles.1)
            } else {
                security = .plain
                if !address.isLoopback && !configuration.allowPlainNonLoopback {
                    problems.append(
                        "listen: \(address) would serve plain HTTP on a non-loopback address; "
                            + "give a certificate (--tls-cert/--tls-key) or set allow_plain_non_loopback "
                            + "(--allow-plain-http) to accept that credentials cross the network unencrypted"
                    )
                }
            }
            configuration.listeners.append(ListenerConfiguration(address: address, security: security))
        }

        if draft.upstreams.isEmpty {
            problems.append("no upstream: give one with --upstream http://127.0.0.1:1234 (or 'upstreams' in the configuration file)")
        }
        for text in draft.upstreams {
            switch UpstreamAddress.parse(text) {
            case .success(let upstream): configuration.upstreams.append(upstream)
            case .failure(let problem): problems.append("upstreams: \(problem.message)")
            }
        }

        let limits = configuration.limits
        if !(1024...(1 << 20)).contains(limits.maxHeaderBytes) {
            problems.append("limits.max_header_bytes must be between 1k and 1m, got \(limits.maxHeaderBytes)")
        }
        if limits.maxConnections < 1 {
            problems.append("limits.max_connections must be at least 1")
        }
        if limits.maxConnectionsPerAddress < 1 {
            problems.append("limits.max_connections_per_address must be at least 1")
        }
        let timeouts = configuration.timeouts
        for (name, value) in [
            ("timeouts.request_head", timeouts.requestHead), ("timeouts.client_body", timeouts.clientBody),
            ("timeouts.client_send", timeouts.clientSend), ("timeouts.client_body_total", timeouts.clientBodyTotal),
            ("timeouts.upstream_connect", timeouts.upstreamConnect), ("timeouts.upstream_read", timeouts.upstreamRead),
            ("health.probe_interval", configuration.health.probeInterval),
        ] where value <= .zero {
            problems.append("\(name) must be longer than zero")
        }
        if let admin = configuration.adminAddress,
            configuration.listeners.contains(where: { $0.address == admin })
        {
            problems.append("admin.listen \(admin) is also a proxy listener: give it its own port")
        }
        problems += configuration.access.problems(listeners: configuration.listeners)
        problems += configuration.webSocket.problems(listeners: configuration.listeners)
        problems += configuration.queue.problems(upstreams: configuration.upstreams.count)

        if !problems.isEmpty { throw .invalidConfiguration(problems) }
        return configuration
    }
}
