import Foundation
import HtpasswdKit
import NIOPosix

/// One loaded, validated state of access control: the settings and
/// everything read from the files they name. Immutable; a reload builds a
/// new one and swaps it in only if it loaded completely.
final class AccessPolicy: Sendable {
    let configuration: AccessConfiguration
    let allowlist: SourceAllowlist
    /// The ranges of `access.allowlist_file` alone (the console's part of ``allowlist``).
    let allowlistFile: AllowlistFile
    /// Basic authentication, when an htpasswd file is configured.
    let basic: BasicAuthenticator?
    /// API keys by the SHA-256 of the key.
    let keys: [SecretDigest: APIKey]
    /// Limits by identity (`key:NAME` or the Basic user), for those that have any.
    let limits: [String: IdentityLimits]
    /// Basic users with the admin console (``UserLimitsFile/admins``).
    let consoleAdmins: Set<String>
    /// The SHA-256 of `auth.api_key`'s key, when it is set: that key lives in
    /// the configuration, not in the keys file, so nothing records its use
    /// and the console cannot change it.
    let configurationKeyDigest: SecretDigest?
    /// Warnings from loading (e.g. htpasswd lines that were skipped), for the log.
    let warnings: [String]

    /// Why a policy could not be loaded.
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// The name of the key given by `auth.api_key`.
    static let mainKeyName = "main"

    init(configuration: AccessConfiguration, hmac: ProcessKeyedHMAC, threadPool: NIOThreadPool) throws(LoadError) {
        self.configuration = configuration
        var warnings: [String] = []
        var fileRanges = AllowlistFile()
        if let path = configuration.allowlistPath {
            // Not made yet (the console makes it on its first change): no ranges of its own.
            do {
                fileRanges = try AllowlistFile.loadOrEmpty(path: path)
            } catch {
                throw LoadError(description: "allowlist file: \(error.description)")
            }
        }
        self.allowlistFile = fileRanges
        self.allowlist = SourceAllowlist(allow: configuration.allow + fileRanges.allow, deny: configuration.deny + fileRanges.deny)

        if let path = configuration.htpasswdPath {
            let file: HtpasswdFile
            do {
                file = try HtpasswdFile(contentsOfFile: path)
            } catch {
                throw LoadError(description: "htpasswd file: \(error.message)")
            }
            // A line that is not `user:hash` at all is what a half-written or
            // wrongly edited file looks like: refuse it rather than run with
            // users silently missing.
            if let malformed = file.diagnostics.first(where: { $0.kind == .malformedLine }) {
                throw LoadError(description: "htpasswd file \(path): \(malformed)")
            }
            warnings += file.diagnostics.map { "htpasswd file \(path): \($0)" }
            self.basic = BasicAuthenticator(
                file: file, cacheCapacity: configuration.cacheSize, hmac: hmac, threadPool: threadPool)
        } else {
            self.basic = nil
        }

        var keys: [SecretDigest: APIKey] = [:]
        if let path = configuration.keysPath, !FileManager.default.fileExists(atPath: path) {
            // Not made yet (`lmgate keys create` makes it): no keys, which refuses every key.
            warnings.append("keys file \(path) does not exist yet: no API keys are accepted until `lmgate keys create` makes it")
        } else if let path = configuration.keysPath {
            let file: APIKeyFile
            do {
                file = try APIKeyFile(contentsOfFile: path)
            } catch {
                throw LoadError(description: "keys file \(path): \(error.description)")
            }
            if configuration.apiKey != nil, file.keys.contains(where: { $0.name == Self.mainKeyName }) {
                // Both would be `key:main` to limits, usage and the logs.
                throw LoadError(
                    description: "keys file \(path) has a key named '\(Self.mainKeyName)', the name auth.api_key's key goes by: "
                        + "revoke that key or remove auth.api_key")
            }
            for key in file.keys { keys[key.digest] = key }
        }
        var configurationKeyDigest: SecretDigest?
        if let main = configuration.apiKey {
            let digest = SecretDigest.sha256(Array(main.utf8))
            configurationKeyDigest = digest
            keys[digest] = APIKey(
                name: Self.mainKeyName, scope: .admin, created: Date(timeIntervalSince1970: 0), expires: nil,
                prefix: String(main.prefix(4)), digest: digest)
        }
        self.keys = keys
        self.configurationKeyDigest = configurationKeyDigest
        var limits: [String: IdentityLimits] = [:]
        var consoleAdmins = Set<String>()
        if let path = configuration.userLimitsPath {
            do {
                let file = try UserLimitsFile(contentsOfFile: path)
                limits = file.limits.filter { !$0.value.isEmpty }
                consoleAdmins = file.admins
            } catch {
                throw LoadError(description: "users' limits file \(path): \(error.description)")
            }
        }
        for key in keys.values where !key.limits.isEmpty { limits[key.identity] = key.limits }
        self.limits = limits
        self.consoleAdmins = consoleAdmins
        self.warnings = warnings
    }
}
