/// What a request to the admin console asks for, from its method and path.
///
/// Pages are read with GET; every change is a POST of a form (so a link or
/// an image on another site cannot make one, and each carries a CSRF token).
enum ConsoleRoute: Equatable, Sendable {
    case loginPage
    case login
    case logout
    case dashboard
    case keys
    case createKey
    case revokeKey
    case setKeyLimits
    case setKeyScope
    case setKeyExpiry
    case users
    case addUser
    case changePassword
    case removeUser
    case setUserAdmin
    case setUserLimits
    case allowlists
    case setAllowlists
    case reload
    case usage
    /// A console path with no page.
    case notFound
    /// A page asked for with a method it does not take.
    case methodNotAllowed

    /// The prefix the console answers under: `/admin` and everything below it.
    static let root = "/admin"

    /// The route of `method` on `path` (normalized, without its query).
    init(method: String, path: Substring) {
        let relative = path.dropFirst(Self.root.count)
        let route: (get: ConsoleRoute?, post: ConsoleRoute?)
        switch relative {
        case "", "/": route = (.dashboard, nil)
        case "/login": route = (.loginPage, .login)
        case "/logout": route = (nil, .logout)
        case "/keys": route = (.keys, .createKey)
        case "/keys/revoke": route = (nil, .revokeKey)
        case "/keys/limits": route = (nil, .setKeyLimits)
        case "/keys/scope": route = (nil, .setKeyScope)
        case "/keys/expiry": route = (nil, .setKeyExpiry)
        case "/users": route = (.users, .addUser)
        case "/users/password": route = (nil, .changePassword)
        case "/users/remove": route = (nil, .removeUser)
        case "/users/admin": route = (nil, .setUserAdmin)
        case "/users/limits": route = (nil, .setUserLimits)
        case "/allowlists": route = (.allowlists, .setAllowlists)
        case "/allowlists/reload": route = (nil, .reload)
        case "/usage": route = (.usage, nil)
        default:
            self = .notFound
            return
        }
        switch method {
        case "GET", "HEAD": self = route.get ?? .methodNotAllowed
        case "POST": self = route.post ?? .methodNotAllowed
        default: self = .methodNotAllowed
        }
    }

    /// Whether the route changes something (and so needs a CSRF token).
    var isChange: Bool {
        switch self {
        case .login, .logout, .createKey, .revokeKey, .setKeyLimits, .setKeyScope, .setKeyExpiry, .addUser, .changePassword,
            .removeUser, .setUserAdmin, .setUserLimits, .setAllowlists, .reload:
            true
        default: false
        }
    }

    /// Whether the route is served without a session.
    var isPublic: Bool {
        self == .loginPage || self == .login || self == .notFound || self == .methodNotAllowed
    }
}
