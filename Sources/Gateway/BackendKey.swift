import Foundation
import Proxy

/// The secret `lmgate serve` makes at each start so that only its own proxy
/// can use its backend: the backend requires it (`Authorization: Bearer …`)
/// on every endpoint but `/health`, and the proxy sends it
/// (`auth.upstream_api_key`) after removing the client's credentials.
/// Without it, any process on the machine, or a web page in a local
/// browser, could go around the proxy's authentication by talking to
/// 127.0.0.1:1234 directly.
///
/// The backend child gets it in its environment (``environmentVariable``),
/// never on its command line, which `ps` shows to every user. `lmgate
/// status` reads it from a file only the owner may read (``write(to:)``).
public struct BackendKey: Sendable {
    /// The environment variable `lmgate backend` reads its key from.
    public static let environmentVariable = "LMGATE_BACKEND_KEY"

    /// The key's text.
    public let value: String

    public init(value: String) {
        self.value = value
    }

    /// A new key: 256 random bits from OpenSSL's generator, as an API key is made.
    public static func generate() -> BackendKey {
        BackendKey(value: APIKey.generate(name: "backend", scope: .admin, expires: nil).key)
    }

    /// Writes the key to `path`, readable by the owner only (0600, set on the
    /// open descriptor before a byte is written, then moved into place so a
    /// reader never sees half a key). Creates the directory (0700) if missing.
    public func write(to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = path + ".new"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BackendKeyError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array((value + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        let closed = close(descriptor)
        guard written == bytes.count, closed == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw BackendKeyError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The key in the file at `path`, or `nil` if there is none.
    public static func read(from path: String) -> BackendKey? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : BackendKey(value: value)
    }
}

/// The key file could not be written.
public struct BackendKeyError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
