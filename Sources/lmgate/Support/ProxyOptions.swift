import ArgumentParser
import Foundation
import Proxy

/// The proxy's settings as flags, shared by `lmgate proxy` and `lmgate serve`.
/// Each flag stands for a configuration key and overrides the file and the
/// environment.
struct ProxyOptions: ParsableArguments {
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

    /// The flags given, as configuration overrides.
    func overrides() throws -> [ConfigurationOverride] {
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
        return overrides
    }
}
