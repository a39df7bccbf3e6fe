import HtpasswdKit

/// A change the console was asked for, read and checked from its form
/// before any file is touched; a form that does not check out is a
/// ``Problem`` shown to the admin, and nothing is written.
enum ConsoleChange: Equatable, Sendable {
    case createKey(name: String, scope: AccessScope, expires: String?, limits: IdentityLimits)
    case revokeKey(name: String)
    /// Replaces a key's limits with the form's (an empty field: no such limit).
    case setKeyLimits(name: String, limits: IdentityLimits)
    case addUser(name: String, password: String)
    case changePassword(name: String, password: String)
    case removeUser(name: String)
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
        case .addUser: "user_added"
        case .changePassword: "password_changed"
        case .removeUser: "user_removed"
        case .setAllowlists: "allowlist_changed"
        case .reload: "policy_reloaded"
        case .logout: "logout"
        }
    }

    /// The key or user the change is about, for the audit log; `nil` for none.
    var target: String? {
        switch self {
        case .createKey(let name, _, _, _), .revokeKey(let name), .setKeyLimits(let name, _): "key:\(name)"
        case .addUser(let name, _), .changePassword(let name, _), .removeUser(let name): name
        case .setAllowlists, .reload, .logout: nil
        }
    }

    /// Why the change must not be made for an admin at `client` under
    /// `configuration`, or `nil`: an allowlist that would refuse the admin's
    /// own address is refused, so the console cannot lock its user out
    /// (the file can still be edited on the machine).
    func refusal(client: IPAddress?, configuration: AccessConfiguration) -> Problem? {
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
