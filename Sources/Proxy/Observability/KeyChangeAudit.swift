import Logging

/// The audit lines written when a reload changes the API keys in force:
/// which keys were added, revoked or changed (scope, expiry, limits), by
/// name, never with any part of the key. Keys are told apart by their
/// digest, so a key made again under the same name is one revoked and one
/// added. Format in docs/LOGGING.md.
struct KeyChangeAudit: Equatable {
    enum Change: Equatable {
        case added(name: String, scope: String)
        case revoked(name: String)
        case changed(name: String, fields: [String])
    }

    let changes: [Change]

    init(from previous: [SecretDigest: APIKey], to current: [SecretDigest: APIKey]) {
        var changes: [Change] = []
        for (digest, key) in current {
            guard let old = previous[digest] else {
                changes.append(.added(name: key.name, scope: key.scope.rawValue))
                continue
            }
            var fields: [String] = []
            if old.name != key.name { fields.append("name") }
            if old.scope != key.scope { fields.append("scope") }
            if old.expires != key.expires { fields.append("expires") }
            if old.limits != key.limits { fields.append("limits") }
            if !fields.isEmpty { changes.append(.changed(name: key.name, fields: fields)) }
        }
        for (digest, key) in previous where current[digest] == nil { changes.append(.revoked(name: key.name)) }
        self.changes = changes.sorted { "\($0)" < "\($1)" }
    }

    func log(to logger: Logger) {
        for change in self.changes {
            switch change {
            case .added(let name, let scope):
                logger.notice("access.key_added", metadata: ["auth.key": "\(LogField.escaped(name, limit: 64))", "auth.scope": "\(scope)"])
            case .revoked(let name):
                logger.notice("access.key_revoked", metadata: ["auth.key": "\(LogField.escaped(name, limit: 64))"])
            case .changed(let name, let fields):
                logger.notice(
                    "access.key_changed",
                    metadata: ["auth.key": "\(LogField.escaped(name, limit: 64))", "changed": "\(fields.joined(separator: ","))"])
            }
        }
    }
}
