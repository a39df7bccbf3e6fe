import Proxy

/// What `lmgate serve` prints once it listens: where, which authentication
/// it accepts, the certificate's fingerprint and how to trust it, and on the
/// first run the main API key (the only time it is shown).
public struct StartupBanner: Sendable {
    public let text: String

    public init(proxy: ProxyRuntime, model: String, home: GatewayHome, firstRun: FirstRun.Outcome) {
        let configuration = proxy.configuration
        var lines = ["lmgate is serving \(model)"]
        if model.hasSuffix("/" + DefaultModel.relativePath) {
            lines[0] += " (the default model; --model FILE.gguf or backend.model serves another)"
        }
        var example: String?
        for listener in configuration.listeners {
            let scheme = listener.isTLS ? "https" : "http"
            lines.append("  listening on \(scheme)://\(listener.address)")
            if example == nil {
                let host = ["0.0.0.0", "::", "[::]"].contains(listener.address.host) ? "localhost" : listener.address.host
                example = "\(scheme)://\(host):\(listener.address.port)"
            }
        }
        lines.append("  authentication: \(proxy.authenticationSummary)")
        var certificatePath: String?
        for listener in configuration.listeners {
            if case .tls(let certificate, _) = listener.security { certificatePath = certificate; break }
        }
        if let certificatePath {
            let fingerprint = SelfSignedCertificate.sha256Fingerprint(ofPEMFile: certificatePath) ?? "unreadable"
            lines.append("  certificate: \(certificatePath)")
            lines.append("    SHA-256 fingerprint: \(fingerprint)")
            lines.append("    clients trust it with e.g. curl --cacert \(certificatePath), or SSL_CERT_FILE for Python")
        }
        if let key = firstRun.mainKey {
            lines.append("  main API key (admin scope; shown only now, stored hashed in \(home.keysFile)):")
            lines.append("    \(key)")
        }
        if firstRun.wroteConfiguration {
            lines.append("  configuration written to \(home.configurationFile)")
            lines.append("  add keys: lmgate keys create NAME --file \(home.keysFile)")
            lines.append("  add users: swift-htpasswd -B \(home.htpasswdFile) NAME")
        }
        if let example {
            let trust = certificatePath.map { "--cacert \($0) " } ?? ""
            lines.append("  try: curl \(trust)\(example)/v1/models -H \"Authorization: Bearer $KEY\"")
        }
        self.text = lines.joined(separator: "\n")
    }
}
