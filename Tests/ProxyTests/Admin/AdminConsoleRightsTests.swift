import Foundation
import NIOHTTP1
import Testing
@testable import Proxy

/// A key's scope and expiry and a user's admin right and limits, changed in
/// the console: written to their files, in force at once (a session that
/// loses the console ends on its next request), refused when they would
/// leave no admin, and logged.
@Suite struct AdminConsoleRightsTests {
    typealias Browser = AdminConsoleTests.Browser

    /// The browser's cookies and CSRF token, to switch between two sessions on one console.
    private struct Jar {
        var cookies: [String: String]
        var csrf: String?

        init(_ browser: Browser) { (self.cookies, self.csrf) = (browser.cookies, browser.csrf) }

        func restore(into browser: Browser) { (browser.cookies, browser.csrf) = (self.cookies, self.csrf) }
    }

    /// A console whose keys file holds the key `ops` of `scope`, with alice
    /// logged in on its keys page; returns the browser and the key's text.
    private func aliceOnTheKeysPage(withOps scope: AccessScope = .inference) async throws -> (Browser, String) {
        let browser = try Browser()
        let secret = try browser.fixtures.addKey("ops", scope: scope)
        browser.access.reload()
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        _ = await browser.send(.GET, "/admin/keys")
        return (browser, secret)
    }

    @Test func aKeyGivenTheAdminScopeLogsInAndLosesItsSessionWithTheScope() async throws {
        let (browser, secret) = try await self.aliceOnTheKeysPage()
        let alice = Jar(browser)

        // An inference key cannot log in; given the admin scope in the page, it can.
        #expect(try await browser.access.decide([("Authorization", "Bearer \(secret)")], uri: "/admin/models").status == .forbidden)
        browser.cookies = [:]
        _ = await browser.send(.GET, "/admin/login")
        #expect(await browser.send(.POST, "/admin/login", form: ["csrf": browser.csrf!, "key": secret]).status == .forbidden)
        alice.restore(into: browser)
        let scoped = await browser.send(.POST, "/admin/keys/scope", form: ["csrf": browser.csrf!, "name": "ops", "scope": "admin"])
        #expect(scoped.status == .ok && scoped.body.contains("Key &#39;ops&#39; now has the admin scope."))
        #expect(scoped.body.contains(#"<option selected>admin</option>"#))
        #expect(try APIKeyFile(contentsOfFile: browser.fixtures.keysPath).keys.first?.scope == .admin)
        // In force at once for the API's admin paths too.
        #expect(try await browser.access.decide([("Authorization", "Bearer \(secret)")], uri: "/admin/models").status == .ok)

        browser.cookies = [:]
        _ = await browser.send(.GET, "/admin/login")
        #expect(await browser.send(.POST, "/admin/login", form: ["csrf": browser.csrf!, "key": secret]).status == .seeOther)
        #expect(await browser.send(.GET, "/admin").status == .ok)
        let ops = Jar(browser)

        // Back to inference: the key's session ends on its next request.
        alice.restore(into: browser)
        _ = await browser.send(.POST, "/admin/keys/scope", form: ["csrf": browser.csrf!, "name": "ops", "scope": "inference"])
        ops.restore(into: browser)
        #expect(await browser.send(.GET, "/admin").status == .seeOther)

        alice.restore(into: browser)
        let before = try String(contentsOfFile: browser.fixtures.keysPath, encoding: .utf8)
        for form in [["name": "ops", "scope": "root"], ["name": "nobody", "scope": "admin"]] {
            let refused = await browser.send(.POST, "/admin/keys/scope", form: form.merging(["csrf": browser.csrf!]) { $1 })
            #expect(refused.status == .badRequest && refused.body.contains(#"id="error""#), "\(form)")
        }
        #expect(try String(contentsOfFile: browser.fixtures.keysPath, encoding: .utf8) == before)
        let actions = browser.log.entries.filter { $0["console.action"] == "key_scope_set" }
        #expect(actions.count == 3 && actions.allSatisfy { $0["console.target"] == "key:ops" || $0["console.target"] == "key:nobody" })
        #expect(!browser.log.text.contains(secret))
    }

    @Test func aKeysExpiryIsSetChangedAndRemovedAndAnExpiredAdminKeyLosesItsSession() async throws {
        let (browser, secret) = try await self.aliceOnTheKeysPage(withOps: .admin)
        func stored() throws -> APIKey? { try APIKeyFile(contentsOfFile: browser.fixtures.keysPath).keys.first }

        // Between the times around the request (not "now ± a minute": a
        // loaded machine has held this task for longer between two lines).
        let asked = Date()
        let set = await browser.send(.POST, "/admin/keys/expiry", form: ["csrf": browser.csrf!, "name": "ops", "expires": "30d"])
        #expect(set.status == .ok)
        let answered = Date()
        let expiry = try #require(try stored()?.expires)
        #expect(expiry.timeIntervalSince(asked) >= 30 * 86_400 - 1 && expiry.timeIntervalSince(answered) <= 30 * 86_400 + 1)
        // The form shows the expiry in force, which it takes back as it is.
        #expect(set.body.contains(#"name="expires" size="22" value="\#(APIKeyFile.text(expiry))""#))
        let removed = await browser.send(.POST, "/admin/keys/expiry", form: ["csrf": browser.csrf!, "name": "ops", "expires": ""])
        #expect(removed.body.contains("Key &#39;ops&#39; no longer expires."))
        #expect(try stored()?.expires == nil)

        // Bad dates, past dates and unknown keys: an error in the page, the file unchanged.
        let before = try String(contentsOfFile: browser.fixtures.keysPath, encoding: .utf8)
        for form in [["name": "ops", "expires": "2020-01-01"], ["name": "ops", "expires": "soon"], ["name": "nobody", "expires": "1d"]] {
            let refused = await browser.send(.POST, "/admin/keys/expiry", form: form.merging(["csrf": browser.csrf!]) { $1 })
            #expect(refused.status == .badRequest && refused.body.contains(#"id="error""#), "\(form)")
        }
        #expect(try String(contentsOfFile: browser.fixtures.keysPath, encoding: .utf8) == before)

        // An admin key logged in, then given an expiry a second away: refused once it passes, and its session ends.
        let alice = Jar(browser)
        browser.cookies = [:]
        _ = await browser.send(.GET, "/admin/login")
        #expect(await browser.send(.POST, "/admin/login", form: ["csrf": browser.csrf!, "key": secret]).status == .seeOther)
        let ops = Jar(browser)
        alice.restore(into: browser)
        #expect(await browser.send(.POST, "/admin/keys/expiry", form: ["csrf": browser.csrf!, "name": "ops", "expires": "1s"]).status == .ok)
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(try await browser.access.decide([("Authorization", "Bearer \(secret)")]).status == .unauthorized)
        ops.restore(into: browser)
        #expect(await browser.send(.GET, "/admin").status == .seeOther)
    }

    @Test func aUserGivenTheAdminRightLogsInAndLosesItsSessionWithTheRight() async throws {
        let browser = try Browser()
        let limitsPath = try #require(browser.access.store.configuration.userLimitsPath)
        try "# USER [admin] LIMITS, by hand\nalice admin\n\n# nobody else yet\n".write(toFile: limitsPath, atomically: true, encoding: .utf8)
        browser.access.reload()
        #expect(await browser.logIn(user: "bob", password: browser.fixtures.passwords["bob"]!).status == .forbidden)
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        #expect((await browser.send(.GET, "/admin/users")).body.contains("Give the admin right"))
        let alice = Jar(browser)

        let given = await browser.send(.POST, "/admin/users/admin", form: ["csrf": browser.csrf!, "user": "bob", "admin": "yes"])
        #expect(given.status == .ok && given.body.contains("Take the admin right"))
        #expect(try String(contentsOfFile: limitsPath, encoding: .utf8) == "# USER [admin] LIMITS, by hand\nalice admin\n\n# nobody else yet\nbob admin\n")
        browser.cookies = [:]
        #expect(await browser.logIn(user: "bob", password: browser.fixtures.passwords["bob"]!).status == .seeOther)
        #expect(await browser.send(.GET, "/admin/users").status == .ok)
        let bob = Jar(browser)

        // bob's limits, set in the page, are the policy's at once; the right stays.
        alice.restore(into: browser)
        let limited = await browser.send(
            .POST, "/admin/users/limits", form: ["csrf": browser.csrf!, "user": "bob", "max_concurrent": "2", "models": "qwen3-*"])
        #expect(limited.status == .ok && limited.body.contains("are now: models=qwen3-* max_concurrent=2."))
        #expect(browser.access.store.current.policy.limits["bob"] == (try IdentityLimits(fields: ["models=qwen3-*", "max_concurrent=2"])))
        #expect(try String(contentsOfFile: limitsPath, encoding: .utf8).hasSuffix("# nobody else yet\nbob admin models=qwen3-* max_concurrent=2\n"))

        // The right taken: bob's session ends on its next request; his limits stay.
        let taken = await browser.send(.POST, "/admin/users/admin", form: ["csrf": browser.csrf!, "user": "bob", "admin": "no"])
        #expect(taken.status == .ok && taken.body.contains("no longer has the admin right"))
        #expect(try String(contentsOfFile: limitsPath, encoding: .utf8).hasSuffix("\nbob models=qwen3-* max_concurrent=2\n"))
        bob.restore(into: browser)
        #expect(await browser.send(.GET, "/admin/users").status == .seeOther)

        // Unknown users and bad values: an error, the file unchanged.
        alice.restore(into: browser)
        let before = try String(contentsOfFile: limitsPath, encoding: .utf8)
        for (path, form) in [("/admin/users/admin", ["user": "nobody", "admin": "yes"]), ("/admin/users/limits", ["user": "nobody"]),
                             ("/admin/users/limits", ["user": "bob", "tokens_per_day": "0"])] {
            let refused = await browser.send(.POST, path, form: form.merging(["csrf": browser.csrf!]) { $1 })
            #expect(refused.status == .badRequest && refused.body.contains(#"id="error""#), "\(form)")
        }
        #expect(try String(contentsOfFile: limitsPath, encoding: .utf8) == before)
        let actions = browser.log.entries.filter { $0["error"] == nil }.compactMap { $0["console.action"] }
        #expect(actions == ["user_admin_granted", "user_limits_set", "user_admin_revoked"])
    }

    /// The last admin cannot take the console from themselves; with another
    /// admin they can, and their session ends with the answer.
    @Test func theLastAdminKeepsTheRightAndAnAdminWhoGivesItUpIsLoggedOut() async throws {
        let browser = try Browser()
        let limitsPath = try #require(browser.access.store.configuration.userLimitsPath)
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        _ = await browser.send(.GET, "/admin/users")
        for (path, form) in [("/admin/users/admin", ["user": "alice", "admin": "no"]), ("/admin/users/remove", ["user": "alice"])] {
            let refused = await browser.send(.POST, path, form: form.merging(["csrf": browser.csrf!]) { $1 })
            #expect(refused.status == .badRequest && refused.body.contains("alice is the last key or user that can use this console"))
        }
        #expect(try String(contentsOfFile: limitsPath, encoding: .utf8) == "alice admin\n")
        #expect(await browser.send(.GET, "/admin").status == .ok)

        // With bob an admin too, alice may give hers up: the answer ends her session.
        _ = await browser.send(.POST, "/admin/users/admin", form: ["csrf": browser.csrf!, "user": "bob", "admin": "yes"])
        let gaveUp = await browser.send(.POST, "/admin/users/admin", form: ["csrf": browser.csrf!, "user": "alice", "admin": "no"])
        #expect(gaveUp.status == .ok && gaveUp.body.contains("Your console session has ended with it."))
        #expect(!gaveUp.body.contains("/admin/logout") && browser.cookies[ConsoleCookies.session] == nil)
        #expect(try String(contentsOfFile: limitsPath, encoding: .utf8) == "bob admin\n")
        #expect(await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!).status == .forbidden)
    }

    /// What `lmgate keys` or an editor wrote before a console change is kept:
    /// the console reads each file fresh.
    @Test func editsMadeOutsideTheConsoleAreKept() async throws {
        let (browser, _) = try await self.aliceOnTheKeysPage()
        // As `lmgate keys create` does it, while the console's page is open.
        var keys = try APIKeyFile.loadOrEmpty(path: browser.fixtures.keysPath)
        _ = try keys.addKey(named: "from-cli", scope: .inference, expires: nil, limits: IdentityLimits())
        try keys.write(to: browser.fixtures.keysPath)
        let limitsPath = try #require(browser.access.store.configuration.userLimitsPath)
        try "alice admin\n# added by hand\ncarol max_concurrent=1\n".write(toFile: limitsPath, atomically: true, encoding: .utf8)

        #expect(await browser.send(.POST, "/admin/keys/scope", form: ["csrf": browser.csrf!, "name": "ops", "scope": "admin"]).status == .ok)
        #expect(try APIKeyFile(contentsOfFile: browser.fixtures.keysPath).keys.map { "\($0.name) \($0.scope)" } == ["ops admin", "from-cli inference"])
        #expect(await browser.send(.POST, "/admin/users/admin", form: ["csrf": browser.csrf!, "user": "bob", "admin": "yes"]).status == .ok)
        #expect(try String(contentsOfFile: limitsPath, encoding: .utf8) == "alice admin\n# added by hand\ncarol max_concurrent=1\nbob admin\n")
    }

    @Test func rightsChangedWithoutTheTokenAreRefusedAndWriteNothing() async throws {
        let (browser, _) = try await self.aliceOnTheKeysPage()
        let limitsPath = try #require(browser.access.store.configuration.userLimitsPath)
        let files = [browser.fixtures.keysPath, limitsPath]
        let before = try files.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let forms: [(String, [String: String])] = [
            ("/admin/keys/scope", ["name": "ops", "scope": "admin"]), ("/admin/keys/expiry", ["name": "ops", "expires": "1d"]),
            ("/admin/users/admin", ["user": "bob", "admin": "yes"]), ("/admin/users/limits", ["user": "bob", "max_concurrent": "1"]),
        ]
        for (path, form) in forms {
            for csrf in [nil, "forged"] {
                #expect(await browser.send(.POST, path, form: form.merging(csrf.map { ["csrf": $0] } ?? [:]) { $1 }).status == .forbidden)
            }
        }
        #expect(try files.map { try String(contentsOfFile: $0, encoding: .utf8) } == before)
        #expect(!browser.log.entries.contains { $0["console.action"] != nil })
    }

    @Test func withoutAUsersLimitsFileThePageSaysHowToGetOne() async throws {
        let browser = try Browser { configuration, _ in configuration.userLimitsPath = nil }
        let secret = try browser.fixtures.addKey("ops", scope: .admin)
        browser.access.reload()
        _ = await browser.send(.GET, "/admin/login")
        #expect(await browser.send(.POST, "/admin/login", form: ["csrf": browser.csrf!, "key": secret]).status == .seeOther)
        let page = await browser.send(.GET, "/admin/users")
        #expect(page.body.contains("name a users' limits file with <code>auth.user_limits</code>"))
        #expect(!page.body.contains("Give the admin right") && !page.body.contains("/admin/users/limits"))
        for (path, form) in [("/admin/users/admin", ["user": "bob", "admin": "yes"]), ("/admin/users/limits", ["user": "bob"])] {
            let refused = await browser.send(.POST, path, form: form.merging(["csrf": browser.csrf!]) { $1 })
            #expect(refused.status == .badRequest && refused.body.contains("No users&#39; limits file (auth.user_limits) is configured."))
        }
    }
}
