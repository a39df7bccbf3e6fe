import Foundation
import Testing
@testable import Proxy

/// Sessions and CSRF tokens: who gets which page, and which forms are refused.
@Suite struct ConsoleGateTests {
    let sessions = ConsoleSessions(lifetime: .seconds(3600))

    @Test func withoutASessionPagesGoToLoginAndChangesAreRefused() {
        #expect(ConsoleGate.decide(route: .keys, session: nil, form: nil, loginToken: nil) == .toLogin)
        #expect(ConsoleGate.decide(route: .dashboard, session: nil, form: nil, loginToken: nil) == .toLogin)
        let form = ConsoleForm(fields: ["csrf": "anything", "name": "ci"])
        for route in [ConsoleRoute.createKey, .revokeKey, .addUser, .changePassword, .removeUser, .reload, .logout] {
            guard case .refuse(403, _) = ConsoleGate.decide(route: route, session: nil, form: form, loginToken: nil) else {
                Issue.record("\(route) without a session was not refused")
                continue
            }
        }
        #expect(ConsoleGate.decide(route: .loginPage, session: nil, form: nil, loginToken: nil) == .loginPage)
        guard case .refuse(404, _) = ConsoleGate.decide(route: .notFound, session: nil, form: nil, loginToken: nil) else {
            Issue.record("no 404")
            return
        }
    }

    @Test func aChangeNeedsItsSessionsExactToken() throws {
        let (_, session) = self.sessions.open(for: .user("alice"))
        let (_, other) = self.sessions.open(for: .user("alice"))
        let token = session.csrfToken
        #expect(token.count == 43)  // 256 bits, base64url without padding
        let good = ConsoleForm(fields: ["csrf": token, "name": "ci"])
        #expect(ConsoleGate.decide(route: .createKey, session: session, form: good, loginToken: nil)
            == .change(.createKey, .user("alice"), good, csrfToken: token))

        // Missing, empty, another session's, and near misses of every kind: all refused.
        var wrong: [String?] = [nil, "", other.csrfToken, String(token.dropLast()), token + "A", token.uppercased(), " " + token]
        for _ in 0..<200 {
            var characters = Array(token)
            let index = Int.random(in: 0..<characters.count)
            let replacement = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".randomElement()!
            guard characters[index] != replacement else { continue }
            characters[index] = replacement
            wrong.append(String(characters))
        }
        for candidate in wrong {
            var fields = ["name": "ci"]
            fields["csrf"] = candidate
            let decision = ConsoleGate.decide(route: .createKey, session: session, form: ConsoleForm(fields: fields), loginToken: nil)
            guard case .refuse(403, _) = decision else {
                Issue.record("token \(candidate ?? "nil") was accepted")
                return
            }
        }
        // A form that cannot be read is refused before its token is looked at.
        guard case .refuse(400, _) = ConsoleGate.decide(route: .revokeKey, session: session, form: nil, loginToken: nil) else {
            Issue.record("unreadable form not refused")
            return
        }
        // Pages of a session carry its token, for their forms.
        #expect(ConsoleGate.decide(route: .users, session: session, form: nil, loginToken: nil) == .page(.users, .user("alice"), csrfToken: token))
    }

    @Test func aLoginFormMustCarryItsOwnCookiesToken() {
        let token = SecureRandom.token(bytes: 32)
        let form = ConsoleForm(fields: ["csrf": token, "key": "lmg_x"])
        #expect(ConsoleGate.decide(route: .login, session: nil, form: form, loginToken: token) == .login(form))
        for (cookie, posted) in [(nil, token), (token, nil), (token, SecureRandom.token(bytes: 32)), ("", "")] as [(String?, String?)] {
            var fields = ["key": "lmg_x"]
            fields["csrf"] = posted
            guard case .refuse(403, _) = ConsoleGate.decide(route: .login, session: nil, form: ConsoleForm(fields: fields), loginToken: cookie)
            else {
                Issue.record("login with cookie \(cookie ?? "nil") and token \(posted ?? "nil") was not refused")
                continue
            }
        }
    }

    @Test func sessionsExpireCloseAndMakeRoom() {
        let sessions = ConsoleSessions(lifetime: .seconds(60), capacity: 3)
        let start = Date()
        var ids: [String] = []
        for index in 0..<3 { ids.append(sessions.open(for: .key("k\(index)"), now: start.addingTimeInterval(Double(index))).id) }
        #expect(Set(ids).count == 3 && ids.allSatisfy { $0.count == 43 })
        #expect(sessions.session(id: ids[0], now: start)?.identity == .key("k0"))
        #expect(sessions.session(id: ids[0], now: start.addingTimeInterval(61)) == nil)  // expired, and forgotten
        #expect(sessions.session(id: ids[0], now: start) == nil)
        // Full: a new login ends the oldest session.
        let fourth = sessions.open(for: .key("k3"), now: start.addingTimeInterval(3)).id
        let fifth = sessions.open(for: .key("k4"), now: start.addingTimeInterval(4)).id
        #expect(sessions.session(id: ids[1], now: start.addingTimeInterval(5)) == nil)
        #expect(sessions.session(id: fourth, now: start.addingTimeInterval(5)) != nil)
        sessions.close(id: fourth)
        #expect(sessions.session(id: fourth, now: start.addingTimeInterval(5)) == nil)
        sessions.closeAll(of: .key("k4"))
        #expect(sessions.session(id: fifth, now: start.addingTimeInterval(5)) == nil)
        #expect(sessions.session(id: nil) == nil && sessions.session(id: "") == nil && sessions.session(id: "guess") == nil)
    }
}
