import Foundation

/// The directory where `lmgate serve` keeps what it made on its first run:
/// the configuration, the TLS certificate and key, the API keys file and the
/// htpasswd file, and the running backend's key. Only the owner may read it
/// (the private key is in it).
public struct GatewayHome: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `$LMGATE_HOME`, else `~/.lmgate`.
    public static func standard(environment: [String: String]) -> GatewayHome {
        if let home = environment["LMGATE_HOME"], !home.isEmpty { return GatewayHome(directory: home) }
        let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.currentDirectoryPath
        return GatewayHome(directory: user + "/.lmgate")
    }

    public var configurationFile: String { self.directory + "/lmgate.yaml" }
    public var certificateFile: String { self.directory + "/cert.pem" }
    public var privateKeyFile: String { self.directory + "/key.pem" }
    public var keysFile: String { self.directory + "/keys" }
    public var htpasswdFile: String { self.directory + "/users.htpasswd" }
    /// Where `lmgate serve` keeps the running backend's per-start key (see
    /// ``BackendKey``), for `lmgate status`; one per backend port, since
    /// several `serve`s may share a home.
    public func backendKeyFile(port: Int) -> String { self.directory + "/backend-\(port).key" }
}
