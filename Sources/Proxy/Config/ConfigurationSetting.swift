/// A value for one setting, as it arrived from a file, the environment or a flag.
enum SettingValue: Sendable {
    case scalar(String)
    case list([String])

    /// The value as a list; environment variables and flags separate items with commas.
    var items: [String] {
        switch self {
        case .scalar(let text):
            return text.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        case .list(let items):
            return items
        }
    }

    var text: String? {
        if case .scalar(let text) = self { return text }
        return nil
    }
}

/// One named setting and how it changes a ``ProxyConfiguration``.
///
/// The one table of settings, ``ConfigurationSetting/all``, serves the YAML
/// file (dotted keys are nested maps), the environment
/// (`LMGATE_PROXY_` + key in capitals with `_` for `.`) and the `--set key=value`
/// flag alike, so every setting is reachable from all three.
struct ConfigurationSetting: Sendable {
    /// The dotted key, e.g. `limits.max_body_bytes`.
    let key: String
    /// What the value should look like, for error messages.
    let expected: String
    let apply: @Sendable (inout ConfigurationDraft, SettingValue) -> Bool

    /// The environment variable that carries this setting.
    var environmentName: String {
        "LMGATE_PROXY_" + self.key.uppercased().map { $0 == "." ? "_" : $0 }.map(String.init).joined()
    }

    static let all: [ConfigurationSetting] = [
        .init(key: "listen", expected: "addresses such as 127.0.0.1:8443, https://0.0.0.0:8443 or http://127.0.0.1:8080") {
            draft, value in
            draft.listen = value.items
            return !value.items.isEmpty
        },
        .init(key: "tls.certificate", expected: "a PEM certificate file path") { draft, value in
            draft.tlsCertificate = value.text
            return value.text != nil
        },
        .init(key: "tls.key", expected: "a PEM private key file path") { draft, value in
            draft.tlsKey = value.text
            return value.text != nil
        },
        .init(key: "allow_plain_non_loopback", expected: "true or false") { draft, value in
            setting(&draft.configuration.allowPlainNonLoopback, value, SettingValueParsing.boolean)
        },
        .init(key: "upstreams", expected: "http://host:port URLs") { draft, value in
            draft.upstreams = value.items
            return !value.items.isEmpty
        },
        .init(key: "admin.listen", expected: "an address such as 127.0.0.1:9090") { draft, value in
            guard let text = value.text, let address = HostAndPort(parsing: Substring(text)) else { return false }
            draft.configuration.adminAddress = address
            return true
        },
        .init(key: "admin.metrics_path", expected: "a path starting with /") { draft, value in
            guard let text = value.text, text.hasPrefix("/") else { return false }
            draft.configuration.metricsPath = text
            return true
        },
        .init(key: "access_log", expected: "true or false") { draft, value in
            setting(&draft.configuration.accessLog, value, SettingValueParsing.boolean)
        },
        .init(key: "event_loops", expected: "a number of threads, at least 1") { draft, value in
            guard let text = value.text, let count = SettingValueParsing.count(text), count >= 1 else { return false }
            draft.configuration.eventLoops = count
            return true
        },
        .init(key: "limits.max_header_bytes", expected: "a byte count such as 32k") { draft, value in
            setting(&draft.configuration.limits.maxHeaderBytes, value, SettingValueParsing.byteCount)
        },
        .init(key: "limits.max_body_bytes", expected: "a byte count such as 64m") { draft, value in
            setting(&draft.configuration.limits.maxBodyBytes, value, SettingValueParsing.byteCount)
        },
        .init(key: "limits.max_connections", expected: "a whole number") { draft, value in
            setting(&draft.configuration.limits.maxConnections, value, SettingValueParsing.count)
        },
        .init(key: "limits.max_connections_per_address", expected: "a whole number") { draft, value in
            setting(&draft.configuration.limits.maxConnectionsPerAddress, value, SettingValueParsing.count)
        },
        .init(key: "limits.min_body_rate", expected: "a byte count per second such as 1k, or 0 for none") { draft, value in
            setting(&draft.configuration.limits.minBodyRate, value, SettingValueParsing.byteCount)
        },
        .init(key: "limits.max_idle_upstream_connections", expected: "a whole number") { draft, value in
            setting(&draft.configuration.limits.maxIdleUpstreamConnections, value, SettingValueParsing.count)
        },
        .init(key: "timeouts.request_head", expected: "a duration such as 30s") { draft, value in
            setting(&draft.configuration.timeouts.requestHead, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.client_body", expected: "a duration such as 60s") { draft, value in
            setting(&draft.configuration.timeouts.clientBody, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.client_body_total", expected: "a duration such as 300s") { draft, value in
            setting(&draft.configuration.timeouts.clientBodyTotal, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.body_rate_grace", expected: "a duration such as 10s") { draft, value in
            setting(&draft.configuration.timeouts.bodyRateGrace, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.client_send", expected: "a duration such as 60s") { draft, value in
            setting(&draft.configuration.timeouts.clientSend, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.upstream_connect", expected: "a duration such as 5s") { draft, value in
            setting(&draft.configuration.timeouts.upstreamConnect, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.upstream_read", expected: "a duration such as 300s") { draft, value in
            setting(&draft.configuration.timeouts.upstreamRead, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.upstream_idle", expected: "a duration such as 60s") { draft, value in
            setting(&draft.configuration.timeouts.upstreamIdle, value, SettingValueParsing.duration)
        },
        .init(key: "timeouts.shutdown", expected: "a duration such as 30s") { draft, value in
            setting(&draft.configuration.timeouts.shutdownGrace, value, SettingValueParsing.duration)
        },
        .init(key: "health.probe_interval", expected: "a duration such as 1s") { draft, value in
            setting(&draft.configuration.health.probeInterval, value, SettingValueParsing.duration)
        },
        .init(key: "health.max_probe_interval", expected: "a duration such as 30s") { draft, value in
            setting(&draft.configuration.health.maxProbeInterval, value, SettingValueParsing.duration)
        },
        .init(key: "websocket.enabled", expected: "true or false") { draft, value in
            setting(&draft.configuration.webSocket.enabled, value, SettingValueParsing.boolean)
        },
        .init(key: "websocket.listeners", expected: "listener addresses such as 0.0.0.0:8443, or none for every listener") {
            draft, value in
            // Written as in `listen`, perhaps with its https:// or http://.
            let addresses = value.items.map { text in
                HostAndPort(parsing: text.range(of: "://").map { text[$0.upperBound...] } ?? Substring(text))
            }
            guard addresses.allSatisfy({ $0 != nil }) else { return false }
            draft.configuration.webSocket.listeners = addresses.compactMap { $0 }
            return true
        },
        .init(key: "websocket.max_connections", expected: "a whole number, at least 1") { draft, value in
            setting(&draft.configuration.webSocket.maxConnections, value, SettingValueParsing.count)
        },
        .init(key: "websocket.idle_timeout", expected: "a duration such as 300s") { draft, value in
            setting(&draft.configuration.webSocket.idleTimeout, value, SettingValueParsing.duration)
        },
        .init(key: "websocket.max_duration", expected: "a duration such as 1h") { draft, value in
            setting(&draft.configuration.webSocket.maxDuration, value, SettingValueParsing.duration)
        },
        .init(key: "websocket.origins", expected: "origins such as https://chat.example.org, or *") { draft, value in
            draft.configuration.webSocket.origins = value.items
            return true
        },
    ] + accessSettings + upstreamQueueSettings + stateSettings + consoleSettings

    static func named(_ key: String) -> ConfigurationSetting? {
        all.first { $0.key == key }
    }

    static func setting<Value>(
        _ target: inout Value,
        _ value: SettingValue,
        _ parse: (String) -> Value?
    ) -> Bool {
        guard let text = value.text, let parsed = parse(text) else { return false }
        target = parsed
        return true
    }
}

/// A configuration being assembled: settings that depend on each other
/// (listeners and their TLS files, upstream URLs) are kept as text until all
/// sources have been applied, then resolved by ``ProxyConfigurationLoader``.
struct ConfigurationDraft: Sendable {
    var configuration = ProxyConfiguration()
    var listen: [String] = []
    var tlsCertificate: String?
    var tlsKey: String?
    var upstreams: [String] = []
}
