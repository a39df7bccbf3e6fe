import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import Proxy

/// Attacks on access control found by attacking `lmgate serve`, each
/// through ``AccessControl`` as the proxy calls it.
@Suite struct AccessAttackTests {
    /// 8 wrong passwords and 1 good key, again and again: the good key must
    /// not reset the count, or a key holder could guess passwords forever.
    @Test func aValidCredentialDoesNotResetTheFailureCount() async throws {
        let fixtures = try AccessFixtures.make(users: ["admin"])
        defer { fixtures.remove() }
        let key = try fixtures.addKey("laptop")
        let access = try fixtures.control { $0.lockoutMaxFailures = 10 }
        var statuses: [HTTPResponseStatus] = []
        for round in 0..<3 {
            for guess in 0..<8 {
                statuses.append(try await access.decide([("Authorization", basicAuthorization("admin", "guess-\(round)-\(guess)"))]).status)
            }
            statuses.append(try await access.decide([("x-api-key", key)]).status)
        }
        // The first 9 requests: 8 failures, then the key works.
        #expect(statuses.prefix(9) == ArraySlice(Array(repeating: .unauthorized, count: 8) + [.ok]))
        // The 10th failure (second round) locks the address out, good key or not.
        #expect(statuses[9] == .unauthorized && statuses[10] == .unauthorized && statuses[11] == .tooManyRequests)
        #expect(statuses.suffix(from: 11).allSatisfy { $0 == .tooManyRequests })
        #expect(try await access.decide([("x-api-key", key)]).code == "too_many_failed_attempts")
    }

    /// A /64 is one client: its addresses share one failure count. IPv4
    /// counts per address, the same whether it arrives as IPv4 or IPv4-mapped.
    @Test func ipv6FailuresAreCountedPerNetwork() async throws {
        let fixtures = try AccessFixtures.make(users: ["admin"])
        defer { fixtures.remove() }
        let access = try fixtures.control { $0.lockoutMaxFailures = 3 }
        let wrong = [("x-api-key", "not-a-key")]
        for host in 1...3 { #expect(try await access.decide(wrong, client: "2001:db8:1:2::\(host)").status == .unauthorized) }
        #expect(try await access.decide(wrong, client: "2001:db8:1:2:ffff:ffff:ffff:fffe").code == "too_many_failed_attempts")
        #expect(try await access.decide(wrong, client: "2001:db8:1:3::1").status == .unauthorized)

        for client in ["192.0.2.50", "::ffff:192.0.2.50", "192.0.2.50"] {
            #expect(try await access.decide(wrong, client: client).status == .unauthorized)
        }
        #expect(try await access.decide(wrong, client: "::ffff:192.0.2.50").code == "too_many_failed_attempts")
        #expect(try await access.decide(wrong, client: "192.0.2.51").status == .unauthorized)

        // The prefix is a setting: per /128, each address is its own client again.
        let perAddress = try fixtures.control {
            $0.lockoutMaxFailures = 3
            $0.lockoutIPv6PrefixLength = 128
        }
        for host in 1...5 { #expect(try await perAddress.decide(wrong, client: "2001:db8::\(host)").status == .unauthorized) }
        #expect(FailureCountingKey(IPAddress("2001:db8:0:ff::1")!, ipv6PrefixLength: 56)
            == FailureCountingKey(IPAddress("2001:db8:0:1::2")!, ipv6PrefixLength: 56))
    }

    /// A user name with a newline must not forge a second log line.
    @Test func clientTextInTheAuditLogIsEscaped() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let log = CapturedLog()
        let access = try fixtures.control(logger: log.logger())
        let forged = basicAuthorization("alice\nauth.success user=admin", "x")
        #expect(try await access.decide([("Authorization", forged)], uri: "/v1/\u{1B}[2Jmodels?api_key=secret").status == .unauthorized)
        let failures = log.text.split(separator: "\n").filter { $0.contains("auth.failure") }
        #expect(failures.count == 1)
        #expect(!log.text.split(separator: "\n").contains { $0.hasPrefix("auth.success") })
        let line = try #require(failures.first)
        #expect(line.contains(#"auth.user=alice\x0Aauth.success user=admin"#))
        #expect(line.contains(#"http.path=/v1/\x1B[2Jmodels"#) && !line.contains("secret"))
    }

    /// Every spelling of an admin path needs admin scope; none may pass as an
    /// inference path. Paths are case-sensitive (see ``RequestPath``).
    @Test func adminPathsCannotBeReachedWithAnInferenceKey() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let inference = try fixtures.addKey("laptop")
        let admin = try fixtures.addKey("ops", scope: .admin)
        let access = try fixtures.control()
        for target in ["http://gw/admin/x", "/%61dmin/x", "/admin%2fx", "/admin/../admin/x", "//admin/x", "/admin%5Cx", "/%2561dmin/x"] {
            let decision = try await access.decide([("x-api-key", inference)], uri: target)
            #expect(decision.code == "insufficient_scope", "\(target)")
            #expect(try await access.decide([("x-api-key", admin)], uri: target).status == .ok, "\(target)")
        }
        // Another path, as nginx and the upstreams' routers see it.
        #expect(try await access.decide([("x-api-key", inference)], uri: "/ADMIN/x").status == .ok)
        // Public paths are public only in every reading.
        #expect(try await access.decide([], uri: "/health").status == .ok)
        #expect(try await access.decide([], uri: "/health%2f..%2fv1/models").status == .unauthorized)
        #expect(try await access.decide([], uri: "http://gw/health").status == .ok)
    }

    /// `X_Authenticated_User` reaches a WSGI/CGI upstream as the identity
    /// header: it is removed like the header itself.
    @Test func identityHeaderCannotBeClaimedWithUnderscores() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let key = try fixtures.addKey("laptop")
        let access = try fixtures.control()
        let head = try #require(try await access.decide([
            ("x-api-key", key), ("X_Authenticated_User", "admin"), ("x_authenticated-USER", "root"),
        ]).admittedHead)
        #expect(head.headers.map(\.name).filter { $0.lowercased().contains("authenticated") } == ["X-Authenticated-User"])
        #expect(head.headers["x-authenticated-user"] == ["key:laptop"])
        #expect(UpstreamIdentity.isSpelling("x_authenticated_user", of: "X-Authenticated-User"))
        #expect(!UpstreamIdentity.isSpelling("x-authenticated-users", of: "X-Authenticated-User"))
    }

    /// A huge password is refused at once, never hashed: SHA-crypt's cost
    /// grows with its length.
    @Test func oversizedBasicCredentialsAreRefusedWithoutHashing() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let access = try fixtures.control()
        for (user, password) in [("alice", String(repeating: "p", count: 30_000)), (String(repeating: "u", count: 5_000), "x")] {
            let request = AdmissionRequest(
                head: HTTPRequestHead(
                    version: .http1_1, method: .GET, uri: "/v1/models",
                    headers: ["Authorization": basicAuthorization(user, password)]),
                clientAddress: "192.0.2.10", eventLoop: MultiThreadedEventLoopGroup.singleton.next())
            guard case .decided(let decision) = access.admit(request) else {
                Issue.record("an oversized credential must not be hashed")
                continue
            }
            #expect(decision.code == "invalid_api_key")
        }
        // The longest allowed password is still checked (and counted as a failure when wrong).
        let longest = String(repeating: "p", count: BasicAuthenticator.maxPasswordBytes)
        #expect(try await access.decide([("Authorization", basicAuthorization("alice", longest))]).status == .unauthorized)
        #expect(try await access.decide([("Authorization", basicAuthorization("alice", fixtures.passwords["alice"]!))]).status == .ok)
    }

    /// `X-Forwarded-For` from a peer that is not a trusted proxy names nobody:
    /// a client cannot spread its guesses over made-up addresses.
    @Test func forwardedForFromAnUntrustedPeerDoesNotMoveTheFailureCount() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let access = try fixtures.control {
            $0.lockoutMaxFailures = 2
            $0.trustedProxies = [CIDRRange("10.0.0.1")!]
        }
        for index in 0..<2 {
            #expect(try await access.decide([("x-api-key", "nope"), ("X-Forwarded-For", "198.51.100.\(index)")]).status == .unauthorized)
        }
        #expect(try await access.decide([("x-api-key", "nope"), ("X-Forwarded-For", "198.51.100.9")]).code == "too_many_failed_attempts")
    }
}
