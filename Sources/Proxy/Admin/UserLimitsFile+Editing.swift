/// The changes the admin console makes to the users' limits file
/// (`auth.user_limits`): a user's admin right and limits, one line each,
/// rewritten in place with every other line — comments included — kept
/// (``LineFileText``). The console is its only writer; the file lives
/// beside the other Policy types, this extension beside its one user.
extension UserLimitsFile {
    /// `text` with `user`'s line giving the admin right `admin` and the limits
    /// `limits`; `nil` keeps what the line holds. A user left with neither
    /// loses the line. `text` must parse (a broken file is the admin's to
    /// fix, not the console's to guess at), and so does the result.
    static func edited(
        _ text: String, user: String, admin: Bool? = nil, limits: IdentityLimits? = nil
    ) throws(IdentityLimits.Problem) -> String {
        // Fields are separated by white space, and `#` starts a comment: such a name cannot be a line's first field.
        guard !user.isEmpty, !user.hasPrefix("#"), !user.contains(where: { $0.isWhitespace || $0 == ":" }) else {
            throw IdentityLimits.Problem(
                description: "the user '\(LogField.escaped(user, limit: 64))' cannot be listed in the users' limits file "
                    + "(a name there holds no white space and does not start with '#')")
        }
        let current: UserLimitsFile
        do {
            current = try UserLimitsFile(text: text)
        } catch {
            throw IdentityLimits.Problem(description: "the file does not parse (\(error.description)): fix it on the machine first")
        }
        let admin = admin ?? current.admins.contains(user)
        let limits = limits ?? current.limits[user] ?? IdentityLimits()
        var fields = admin ? [Self.adminRight] : []
        fields += limits.fields
        var edited = LineFileText(text)
        edited.setRule(named: user, to: fields.isEmpty ? nil : ([user] + fields).joined(separator: " "))
        _ = try UserLimitsFile(text: edited.text)
        return edited.text
    }
}
