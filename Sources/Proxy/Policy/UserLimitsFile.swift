import Foundation

/// The limits of Basic users (`auth.user_limits`): one user a line, then
/// the same `name=value` fields as the keys file (``IdentityLimits``).
///
/// ```
/// # USER LIMITS
/// alice models=qwen3-*,local-model max_concurrent=2
/// ```
///
/// The word `admin` among a user's fields gives the user the admin console
/// (`/admin`; keys get it with the `admin` scope instead):
///
/// ```
/// root admin
/// ```
///
/// Users not listed have no limits. Like the keys file, a line that does
/// not parse (an unknown limit, a user given twice) makes the whole file
/// invalid, so a reload keeps the limits in force rather than dropping one.
public struct UserLimitsFile: Sendable, Equatable {
    /// Limits by user name.
    public var limits: [String: IdentityLimits]
    /// The users given the admin console (the word `admin` on their line).
    public var admins: Set<String> = []

    /// The word that gives a user the admin console.
    static let adminRight = "admin"

    /// Parses the text of a users' limits file.
    public init(text: String) throws(IdentityLimits.Problem) {
        var limits: [String: IdentityLimits] = [:]
        var admins = Set<String>()
        for rule in LineFileRules.rules(of: text) {
            let fields = rule.fields
            let user = String(fields[0])
            func problem(_ text: String) -> IdentityLimits.Problem {
                IdentityLimits.Problem(description: "line \(rule.line): \(text)")
            }
            // htpasswd user names end at `:`, so a name holding one is a typo.
            guard !user.contains(":") else { throw problem("'\(LogField.escaped(user, limit: 64))' is not a user name") }
            guard limits[user] == nil else { throw problem("the user '\(LogField.escaped(user, limit: 64))' is listed twice") }
            let rights = fields.dropFirst().filter { $0 == Self.adminRight }
            guard rights.count <= 1 else { throw problem("the right '\(Self.adminRight)' is given twice") }
            if !rights.isEmpty { admins.insert(user) }
            do {
                limits[user] = try IdentityLimits(fields: fields.dropFirst().filter { $0 != Self.adminRight })
            } catch {
                throw problem(error.description)
            }
        }
        self.limits = limits
        self.admins = admins
    }

    /// Reads and parses the file at `path`.
    public init(contentsOfFile path: String) throws(IdentityLimits.Problem) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw IdentityLimits.Problem(description: "cannot read \(path): \(error.localizedDescription)")
        }
        try self.init(text: text)
    }
}
