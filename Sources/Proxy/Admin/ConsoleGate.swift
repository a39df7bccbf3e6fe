/// Decides what the console does with a request before anything is read or
/// changed: which page, whether a session is needed and present, and
/// whether a change carries its CSRF token. A value type with no I/O: the
/// ``AdminConsole`` looks the session up, asks, and carries the decision out.
struct ConsoleGate: Sendable {
    enum Decision: Equatable, Sendable {
        /// Show a page of a logged-in session.
        case page(ConsoleRoute, ConsoleIdentity, csrfToken: String)
        /// Make a change for a logged-in session (its CSRF token checked).
        case change(ConsoleRoute, ConsoleIdentity, ConsoleForm, csrfToken: String)
        /// Show the login form.
        case loginPage
        /// Check the credentials of a login form (its CSRF token checked).
        case login(ConsoleForm)
        /// No session: go to the login page.
        case toLogin
        /// Refuse with this status and message.
        case refuse(status: Int, message: String)
    }

    /// The name of the CSRF field of every form.
    static let csrfField = "csrf"

    /// - Parameters:
    ///   - session: the live session the request's cookie names, if any
    ///     (its identity still an admin: the console checks that first).
    ///   - form: the posted form; `nil` when there is none or it cannot be read.
    ///   - loginToken: the login cookie, which a login form's token must equal.
    static func decide(route: ConsoleRoute, session: ConsoleSession?, form: ConsoleForm?, loginToken: String?) -> Decision {
        switch route {
        case .notFound:
            return .refuse(status: 404, message: "There is no such page in the console.")
        case .methodNotAllowed:
            return .refuse(status: 405, message: "This page does not take that method.")
        case .loginPage:
            return .loginPage
        case .login:
            guard let form else { return .refuse(status: 400, message: "The form could not be read.") }
            guard let loginToken, ConsoleSession.tokensMatch(form[Self.csrfField], loginToken) else {
                return .refuse(status: 403, message: "The form's CSRF token is missing or wrong: reload the login page.")
            }
            return .login(form)
        default:
            break
        }
        guard let session else {
            return route.isChange ? .refuse(status: 403, message: "Not logged in, or the session has ended.") : .toLogin
        }
        guard route.isChange else { return .page(route, session.identity, csrfToken: session.csrfToken) }
        guard let form else { return .refuse(status: 400, message: "The form could not be read.") }
        guard session.acceptsCSRFToken(form[Self.csrfField]) else {
            return .refuse(status: 403, message: "The form's CSRF token is missing or wrong: nothing was changed.")
        }
        return .change(route, session.identity, form, csrfToken: session.csrfToken)
    }
}
