import ArgumentParser
import Foundation
import Proxy

extension AccessScope: ExpressibleByArgument {}

/// `lmgate keys`: creates, lists and revokes the API keys of a keys file.
/// The proxy picks changes up by itself (it watches the file).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage API keys (stored only as hashes in a keys file).",
        subcommands: [Create.self, Update.self, List.self, Revoke.self]
    )

    /// The keys file option shared by the subcommands.
    struct FileOption: ParsableArguments {
        @Option(name: .long, help: "The keys file (default: $LMGATE_PROXY_AUTH_KEYS_FILE).")
        var file: String?

        func path() throws -> String {
            guard let path = self.file ?? ProcessInfo.processInfo.environment["LMGATE_PROXY_AUTH_KEYS_FILE"] else {
                throw ValidationError("give the keys file with --file (or LMGATE_PROXY_AUTH_KEYS_FILE)")
            }
            return path
        }

        /// The file's keys; a file that does not exist yet has none.
        func load() throws -> (path: String, file: APIKeyFile) {
            let path = try self.path()
            do {
                return (path, try APIKeyFile.loadOrEmpty(path: path))
            } catch {
                throw ValidationError("\(path): \(error.description)")
            }
        }
    }

    /// The limits options shared by `create` and `update` (``IdentityLimits``).
    struct LimitOptions: ParsableArguments {
        @Option(help: "Models the key may use: names or globs, comma-separated (qwen3-*,local-model); 'all' for any.")
        var models: String?

        @Option(name: .customLong("max-concurrent"), help: "Most requests of the key in flight at once; 'none' for no limit.")
        var maxConcurrent: String?

        @Option(name: .customLong("tokens-per-minute"), help: "Token quota (prompt + completion) per minute; 'none' for none.")
        var tokensPerMinute: String?

        @Option(name: .customLong("tokens-per-day"), help: "Token quota per day (UTC); 'none' for none.")
        var tokensPerDay: String?

        @Option(name: .customLong("tokens-per-month"), help: "Token quota per calendar month (UTC); 'none' for none.")
        var tokensPerMonth: String?

        @Option(help: "The key's requests wait with this priority when the upstream is busy: high, normal or low.")
        var priority: String?

        /// `limits` with the options given applied.
        func applied(to limits: IdentityLimits) throws -> IdentityLimits {
            var limits = limits
            do {
                if let models { limits.models = models == "all" ? nil : try IdentityLimits.models(models) }
                if let maxConcurrent {
                    limits.maxConcurrent =
                        maxConcurrent == "none" ? nil : try IdentityLimits.positive(maxConcurrent, name: "--max-concurrent")
                }
                let quotas: [(TokenQuotaLedger.Window, String?)] =
                    [(.minute, self.tokensPerMinute), (.day, self.tokensPerDay), (.month, self.tokensPerMonth)]
                if let priority { limits.priority = priority == "normal" ? nil : try IdentityLimits.priority(priority) }
                for case (let window, let text?) in quotas {
                    limits.tokenQuotas[window] =
                        text == "none" ? nil : try IdentityLimits.positive(text, name: "--tokens-per-\(window.rawValue)", upTo: 1 << 50)
                }
            } catch {
                throw ValidationError(error.description)
            }
            return limits
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new key and print it once; only its hash is stored.")

        @Argument(help: "A name for the key (letters, digits, - _ .).")
        var name: String

        @Option(help: "When the key stops working: 30d, 12h, or a date such as 2027-01-31.")
        var expires: String?

        @Option(help: "inference (model requests) or admin (everything).")
        var scope: AccessScope = .inference

        @OptionGroup var limits: LimitOptions

        @OptionGroup var file: FileOption

        func run() throws {
            var (path, keys) = try self.file.load()
            let limits = try self.limits.applied(to: IdentityLimits())
            let key: String
            do {
                key = try keys.addKey(named: self.name, scope: self.scope, expires: self.expires, limits: limits)
                try keys.write(to: path)
            } catch {
                throw ValidationError(error.description)
            }
            print(key)
            FileHandle.standardError.write(Data(
                "Key '\(self.name)' (\(self.scope.rawValue)) added to \(path). It is shown only now: store it safely.\n".utf8))
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a key's scope, expiry or limits; a running proxy applies them within a second.")

        @Argument(help: "The name of the key.")
        var name: String

        @Option(help: "inference (model requests) or admin (everything).")
        var scope: AccessScope?

        @Option(help: "When the key stops working: 30d, 12h, a date such as 2027-01-31, or never.")
        var expires: String?

        @OptionGroup var limits: LimitOptions

        @OptionGroup var file: FileOption

        func run() throws {
            var (path, keys) = try self.file.load()
            guard let current = keys.keys.first(where: { $0.name == self.name }) else {
                throw ValidationError("no key named '\(self.name)' in \(path)")
            }
            let limits = try self.limits.applied(to: current.limits)
            do {
                try keys.updateKey(named: self.name, scope: self.scope, expires: self.expires, limits: limits)
                try keys.write(to: path)
            } catch {
                throw ValidationError(error.description)
            }
            let key = keys.keys.first { $0.name == self.name } ?? current
            let fields = limits.fields
            print(
                "updated \(self.name): \(key.scope.rawValue), expires \(key.expires.map(APIKeyFile.text) ?? APIKeyFile.never), "
                    + (fields.isEmpty ? "no limits" : fields.joined(separator: " ")))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys: names, prefixes, dates and scopes.")

        @OptionGroup var file: FileOption

        func run() throws {
            let (path, keys) = try self.file.load()
            print(KeysTable.render(keys, keysPath: path))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a key; a running proxy stops accepting it within a second.")

        @Argument(help: "The name of the key.")
        var name: String

        @OptionGroup var file: FileOption

        func run() throws {
            var (path, keys) = try self.file.load()
            do {
                try keys.revokeKey(named: self.name)
                try keys.write(to: path)
            } catch {
                throw ValidationError(error.description)
            }
            print("revoked \(self.name)")
        }
    }
}
