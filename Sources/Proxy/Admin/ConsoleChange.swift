import HtpasswdKit

/// A change the console was asked for, read and checked from its form
/// before any file is touched; a form that does not check out is a
/// ``Problem`` shown to the admin, and nothing is written.
enum ConsoleChange: Equatable, Sendable {
    case createKey(name: String, scope: AccessScope, expires: String?, limits: IdentityLimits)
    case revokeKey(name: String)
    /// Replaces a key's limits with the form's (an empty field: no such limit).
    case setKeyLimits(name: String, limits: IdentityLimits)
    /// Gives a key another scope.
    case setKeyScope(name: String, scope: AccessScope)
    /// Sets, changes or removes (`nil`) a key's expiry: ``APIKeyFile/expiry(_:now:)`` text, checked when the form is read.
    case setKeyExpiry(name: String, expires: String?)
    case addUser(name: String, password: String)
    case changePassword(name: String, password: String)
    case removeUser(name: String)
    /// Gives (`true`) or takes a Basic user's admin right, in the users' limits file.
    case setUserAdmin(name: String, admin: Bool)
    /// Replaces a Basic user's limits with the form's, in the users' limits file.
    case setUserLimits(name: String, limits: IdentityLimits)
    /// Replaces the ranges of the allowlist file (`access.allowlist_file`).
    case setAllowlists(allow: [CIDRRange], deny: [CIDRRange])
    case reload
    case logout

    /// Why a form was refused, in words for the page.
    struct Problem: Error, Equatable, CustomStringConvertible, Sendable {
        let description: String
    }

    /// Shortest password the console sets.
    static let minPasswordLength = 8

    /// The form fields that hold a key's limits, by their name in the keys file (``IdentityLimits``).
    static let limitFields = ["models", "max_concurrent", "tokens_per_minute", "tokens_per_day", "tokens_per_month", "priority"]

    /// Reads the change `route` asks for from `form`.
    init(route: ConsoleRoute, form: ConsoleForm) throws(Problem) {
        switch route {
        case .createKey:
            guard let name = form.text("name") else { throw Problem(description: "Give the key a name.") }
            guard APIKey.isValidName(name) else {
                throw Problem(description: "A key name is 1 to 64 letters, digits, '-', '_' and '.'.")
            }
            guard let scope = AccessScope(rawValue: form.text("scope") ?? AccessScope.inference.rawValue) else {
                throw Problem(description: "The scope is inference or admin.")
            }
            self = .createKey(name: name, scope: scope, expires: form.text("expires"), limits: try Self.limits(form))
        case .revokeKey:
            guard let name = form.text("name") else { throw Problem(description: "Which key?") }
            self = .revokeKey(name: name)
        case .setKeyLimits:
            guard let name = form.text("name") else { throw Problem(description: "Which key?") }
            self = .setKeyLimits(name: name, limits: try Self.limits(form))
        case .setKeyScope:
            guard let name = form.text("name") else { throw Problem(description: "Which key?") }
            guard let text = form.text("scope"), let scope = AccessScope(rawValue: text) else {
                throw Problem(description: "The scope is inference or admin.")
            }
            self = .setKeyScope(name: name, scope: scope)
        case .setKeyExpiry:
            guard let name = form.text("name") else { throw Problem(description: "Which key?") }
            // Checked now so a bad date is a problem of the form; an empty field: never.
            let expires = form.text("expires")
            do {
                _ = try APIKeyFile.expiry(expires)
            } catch {
                throw Problem(description: "Not changed: \(error.description).")
            }
            self = .setKeyExpiry(name: name, expires: expires)
        case .addUser, .changePassword:
            let name = try Self.userName(form)
            guard let password = form["password"], password.count >= Self.minPasswordLength else {
                throw Problem(description: "A password has at least \(Self.minPasswordLength) characters.")
            }
            guard password.utf8.count <= BasicAuthenticator.maxPasswordBytes else {
                throw Problem(description: "That password is too long.")
            }
            self = route == .addUser ? .addUser(name: name, password: password) : .changePassword(name: name, password: password)
        case .removeUser:
            self = .removeUser(name: try Self.userName(form))
        case .setUserAdmin:
            let name = try Self.userName(form)
            switch form.text("admin") {
            case "yes": self = .setUserAdmin(name: name, admin: true)
            case "no": self = .setUserAdmin(name: name, admin: false)
            default: throw Problem(description: "Give the admin right (yes) or take it (no)?")
            }
        case .setUserLimits:
            self = .setUserLimits(name: try Self.userName(form), limits: try Self.limits(form))
        case .setAllowlists:
            do {
                self = .setAllowlists(
                    allow: try AllowlistFile.ranges(listedIn: form["allow"] ?? "", what: "allow"),
                    deny: try AllowlistFile.ranges(listedIn: form["deny"] ?? "", what: "deny"))
            } catch {
                throw Problem(description: error.description)
            }
        case .reload:
            self = .reload
        case .logout:
            self = .logout
        default:
            throw Problem(description: "That is not a change.")
        }
    }

    /// What the audit log calls the change (`console.action`).
    var action: String {
        switch self {
        case .createKey: "key_created"
        case .revokeKey: "key_revoked"
        case .setKeyLimits: "key_limits_set"
        case .setKeyScope: "key_scope_set"
        case .setKeyExpiry: "key_expiry_set"
        case .addUser: "user_added"
        case .changePassword: "password_changed"
        case .removeUser: "user_removed"
        case .setUserAdmin(_, let admin): admin ? "user_admin_granted" : "user_admin_revoked"
        case .setUserLimits: "user_limits_set"
        case .setAllowlists: "allowlist_changed"
        case .reload: "policy_reloaded"
        case .logout: "logout"
        }
    }

    /// The key or user the change is about, for the audit log; `nil` for none.
    var target: String? {
        switch self {
        case .createKey(let name, _, _, _), .revokeKey(let name), .setKeyLimits(let name, _), .setKeyScope(let name, _),
            .setKeyExpiry(let name, _):
            APIKey.identity(ofKeyNamed: name)
        case .addUser(let name, _), .changePassword(let name, _), .removeUser(let name), .setUserAdmin(let name, _),
            .setUserLimits(let name, _):
            name
        case .setAllowlists, .reload, .logout: nil
        }
    }

    /// The identity that loses the console with this change (a key revoked
    /// or made inference-only, a user removed or without the admin right); `nil` for none.
    var consoleAccessTaken: ConsoleIdentity? {
        switch self {
        case .revokeKey(let name), .setKeyScope(let name, .inference): .key(name)
        case .removeUser(let name), .setUserAdmin(let name, false): .user(name)
        default: nil
        }
    }

    /// Why the change must not be made for an admin at `client` under
    /// `configuration`, or `nil`, so the console cannot lock every admin out
    /// (the files can still be edited on the machine):
    /// - an allowlist that would refuse the admin's own address is refused;
    /// - so is taking the console from the last identity that has it
    ///   (`admins`: admin-scope keys that have not expired, users with the
    ///   admin right). Taking it from the session's own identity while
    ///   another admin remains is allowed, and ends the session.
    func refusal(client: IPAddress?, configuration: AccessConfiguration, admins: Set<ConsoleIdentity>) -> Problem? {
        if let lost = self.consoleAccessTaken, admins.contains(lost), admins.subtracting([lost]).isEmpty {
            return Problem(
                description: "Not changed: \(lost.logName) is the last key or user that can use this console. "
                    + "Give another key the admin scope or another user the admin right first.")
        }
        guard case .setAllowlists(let allow, let deny) = self, let client else { return nil }
        let after = SourceAllowlist(allow: configuration.allow + allow, deny: configuration.deny + deny)
        guard !after.permits(client) else { return nil }
        return Problem(description: "Not changed: these ranges would refuse your own address (\(client)), and with it this page.")
    }

    /// The limits in `form`'s ``limitFields``, read as the keys file reads
    /// them (`name=value`), so the console accepts exactly what the file can hold.
    private static func limits(_ form: ConsoleForm) throws(Problem) -> IdentityLimits {
        let fields = Self.limitFields.compactMap { name in form.text(name).map { "\(name)=\($0)" } }
        do {
            return try IdentityLimits(fields: fields)
        } catch {
            throw Problem(description: error.description)
        }
    }

    private static func userName(_ form: ConsoleForm) throws(Problem) -> String {
        guard let name = form["user"], !name.isEmpty else { throw Problem(description: "Give the user's name.") }
        guard name.utf8.count <= BasicAuthenticator.maxUserBytes else { throw Problem(description: "That user name is too long.") }
        do {
            try HtpasswdFile.validate(user: name)
        } catch {
            throw Problem(description: "That user name cannot be used: \(error.message).")
        }
        return name
    }
}
