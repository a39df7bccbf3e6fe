import HtpasswdKit

/// Carries a ``ConsoleChange`` out on the files access control reads: the
/// keys file (through ``APIKeyFile``, the code `lmgate keys` uses) and the
/// htpasswd file (through HtpasswdKit, bcrypt) and the allowlist file
/// (``AllowlistFile``), each read fresh, changed and
/// written atomically (a temporary file renamed over it), so a reader sees
/// the old file or the new one, never half of one.
///
/// Blocking (file I/O, bcrypt): the console runs it on a thread pool, one change at a time.
struct ConsoleFileWriter: Sendable {
    let keysPath: String?
    let htpasswdPath: String?
    var allowlistPath: String? = nil
    /// The bcrypt cost of passwords set here (Apache's `htpasswd -B` default is 5; 10 is what guessing should cost).
    var bcryptCost = 10

    /// Applies `change`; returns a new key's text (shown once), `nil` for other changes.
    func apply(_ change: ConsoleChange) throws(ConsoleChange.Problem) -> String? {
        switch change {
        case .createKey(let name, let scope, let expires, let limits):
            let path = try self.path(self.keysPath, "keys file (auth.keys_file)")
            return try Self.editingKeys(at: path) { keys throws(APIKeyFile.Problem) in
                try keys.addKey(named: name, scope: scope, expires: expires, limits: limits)
            }
        case .revokeKey(let name):
            let path = try self.path(self.keysPath, "keys file (auth.keys_file)")
            _ = try Self.editingKeys(at: path) { keys throws(APIKeyFile.Problem) in
                try keys.revokeKey(named: name)
                return ""
            }
            return nil
        case .setKeyLimits(let name, let limits):
            let path = try self.path(self.keysPath, "keys file (auth.keys_file)")
            _ = try Self.editingKeys(at: path) { keys throws(APIKeyFile.Problem) in
                try keys.setLimits(limits, ofKeyNamed: name)
                return ""
            }
            return nil
        case .addUser(let name, let password), .changePassword(let name, let password):
            let path = try self.path(self.htpasswdPath, "htpasswd file (auth.htpasswd)")
            try self.editingUsers(at: path) { users in
                let exists = users.entry(for: name) != nil
                if case .addUser = change, exists {
                    throw ConsoleChange.Problem(description: "A user named '\(name)' exists already.")
                }
                if case .changePassword = change, !exists {
                    throw ConsoleChange.Problem(description: "There is no user named '\(name)'.")
                }
                try users.setHash(PasswordHasher.hash(password, format: .bcrypt, cost: self.bcryptCost), for: name)
            }
            return nil
        case .removeUser(let name):
            let path = try self.path(self.htpasswdPath, "htpasswd file (auth.htpasswd)")
            try self.editingUsers(at: path) { users in
                guard users.removeUser(name) else {
                    throw ConsoleChange.Problem(description: "There is no user named '\(name)'.")
                }
            }
            return nil
        case .setAllowlists(let allow, let deny):
            let path = try self.path(self.allowlistPath, "allowlist file (access.allowlist_file)")
            do {
                try AllowlistFile(allow: allow, deny: deny).write(to: path)
            } catch {
                throw ConsoleChange.Problem(description: error.description)
            }
            return nil
        case .reload, .logout:
            return nil
        }
    }

    private func path(_ path: String?, _ what: String) throws(ConsoleChange.Problem) -> String {
        guard let path else { throw ConsoleChange.Problem(description: "No \(what) is configured.") }
        return path
    }

    private static func editingKeys(
        at path: String, _ edit: (inout APIKeyFile) throws(APIKeyFile.Problem) -> String
    ) throws(ConsoleChange.Problem) -> String {
        do {
            var keys = try APIKeyFile.loadOrEmpty(path: path)
            let result = try edit(&keys)
            try keys.write(to: path)
            return result
        } catch {
            throw ConsoleChange.Problem(description: error.description)
        }
    }

    private func editingUsers(at path: String, _ edit: (inout HtpasswdFile) throws -> Void) throws(ConsoleChange.Problem) {
        do {
            var users = try HtpasswdFile(contentsOfFile: path)
            try edit(&users)
            try users.write(to: path)
        } catch let problem as ConsoleChange.Problem {
            throw problem
        } catch let error as HtpasswdError {
            throw ConsoleChange.Problem(description: error.message)
        } catch {
            throw ConsoleChange.Problem(description: "\(error)")
        }
    }
}
