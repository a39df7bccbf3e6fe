import Foundation
import Testing
@testable import Proxy

/// The key and user forms read into changes, and the changes the console
/// refuses to make so that it never locks every admin out.
@Suite struct ConsoleChangeTests {
    private func change(_ route: ConsoleRoute, _ fields: [String: String]) throws(ConsoleChange.Problem) -> ConsoleChange {
        try ConsoleChange(route: route, form: ConsoleForm(fields: fields))
    }

    @Test func scopeAndExpiryFormsAreRead() throws {
        #expect(try self.change(.setKeyScope, ["name": "ci", "scope": "admin"]) == .setKeyScope(name: "ci", scope: .admin))
        #expect(try self.change(.setKeyScope, ["name": "ci", "scope": " inference "]) == .setKeyScope(name: "ci", scope: .inference))
        #expect(try self.change(.setKeyExpiry, ["name": "ci", "expires": "30d"]) == .setKeyExpiry(name: "ci", expires: "30d"))
        // An empty field is no expiry, as "never" is.
        #expect(try self.change(.setKeyExpiry, ["name": "ci", "expires": " "]) == .setKeyExpiry(name: "ci", expires: nil))
        #expect(try self.change(.setKeyExpiry, ["name": "ci"]) == .setKeyExpiry(name: "ci", expires: nil))
        #expect(try self.change(.setKeyExpiry, ["name": "ci", "expires": "never"]) == .setKeyExpiry(name: "ci", expires: "never"))
        #expect(try self.change(.setKeyExpiry, ["name": "ci", "expires": "2099-12-31"]).action == "key_expiry_set")
    }

    @Test(arguments: [
        (ConsoleRoute.setKeyScope, ["name": "ci", "scope": "root"], "The scope is inference or admin."),
        (.setKeyScope, ["name": "ci"], "The scope is inference or admin."),
        (.setKeyScope, ["scope": "admin"], "Which key?"),
        (.setKeyExpiry, ["name": "ci", "expires": "2020-01-01"], "future date"),
        (.setKeyExpiry, ["name": "ci", "expires": "31/01/2027"], "future date"),
        (.setKeyExpiry, ["expires": "30d"], "Which key?"),
        (.setUserAdmin, ["user": "bob", "admin": "maybe"], "Give the admin right (yes) or take it (no)?"),
        (.setUserAdmin, ["admin": "yes"], "Give the user's name."),
        (.setUserLimits, ["user": "bob", "max_concurrent": "many"], "max_concurrent must be a whole number"),
        (.setUserLimits, ["user": "bob", "priority": "urgent"], "priority must be high, normal or low"),
        (.setUserLimits, ["user": "bo:b"], "cannot be used"),
    ])
    func badFormsAreProblemsInWords(route: ConsoleRoute, fields: [String: String], message: String) {
        let problem = #expect(throws: ConsoleChange.Problem.self) { try self.change(route, fields) }
        #expect(problem?.description.contains(message) == true, "\(problem?.description ?? "none")")
    }

    @Test func userFormsAreReadAndNamedInTheAuditLog() throws {
        let given = try self.change(.setUserAdmin, ["user": "bob", "admin": "yes"])
        let taken = try self.change(.setUserAdmin, ["user": "bob", "admin": "no"])
        #expect(given == .setUserAdmin(name: "bob", admin: true) && given.action == "user_admin_granted" && given.target == "bob")
        #expect(taken.action == "user_admin_revoked" && taken.consoleAccessTaken == .user("bob") && given.consoleAccessTaken == nil)
        let limits = try self.change(.setUserLimits, ["user": "bob", "models": "qwen3-*", "tokens_per_day": "500", "priority": ""])
        #expect(limits == .setUserLimits(name: "bob", limits: try IdentityLimits(fields: ["models=qwen3-*", "tokens_per_day=500"])))
        #expect(limits.action == "user_limits_set")
        let scope = try self.change(.setKeyScope, ["name": "ops", "scope": "inference"])
        #expect(scope.target == "key:ops" && scope.consoleAccessTaken == .key("ops"))
        #expect(try self.change(.setKeyScope, ["name": "ops", "scope": "admin"]).consoleAccessTaken == nil)
    }

    /// The last identity with the console keeps it; with another admin, any one may lose it.
    @Test func theLastAdminKeepsTheConsole() {
        let configuration = AccessConfiguration()
        let alone: Set<ConsoleIdentity> = [.user("alice")]
        let two: Set<ConsoleIdentity> = [.user("alice"), .key("ops")]
        let takers: [ConsoleChange] = [
            .setUserAdmin(name: "alice", admin: false), .removeUser(name: "alice"),
        ]
        for change in takers {
            let refusal = change.refusal(client: nil, configuration: configuration, admins: alone)
            #expect(refusal?.description.contains("alice is the last key or user that can use this console") == true)
            #expect(change.refusal(client: nil, configuration: configuration, admins: two) == nil)
        }
        for change in [ConsoleChange.setKeyScope(name: "ops", scope: .inference), .revokeKey(name: "ops")] {
            #expect(change.refusal(client: nil, configuration: configuration, admins: [.key("ops")]) != nil)
            #expect(change.refusal(client: nil, configuration: configuration, admins: two) == nil)
        }
        // Changes to identities that are not admins, or that keep the console, are never refused for it.
        for change in [ConsoleChange.setUserAdmin(name: "bob", admin: false), .removeUser(name: "bob"),
                       .setUserAdmin(name: "alice", admin: true), .setKeyScope(name: "ci", scope: .inference),
                       .setKeyExpiry(name: "ops", expires: "1d")] {
            #expect(change.refusal(client: nil, configuration: configuration, admins: alone) == nil, "\(change)")
        }
    }
}
