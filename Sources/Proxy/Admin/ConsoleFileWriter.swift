import Foundation
import HtpasswdKit

/// Carries a ``ConsoleChange`` out on the files access control reads: the
/// keys file (through ``APIKeyFile``, the code `lmgate keys` uses), the
/// htpasswd file (through HtpasswdKit, bcrypt), the users' limits file
/// (``UserLimitsFile/edited(_:user:admin:limits:)``, comments kept) and the
/// allowlist file (``AllowlistFile``), each read fresh, changed and
/// written atomically (a temporary file renamed over it), so a reader sees
/// the old file or the new one, never half of one.
///
/// Read fresh for each change, so what `lmgate keys` or an editor wrote
/// before it is kept; nothing locks a file against another process, so a
/// write that lands between this read and this rename (a millisecond) is
/// lost, as between two runs of `lmgate keys`.
///
/// Blocking (file I/O, bcrypt): the console runs it on a thread pool, one change at a time.
struct ConsoleFileWriter: Sendable {
    let keysPath: String?
    let htpasswdPath: String?
    var userLimitsPath: String? = nil
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
            try self.updatingKey { keys throws(APIKeyFile.Problem) in try keys.updateKey(named: name, limits: limits) }
            return nil
        case .setKeyScope(let name, let scope):
            try self.updatingKey { keys throws(APIKeyFile.Problem) in try keys.updateKey(named: name, scope: scope) }
            return nil
        case .setKeyExpiry(let name, let expires):
            try self.updatingKey { keys throws(APIKeyFile.Problem) in
                try keys.updateKey(named: name, expires: expires ?? APIKeyFile.never)
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
        case .setUserAdmin(let name, let admin):
            try self.editingUserLimits(of: name) { text throws(IdentityLimits.Problem) in
                try UserLimitsFile.edited(text, user: name, admin: admin)
            }
            return nil
        case .setUserLimits(let name, let limits):
            try self.editingUserLimits(of: name) { text throws(IdentityLimits.Problem) in
                try UserLimitsFile.edited(text, user: name, limits: limits)
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

    private func updatingKey(_ edit: (inout APIKeyFile) throws(APIKeyFile.Problem) -> Void) throws(ConsoleChange.Problem) {
        let path = try self.path(self.keysPath, "keys file (auth.keys_file)")
        _ = try Self.editingKeys(at: path) { keys throws(APIKeyFile.Problem) in
            try edit(&keys)
            return ""
        }
    }

    /// Rewrites the users' limits file for `user`, who must be in the htpasswd
    /// file (a right or limits for nobody would be a typo kept forever).
    private func editingUserLimits(
        of user: String, _ edit: (String) throws(IdentityLimits.Problem) -> String
    ) throws(ConsoleChange.Problem) {
        let path = try self.path(self.userLimitsPath, "users' limits file (auth.user_limits)")
        let usersPath = try self.path(self.htpasswdPath, "htpasswd file (auth.htpasswd)")
        do {
            guard try HtpasswdFile(contentsOfFile: usersPath).entry(for: user) != nil else {
                throw ConsoleChange.Problem(description: "There is no user named '\(user)'.")
            }
            // Not made yet (the configuration names it, nobody wrote it): start it with the format's comment.
            let text =
                FileManager.default.fileExists(atPath: path)
                ? try String(contentsOfFile: path, encoding: .utf8) : "# USER [admin] LIMITS (auth.user_limits)\n"
            try AtomicFileWriter.replaceContents(of: path, with: Array(try edit(text).utf8))
        } catch let problem as ConsoleChange.Problem {
            throw problem
        } catch let problem as IdentityLimits.Problem {
            throw ConsoleChange.Problem(description: "\(path): \(problem.description)")
        } catch let error as HtpasswdError {
            throw ConsoleChange.Problem(description: error.message)
        } catch {
            throw ConsoleChange.Problem(description: "cannot read \(path): \(error.localizedDescription)")
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
