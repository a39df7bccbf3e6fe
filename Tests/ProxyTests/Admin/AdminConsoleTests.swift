import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import Proxy

/// The console driven as a browser would, without sockets: log in, make and
/// revoke keys, add users, change and remove them; the files it writes are
/// checked with the proxy's own admission and with Apache's `htpasswd -v`.
@Suite struct AdminConsoleTests {
    /// A console over fresh files, alice with the admin right, and a browser's cookie jar.
    final class Browser: @unchecked Sendable {
        let fixtures: AccessFixtures
        let access: AccessControl
        let console: AdminConsole
        let log = CapturedLog()
        var cookies: [String: String] = [:]
        var csrf: String?

        /// - Parameter configure: more settings, given the fixtures' directory.
        init(configure: (inout AccessConfiguration, URL) -> Void = { _, _ in }) throws {
            self.fixtures = try AccessFixtures.make(users: ["alice", "bob"])
            let limits = self.fixtures.directory.appendingPathComponent("limits").path
            try "alice admin\n".write(toFile: limits, atomically: true, encoding: .utf8)
            let logger = self.log.logger()
            let directory = self.fixtures.directory
            self.access = try self.fixtures.control(logger: logger) {
                $0.userLimitsPath = limits
                $0.lockoutMaxFailures = 3
                configure(&$0, directory)
            }
            let balancer = UpstreamBalancer(upstreams: [], health: .init())
            self.console = AdminConsole(
                configuration: ConsoleConfiguration(), store: self.access.store, metrics: ProxyMetrics(balancer: balancer),
                balancer: balancer, logger: logger)
        }

        deinit { self.fixtures.remove() }

        /// One request; keeps the cookies it sets and the CSRF token of the page.
        func send(_ method: HTTPMethod, _ uri: String, form: [String: String]? = nil, client: String = "192.0.2.1") async -> ConsoleResponse {
            var headers = HTTPHeaders()
            if !self.cookies.isEmpty { headers.add(name: "cookie", value: self.cookies.map { "\($0)=\($1)" }.joined(separator: "; ")) }
            var body: [UInt8] = []
            if let form {
                headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
                body = Array(form.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&").utf8)
            }
            let response = await self.console.respond(to: ConsoleRequest(
                head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers), body: body, clientAddress: client,
                listener: nil, eventLoop: MultiThreadedEventLoopGroup.singleton.next()))
            for cookie in response.headers["set-cookie"] {
                #expect(cookie.contains("; HttpOnly; Secure; SameSite=Strict; Path=/admin;"))
                let pair = cookie.prefix { $0 != ";" }.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                self.cookies[String(pair[0])] = pair[1].isEmpty ? nil : String(pair[1])
            }
            if let range = response.body.range(of: "name=\"csrf\" value=\"") {
                self.csrf = String(response.body[range.upperBound...].prefix { $0 != "\"" })
            }
            // No page shows a stored hash.
            #expect(!response.body.contains("sha256:") && !response.body.contains("$2y$") && !response.body.contains("$2b$"))
            return response
        }

        func logIn(user: String, password: String) async -> ConsoleResponse {
            _ = await self.send(.GET, "/admin/login")
            return await self.send(.POST, "/admin/login", form: ["csrf": self.csrf ?? "", "user": user, "password": password])
        }
    }

    @Test func keysMadeAndRevokedInTheConsoleAreAdmittedAndRefused() async throws {
        let browser = try Browser()
        #expect(await browser.send(.GET, "/admin/keys").status == .seeOther)  // not logged in: to the login page
        let login = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        #expect(login.status == .seeOther && login.headers["location"] == ["/admin"])
        #expect(browser.cookies[ConsoleCookies.session]?.count == 43)

        let keysPage = await browser.send(.GET, "/admin/keys")
        #expect(keysPage.status == .ok && keysPage.body.contains("Create a key"))
        let created = await browser.send(
            .POST, "/admin/keys", form: ["csrf": browser.csrf!, "name": "ci", "scope": "inference", "tokens_per_minute": "200"])
        #expect(created.status == .ok)
        let secret = try #require(created.body.firstMatch(of: /id="new-key">(lmg_[A-Za-z0-9_-]+)</)?.1)
        // Written through the keys file, with its limits, and in force at once.
        let file = try APIKeyFile(contentsOfFile: browser.fixtures.keysPath)
        #expect(file.keys.map(\.name) == ["ci"] && file.keys[0].limits.tokenQuotas[.minute] == 200)
        #expect(try await browser.access.decide([("Authorization", "Bearer \(secret)")]).status == .ok)
        // Shown once: the keys page lists it without its text.
        let listed = await browser.send(.GET, "/admin/keys")
        #expect(listed.body.contains(">ci<") && !listed.body.contains(String(secret)))

        let revoked = await browser.send(.POST, "/admin/keys/revoke", form: ["csrf": browser.csrf!, "name": "ci"])
        #expect(revoked.status == .ok && revoked.body.contains("revoked"))
        #expect(try await browser.access.decide([("Authorization", "Bearer \(secret)")]).status == .unauthorized)
        #expect(try APIKeyFile(contentsOfFile: browser.fixtures.keysPath).keys.isEmpty)

        let entries = browser.log.entries.filter { $0["console.action"] != nil }
        #expect(entries.map { $0["console.action"] } == ["key_created", "key_revoked"])
        #expect(entries.allSatisfy { $0["auth.identity"] == "alice" && $0["console.target"] == "key:ci" && $0["client.address"] == "192.0.2.1" })
        #expect(!browser.log.text.contains(String(secret)))
    }

    /// `auth.api_key`'s key is listed, but the configuration holds it: no form offers to change or revoke it.
    @Test func theConfiguredKeyIsListedWithoutForms() async throws {
        let browser = try Browser { configuration, _ in configuration.apiKey = "made-at-test-time-\(UUID().uuidString)" }
        _ = try browser.fixtures.addKey("laptop")
        #expect(browser.access.reload())
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        let page = await browser.send(.GET, "/admin/keys")
        #expect(page.status == .ok && page.body.contains(">main<") && page.body.contains("set by auth.api_key"))
        #expect(!page.body.contains("data-key=\"main\"") && page.body.contains("data-key=\"laptop\""))
    }

    /// A key's limits changed in the page: what admission enforces, what the
    /// keys file holds and what the form shows next are the form's values.
    @Test func aKeysLimitsAreChangedInThePageAndEnforcedAtOnce() async throws {
        let browser = try Browser()
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        _ = await browser.send(.GET, "/admin/keys")
        let created = await browser.send(
            .POST, "/admin/keys", form: ["csrf": browser.csrf!, "name": "ci", "models": "qwen3-*", "tokens_per_day": "5000"])
        let secret = try #require(created.body.firstMatch(of: /id="new-key">(lmg_[A-Za-z0-9_-]+)</)?.1)
        // The form shows the limits in force.
        #expect(created.body.contains(#"name="models" value="qwen3-*""#) && created.body.contains(#"name="tokens_per_day" size="10" value="5000""#))

        let changed = await browser.send(.POST, "/admin/keys/limits", form: [
            "csrf": browser.csrf!, "name": "ci", "models": "", "max_concurrent": "2", "tokens_per_minute": "300", "priority": "low",
        ])
        #expect(changed.status == .ok && changed.body.contains("are now: max_concurrent=2 tokens_per_minute=300 priority=low."))
        let stored = try #require(try APIKeyFile(contentsOfFile: browser.fixtures.keysPath).keys.first)
        #expect(stored.limits == (try IdentityLimits(fields: ["max_concurrent=2", "tokens_per_minute=300", "priority=low"])))
        // The same key still works, now under its new limits.
        let admitted = try await browser.access.decide([("Authorization", "Bearer \(secret)")])
        #expect(admitted.status == .ok)
        #expect(browser.access.store.current.policy.keys.values.first { $0.name == "ci" }?.limits == stored.limits)

        // Bad values and unknown keys: a clear problem, the file unchanged.
        let before = try String(contentsOfFile: browser.fixtures.keysPath, encoding: .utf8)
        for form in [["name": "ci", "tokens_per_minute": "lots"], ["name": "ci", "priority": "urgent"], ["name": "nobody"], [:]] {
            let refused = await browser.send(.POST, "/admin/keys/limits", form: form.merging(["csrf": browser.csrf!]) { $1 })
            #expect(refused.status == .badRequest, "\(form)")
        }
        #expect(try String(contentsOfFile: browser.fixtures.keysPath, encoding: .utf8) == before)
        // Forms that do not read are answered before anything is tried; the unknown key is a failed change.
        let actions = browser.log.entries.compactMap { $0["console.action"] }
        #expect(actions.filter { $0 == "key_limits_set" }.count == 2)
        #expect(browser.log.text.components(separatedBy: "console.change_failed").count == 2)
    }

    @Test func theAllowlistFileIsChangedInThePageAndAppliesAtOnce() async throws {
        let browser = try Browser { configuration, directory in
            configuration.allowlistPath = directory.appendingPathComponent("allowlist").path
        }
        let path = try #require(browser.access.store.configuration.allowlistPath)
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        #expect((await browser.send(.GET, "/admin/allowlists")).body.contains(#"id="allowlist-file""#))
        let good = [("Authorization", basicAuthorization("bob", browser.fixtures.passwords["bob"]!))]
        #expect(try await browser.access.decide(good, client: "203.0.113.9").status == .ok)

        let saved = await browser.send(.POST, "/admin/allowlists", form: [
            "csrf": browser.csrf!, "allow": "192.0.2.0/24\r\n198.51.100.7, 2001:db8::/32", "deny": "192.0.2.66",
        ])
        #expect(saved.status == .ok && saved.body.contains("now allows 3 and denies 1 ranges"))
        // What the file holds, read line by line here rather than by the proxy's parser.
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines == ["allow 192.0.2.0/24", "allow 198.51.100.7", "allow 2001:db8::/32", "deny 192.0.2.66"])
        // In force at once, for requests (and connections: the same allowlist).
        for (client, status) in [("192.0.2.5", HTTPResponseStatus.ok), ("198.51.100.7", .ok), ("2001:db8::5", .ok),
                                 ("192.0.2.66", .forbidden), ("203.0.113.9", .forbidden)] {
            #expect(try await browser.access.decide(good, client: client).status == status, "\(client)")
        }
        // The page shows the file's ranges in its form.
        #expect(saved.body.contains("192.0.2.0/24\n198.51.100.7\n2001:db8::/32</textarea>"))

        // Refused, the file unchanged: a range that does not parse, and a change that would shut the admin out.
        let before = try String(contentsOfFile: path, encoding: .utf8)
        let forms = [["allow": "192.0.2.0/33"], ["allow": "192.0.2.0/24", "deny": "192.0.2.1"], ["allow": "198.51.100.0/24"]]
        for form in forms {
            let refused = await browser.send(.POST, "/admin/allowlists", form: form.merging(["csrf": browser.csrf!]) { $1 })
            #expect(refused.status == .badRequest, "\(form)")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
        let actions = browser.log.entries.compactMap { $0["console.action"] }
        #expect(actions.filter { $0 == "allowlist_changed" }.count == 3)
        #expect(browser.log.text.components(separatedBy: "console.change_failed").count == 3)

        // A file edited by hand is reloaded like the others; one that does not parse keeps the allowlist in force.
        try "allow 203.0.113.0/24\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(browser.access.reload())
        #expect(try await browser.access.decide(good, client: "203.0.113.9").status == .ok)
        try "allow 203.0.113.0/24\nallw 192.0.2.0/24\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!browser.access.reload())
        #expect(try await browser.access.decide(good, client: "203.0.113.9").status == .ok)
        #expect(try await browser.access.decide(good, client: "192.0.2.5").status == .forbidden)
    }

    @Test func withoutAnAllowlistFileThePageSaysHowToGetOne() async throws {
        let browser = try Browser()
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        let page = await browser.send(.GET, "/admin/allowlists")
        #expect(page.body.contains("access.allowlist_file") && !page.body.contains(#"id="allowlist-file""#))
        let refused = await browser.send(.POST, "/admin/allowlists", form: ["csrf": browser.csrf!, "allow": "192.0.2.0/24"])
        #expect(refused.status == .badRequest && refused.body.contains("No allowlist file (access.allowlist_file) is configured."))
    }

    @Test func changesWithoutTheTokenAreRefusedAndWriteNothing() async throws {
        let browser = try Browser()
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        _ = await browser.send(.GET, "/admin/keys")
        let before = try String(contentsOfFile: browser.fixtures.htpasswdPath, encoding: .utf8)
        for form in [["name": "ci"], ["name": "ci", "csrf": "forged"], ["name": "ci", "csrf": String(browser.csrf!.reversed())]] {
            #expect(await browser.send(.POST, "/admin/keys", form: form).status == .forbidden)
            #expect(await browser.send(.POST, "/admin/users/remove", form: form.merging(["user": "bob"]) { $1 }).status == .forbidden)
        }
        #expect(!FileManager.default.fileExists(atPath: browser.fixtures.keysPath))
        #expect(try String(contentsOfFile: browser.fixtures.htpasswdPath, encoding: .utf8) == before)
        #expect(browser.log.entries.filter { $0["console.reason"] != nil }.count == 6)
        // Another session's token is no good either.
        let other = try Browser()
        _ = await other.logIn(user: "alice", password: other.fixtures.passwords["alice"]!)
        _ = await other.send(.GET, "/admin/keys")
        #expect(await browser.send(.POST, "/admin/keys", form: ["name": "ci", "csrf": other.csrf!]).status == .forbidden)
    }

    @Test func usersWrittenByTheConsoleAreReadByApacheHtpasswd() async throws {
        let browser = try Browser()
        _ = await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!)
        _ = await browser.send(.GET, "/admin/users")
        let path = browser.fixtures.htpasswdPath
        func apacheVerifies(_ user: String, _ password: String) -> Bool {
            (try? ExternalTools.run(["htpasswd", "-vb", path, user, password]))?.status == 0
        }
        let hostile = "<b>carol</b>\"'&"
        let added = await browser.send(.POST, "/admin/users", form: ["csrf": browser.csrf!, "user": hostile, "password": "first-password"])
        #expect(added.status == .ok && added.body.contains("&lt;b&gt;carol&lt;/b&gt;&quot;&#39;&amp;") && !added.body.contains("<b>carol"))
        #expect(apacheVerifies(hostile, "first-password") && !apacheVerifies(hostile, "wrong-password"))
        let line = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix(hostile + ":") }
        #expect(line?.dropFirst(hostile.count + 1).hasPrefix("$2y$10$") == true)  // bcrypt, cost 10
        // A second add of the same name is refused and changes nothing.
        let again = await browser.send(.POST, "/admin/users", form: ["csrf": browser.csrf!, "user": hostile, "password": "other-password"])
        #expect(again.status == .badRequest && apacheVerifies(hostile, "first-password"))

        let changed = await browser.send(
            .POST, "/admin/users/password", form: ["csrf": browser.csrf!, "user": hostile, "password": "second-password"])
        #expect(changed.status == .ok)
        #expect(apacheVerifies(hostile, "second-password") && !apacheVerifies(hostile, "first-password"))
        // The proxy admits the new password at once (the console reloads after writing).
        #expect(try await browser.access.decide([("Authorization", basicAuthorization(hostile, "second-password"))]).status == .ok)

        #expect(await browser.send(.POST, "/admin/users/remove", form: ["csrf": browser.csrf!, "user": hostile]).status == .ok)
        #expect(!apacheVerifies(hostile, "second-password") && apacheVerifies("bob", browser.fixtures.passwords["bob"]!))
        #expect(await browser.send(.POST, "/admin/users/remove", form: ["csrf": browser.csrf!, "user": hostile]).status == .badRequest)
        // Made changes are logged as such, refused ones with their error.
        let changes = browser.log.entries.filter { $0["console.action"] != nil }
        #expect(changes.filter { $0["error"] == nil }.map { $0["console.action"] } == ["user_added", "password_changed", "user_removed"])
        #expect(changes.filter { $0["error"] != nil }.map { $0["console.action"] } == ["user_added", "user_removed"])
    }

    @Test func onlyAdminsLogInAndFailuresCountTowardsTheLockout() async throws {
        let browser = try Browser()
        let inference = try browser.fixtures.addKey("laptop")
        let admin = try browser.fixtures.addKey("ops", scope: .admin)
        browser.access.reload()
        // bob has a password but not the admin right; an inference key is not an admin key.
        #expect(await browser.logIn(user: "bob", password: browser.fixtures.passwords["bob"]!).status == .forbidden)
        _ = await browser.send(.GET, "/admin/login")
        #expect(await browser.send(.POST, "/admin/login", form: ["csrf": browser.csrf!, "key": inference]).status == .forbidden)
        _ = await browser.send(.GET, "/admin/login")
        let keyLogin = await browser.send(.POST, "/admin/login", form: ["csrf": browser.csrf!, "key": admin])
        #expect(keyLogin.status == .seeOther)
        #expect(await browser.send(.GET, "/admin").status == .ok)
        // Revoking the key ends its session.
        var file = try APIKeyFile(contentsOfFile: browser.fixtures.keysPath)
        try file.revokeKey(named: "ops")
        try file.write(to: browser.fixtures.keysPath)
        browser.access.reload()
        #expect(await browser.send(.GET, "/admin").status == .seeOther)

        // Three wrong passwords from one address lock it out, for the console and the API alike.
        for _ in 0..<3 { #expect(await browser.logIn(user: "alice", password: "wrong").status == .unauthorized) }
        #expect(await browser.logIn(user: "alice", password: browser.fixtures.passwords["alice"]!).status == .tooManyRequests)
        #expect(try await browser.access.decide(
            [("Authorization", basicAuthorization("alice", browser.fixtures.passwords["alice"]!))], client: "192.0.2.1").status
            == .tooManyRequests)
        let reasons = browser.log.entries.compactMap { $0["auth.reason"] }
        #expect(reasons.filter { $0 == "invalid_credentials" }.count == 3 && reasons.contains("locked_out"))
        #expect(reasons.filter { $0 == "insufficient_scope" }.count == 2)
    }
}
