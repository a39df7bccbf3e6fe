import Testing
@testable import Proxy

/// Which requests the console takes, and what each asks for.
@Suite struct ConsoleRouteTests {
    @Test func everyPageAndChangeHasItsMethod() {
        let table: [(String, String, ConsoleRoute)] = [
            ("GET", "/admin", .dashboard), ("GET", "/admin/", .dashboard), ("HEAD", "/admin", .dashboard),
            ("GET", "/admin/login", .loginPage), ("POST", "/admin/login", .login), ("POST", "/admin/logout", .logout),
            ("GET", "/admin/keys", .keys), ("POST", "/admin/keys", .createKey), ("POST", "/admin/keys/revoke", .revokeKey),
            ("POST", "/admin/keys/limits", .setKeyLimits), ("GET", "/admin/keys/limits", .methodNotAllowed),
            ("GET", "/admin/users", .users), ("POST", "/admin/users", .addUser),
            ("POST", "/admin/users/password", .changePassword), ("POST", "/admin/users/remove", .removeUser),
            ("POST", "/admin/keys/scope", .setKeyScope), ("POST", "/admin/keys/expiry", .setKeyExpiry),
            ("POST", "/admin/users/admin", .setUserAdmin), ("POST", "/admin/users/limits", .setUserLimits),
            ("GET", "/admin/keys/scope", .methodNotAllowed), ("GET", "/admin/users/admin", .methodNotAllowed),
            ("GET", "/admin/allowlists", .allowlists), ("POST", "/admin/allowlists/reload", .reload),
            ("GET", "/admin/usage", .usage),
            // A change is never made by a GET (a link or an image elsewhere), a page never by a POST.
            ("GET", "/admin/logout", .methodNotAllowed), ("GET", "/admin/keys/revoke", .methodNotAllowed),
            ("POST", "/admin", .methodNotAllowed), ("POST", "/admin/usage", .methodNotAllowed),
            ("PUT", "/admin/keys", .methodNotAllowed), ("DELETE", "/admin/users", .methodNotAllowed),
            ("GET", "/admin/nothing", .notFound), ("GET", "/admin/keys/", .notFound), ("GET", "/admin/models/load", .notFound),
        ]
        for (method, path, expected) in table {
            #expect(ConsoleRoute(method: method, path: Substring(path)) == expected, "\(method) \(path)")
        }
        #expect(ConsoleRoute.createKey.isChange && !ConsoleRoute.keys.isChange && ConsoleRoute.login.isChange)
        let rightsChanges: [ConsoleRoute] = [.setKeyScope, .setKeyExpiry, .setUserAdmin, .setUserLimits]
        #expect(rightsChanges.filter { !$0.isChange }.isEmpty)
        #expect(ConsoleRoute.loginPage.isPublic && !ConsoleRoute.dashboard.isPublic && !ConsoleRoute.logout.isPublic)
    }

    /// Every spelling of a console path that the request-target rules read as `/admin` goes to the console;
    /// one that only a lenient upstream would read so goes to forwarding, which refuses it (400) unforwarded.
    @Test(arguments: [
        ("/admin", true), ("/admin/", true), ("/admin/keys?x=1", true), ("http://gw/admin/keys", true),
        ("/%61dmin/users", true), ("/v1/../admin/keys", true), ("//admin//keys", true), ("/admin/x/..", true),
        ("/administrator", false), ("/ADMIN/keys", false), ("/v1/models", false), ("/admin%2Fkeys", false),
        ("/admin%5Ckeys", false), ("*", false), ("/", false),
    ])
    func consolePaths(target: String, isConsole: Bool) {
        #expect(AdminConsoleHandler.isConsolePath(target) == isConsole)
    }

    /// The byte scan that rules most targets out before their path is read
    /// never rules out one whose normalized path is the console's: random
    /// targets from the characters that spell, escape, hide or break `/admin`.
    @Test func quickRuleOutAgreesWithReadingThePath() {
        let starts = ["/", "/", "/admin", "/%61dmin", "//", "http://gw/", "x", ""]
        let pieces = ["/", "admin", "adm", "in", "a", "%61", "%41", "%2F", "%", "..", ".", "//", "?", "x", "ADMIN", "\\", ";", "/admin"]
        var generator = SystemRandomNumberGenerator()
        var consoleTargets = 0
        for _ in 0..<5_000 {
            let target =
                starts.randomElement(using: &generator)!
                + (0..<Int.random(in: 0...5, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let byReading = RequestPath(target: target).normalized.map { RequestPath.matches($0, [ConsoleRoute.root + "/"]) } ?? false
            if byReading { consoleTargets += 1 }
            #expect(AdminConsoleHandler.isConsolePath(target) == byReading, "\(target)")
            if byReading { #expect(AdminConsoleHandler.mayNameConsole(target), "\(target)") }
        }
        #expect(consoleTargets > 100)  // the generator does reach the console
    }
}
