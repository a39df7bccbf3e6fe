import Foundation
import Proxy

/// What `lmgate serve` makes when it starts without a configuration: a
/// self-signed certificate for this host's names and addresses, a main API
/// key (shown once, stored hashed), an empty htpasswd file for Basic users,
/// and a configuration that listens with TLS and requires authentication.
/// Nothing that exists is overwritten.
public enum FirstRun {
    /// What was made.
    public struct Outcome: Sendable {
        /// Whether the configuration file was written now.
        public var wroteConfiguration = false
        /// The certificate made now, if one was.
        public var certificate: SelfSignedCertificate?
        /// The main API key made now, to show once; `nil` if the keys file existed.
        public var mainKey: String?

        /// Nothing made (the configuration existed, or none was asked for).
        public init() {}
    }

    /// Makes whatever of the first-run files is missing, when `home` has no
    /// configuration yet; otherwise does nothing.
    /// - Parameter listen: the listeners the new configuration names.
    public static func prepare(_ home: GatewayHome, listen: [String], backendPort: Int) throws -> Outcome {
        var outcome = Outcome()
        let files = FileManager.default
        guard !files.fileExists(atPath: home.configurationFile) else { return outcome }
        try files.createDirectory(
            atPath: home.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])

        outcome.certificate = try SelfSignedCertificate.createIfMissing(
            TLSCertificateFiles(certificateChainPath: home.certificateFile, privateKeyPath: home.privateKeyFile))
        if !files.fileExists(atPath: home.keysFile) {
            let (key, stored) = APIKey.generate(name: "main", scope: .admin, expires: nil)
            try APIKeyFile(keys: [stored]).write(to: home.keysFile)
            outcome.mainKey = key
        }
        if !files.fileExists(atPath: home.htpasswdFile) {
            guard files.createFile(atPath: home.htpasswdFile, contents: Data(), attributes: [.posixPermissions: 0o600]) else {
                throw FirstRunError(description: "cannot create \(home.htpasswdFile)")
            }
        }
        let configuration = Self.configuration(home: home, listen: listen, backendPort: backendPort)
        guard files.createFile(
            atPath: home.configurationFile, contents: Data(configuration.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw FirstRunError(description: "cannot write \(home.configurationFile)")
        }
        outcome.wroteConfiguration = true
        return outcome
    }

    /// The configuration written on first run: TLS, authentication required.
    static func configuration(home: GatewayHome, listen: [String], backendPort: Int) -> String {
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        return """
            # lmgate serve configuration, written on its first run. Every proxy setting
            # (see conf/lmgate.yaml in lmgate's sources) can be added here.
            listen: [\(listen.map(quoted).joined(separator: ", "))]
            tls:
              certificate: \(quoted(home.certificateFile))
              key: \(quoted(home.privateKeyFile))
            upstreams: ["http://127.0.0.1:\(backendPort)"]
            auth:
              keys_file: \(quoted(home.keysFile))       # lmgate keys create NAME --file …
              htpasswd: \(quoted(home.htpasswdFile))    # swift-htpasswd -B … NAME
              methods: either
            backend:
              # model: /path/to/model.gguf   # or --model; default: \(DefaultModel.relativePath) when scripts/setup installed it
              port: \(backendPort)

            """
    }
}

/// A first-run file that could not be made.
public struct FirstRunError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
