import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import Proxy

/// Basic authentication and API keys through ``AccessControl``, with real
/// htpasswd files made by Apache's `htpasswd`, and the pieces underneath:
/// the keys file, the verified-credential cache, single flight, lockout and
/// rate limits.
@Suite struct AuthenticationTests {
    @Test func basicCredentialsAreVerifiedAndStrippedBeforeForwarding() async throws {
        let fixtures = try AccessFixtures.make()
        defer { fixtures.remove() }
        _ = try fixtures.addKey("spare")
        let access = try fixtures.control { $0.upstreamAPIKey = "upstream-key" }
        let password = fixtures.passwords["alice"]!

        let admitted = try await access.decide([
            ("Authorization", basicAuthorization("alice", password)), ("X-Authenticated-User", "root"), ("x-api-key", "junk"),
        ])
        let head = try #require(admitted.admittedHead)
        #expect(head.headers["x-authenticated-user"] == ["alice"])  // the client's own claim is replaced
        #expect(head.headers["x-api-key"].isEmpty)
        #expect(head.headers["authorization"] == ["Bearer upstream-key"])

        let missing = try await access.decide([])
        #expect(missing.status == .unauthorized && missing.code == "missing_api_key")
        #expect(missing.rejectionHeaders["www-authenticate"] == ["Basic realm=\"lmgate\", charset=\"UTF-8\""])

        // An unknown user and a wrong password get the very same answer.
        let wrongPassword = try await access.decide([("Authorization", basicAuthorization("alice", "nope"))])
        let unknownUser = try await access.decide([("Authorization", basicAuthorization("mallory", "nope"))])
        guard case .reject(let s1, let h1, let m1, let c1) = wrongPassword, case .reject(let s2, let h2, let m2, let c2) = unknownUser
        else { Issue.record("expected two rejections"); return }
        #expect(s1 == .unauthorized && s1 == s2 && h1 == h2 && m1 == m2 && c1 == c2 && c1 == "invalid_api_key")

        let garbled = try await access.decide([("Authorization", "Basic !!!not-base64")])
        #expect(garbled.status == .unauthorized && garbled.code == "invalid_api_key")
        #expect(try await access.decide([], uri: "/health").status == .ok)
    }

    @Test func apiKeysFromBothHeadersWithScopeAndExpiry() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let inference = try fixtures.addKey("laptop")
        let admin = try fixtures.addKey("ops", scope: .admin)
        let expired = try fixtures.addKey("old", expires: Date(timeIntervalSinceNow: -60))
        let access = try fixtures.control { $0.apiKey = "a-main-key-of-some-length" }

        let bearer = try await access.decide([("Authorization", "Bearer \(inference)")])
        #expect(bearer.admittedHead?.headers["x-authenticated-user"] == ["key:laptop"])
        #expect(bearer.admittedHead?.headers["authorization"].isEmpty == true)
        let anthropicStyle = try await access.decide([("x-api-key", inference)])
        #expect(anthropicStyle.status == .ok)
        #expect(try await access.decide([("x-api-key", "a-main-key-of-some-length")]).status == .ok)

        let scope = try await access.decide([("x-api-key", inference)], uri: "/admin/reload")
        #expect(scope.status == .forbidden && scope.code == "insufficient_scope")
        #expect(try await access.decide([("x-api-key", inference)], uri: "/v1/../admin/reload").status == .forbidden)
        #expect(try await access.decide([("x-api-key", admin)], uri: "/admin/reload").status == .ok)

        #expect(try await access.decide([("x-api-key", expired)]).code == "invalid_api_key")
        #expect(try await access.decide([("x-api-key", inference + "x")]).code == "invalid_api_key")
        #expect(try await access.decide([("Authorization", "Bearer ")]).code == "invalid_api_key")
    }

    @Test func withoutAuthenticationCredentialsPassThroughToTheUpstream() async throws {
        let open = try AccessControl(configuration: AccessConfiguration(), logger: quietLogger, listeners: [])
        let head = try #require(try await open.decide([("Authorization", "Bearer for-the-upstream"), ("X-Authenticated-User", "root")]).admittedHead)
        #expect(head.headers["authorization"] == ["Bearer for-the-upstream"])
        #expect(head.headers["x-authenticated-user"].isEmpty)
        var configuration = AccessConfiguration()
        configuration.upstreamAPIKey = "configured"
        let keyed = try AccessControl(configuration: configuration, logger: quietLogger, listeners: [])
        let replaced = try #require(try await keyed.decide([("Authorization", "Bearer from-client")]).admittedHead)
        #expect(replaced.headers["authorization"] == ["Bearer configured"])
    }

    @Test func listenerMethodsDecideWhichCredentialsCount() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let key = try fixtures.addKey("k")
        let access = try fixtures.control { $0.methods = .key }
        let basic = try await access.decide([("Authorization", basicAuthorization("alice", fixtures.passwords["alice"]!))])
        #expect(basic.status == .unauthorized && basic.code == "missing_api_key")
        #expect(basic.rejectionHeaders["www-authenticate"] == ["Bearer realm=\"lmgate\""])
        #expect(try await access.decide([("Authorization", "Bearer \(key)")]).status == .ok)
    }

    @Test func allowlistAndLoopbackPolicyPerRequest() async throws {
        var configuration = AccessConfiguration()
        configuration.apiKey = "a-main-key-of-some-length"
        configuration.allow = [CIDRRange("192.0.2.0/24")!, CIDRRange("127.0.0.1")!]
        configuration.trustedProxies = [CIDRRange("127.0.0.1")!]
        configuration.skipLoopback = true
        configuration.listenerMethods = [HostAndPort(host: "127.0.0.1", port: 9): .basic]
        let access = try AccessControl(configuration: configuration, logger: quietLogger, listeners: [])
        #expect(access.permitsConnection(from: try SocketAddress(ipAddress: "192.0.2.99", port: 1)))
        #expect(!access.permitsConnection(from: try SocketAddress(ipAddress: "198.51.100.1", port: 1)))
        #expect(!access.permitsConnection(from: try SocketAddress(ipAddress: "::ffff:198.51.100.1", port: 1)))

        // A trusted proxy forwarding for a client outside the allowlist: 403 at HTTP level.
        let forwarded = try await access.decide([("X-Forwarded-For", "198.51.100.1")], client: "127.0.0.1")
        #expect(forwarded.status == .forbidden && forwarded.code == "address_not_allowed")
        // Loopback clients skip credentials; the forwarded one is not loopback and must authenticate.
        #expect(try await access.decide([], client: "127.0.0.1").status == .ok)
        #expect(try await access.decide([("X-Forwarded-For", "192.0.2.5")], client: "127.0.0.1").status == .unauthorized)

        // Per-listener methods: the Basic-only listener does not take the key.
        let listener = ListenerConfiguration(address: HostAndPort(host: "127.0.0.1", port: 9), security: .plain)
        let request = AdmissionRequest(
            head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["x-api-key": "a-main-key-of-some-length"]),
            clientAddress: "192.0.2.7", eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        guard case .decided(let decision) = access.admission(for: listener).admit(request) else { Issue.record("pending"); return }
        #expect(decision.status == .unauthorized && decision.code == "missing_api_key")
        #expect(try await access.decide([("x-api-key", "a-main-key-of-some-length")], client: "192.0.2.7").status == .ok)
    }

    @Test func lockoutEngagesAndStopsHashing() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let access = try fixtures.control {
            $0.lockoutMaxFailures = 3
            // Longer than three hashes take on a loaded machine (the whole suite in
            // parallel on 2 cores: over a minute), so that all three count.
            $0.lockoutWindow = .seconds(600)
            // Far longer than the checks below take on a loaded machine (expiry is
            // tested with a controlled clock in failureTrackerCountsWithinTheWindowOnly).
            $0.lockoutDuration = .seconds(120)
        }
        let good = [("Authorization", basicAuthorization("alice", fixtures.passwords["alice"]!))]
        for _ in 0..<3 {
            #expect(try await access.decide([("Authorization", basicAuthorization("alice", "guess"))]).status == .unauthorized)
        }
        // Locked out: even the right password is not looked at, and answered at once.
        let locked = access.admit(AdmissionRequest(
            head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: HTTPHeaders(good)),
            clientAddress: "192.0.2.10", eventLoop: MultiThreadedEventLoopGroup.singleton.next()))
        guard case .decided(let decision) = locked else { Issue.record("a locked-out request must not wait for hashing"); return }
        #expect(decision.status == .tooManyRequests && decision.code == "too_many_failed_attempts")
        // At most the lockout's length; how much of it is left depends on how long the
        // three hashes took, which on a loaded 2-core machine can be a minute.
        #expect((1...120).contains(Int(decision.rejectionHeaders["retry-after"].first ?? "") ?? 0))
        // Other addresses are not affected; expiry is checked with a controlled clock in failureTrackerCountsWithinTheWindowOnly.
        #expect(try await access.decide(good, client: "192.0.2.11").status == .ok)
    }

    @Test func aBurstOfParallelGuessesIsCutOffAtTheLimit() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let access = try fixtures.control { $0.lockoutMaxFailures = 3 }
        var statuses: [HTTPResponseStatus] = []
        try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
            for index in 0..<12 {
                group.addTask {
                    try await access.decide([("Authorization", basicAuthorization("alice", "guess\(index)"))]).status
                }
            }
            for try await status in group { statuses.append(status) }
        }
        // Exactly the allowed number of guesses were hashed; the rest were refused unhashed.
        #expect(statuses.filter { $0 == .unauthorized }.count == 3)
        #expect(statuses.filter { $0 == .tooManyRequests }.count == 9)
    }

    @Test func failureTrackerCountsWithinTheWindowOnly() {
        let tracker = LoginFailureTracker(maxFailures: 2, window: .seconds(10), lockout: .seconds(30))
        let address = FailureCountingKey(IPAddress("198.51.100.1")!, ipv6PrefixLength: 64)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        #expect(!tracker.recordFailure(address, now: start))
        // The first failure has left the window: this is again the first.
        #expect(!tracker.recordFailure(address, now: start + .seconds(11)))
        #expect(tracker.recordFailure(address, now: start + .seconds(12)))
        #expect(tracker.lockedOut(address, now: start + .seconds(13)) == .seconds(29))
        #expect(tracker.lockedOut(address, now: start + .seconds(43)) == nil)
        // A verification that succeeds leaves no record; one that fails stays counted.
        #expect(tracker.beginVerification(address, now: start + .seconds(50)))
        tracker.endVerification(address)
        #expect(tracker.trackedAddresses == 0)
        tracker.recordFailure(address, now: start + .seconds(50))
        #expect(tracker.trackedAddresses == 1)
    }

    @Test func aFailedVerificationIsCountedOnceAsItEnds() {
        let tracker = LoginFailureTracker(maxFailures: 3, window: .seconds(60), lockout: .seconds(30))
        let address = FailureCountingKey(IPAddress("198.51.100.2")!, ipv6PrefixLength: 64)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        #expect(tracker.beginVerification(address, now: start))
        #expect(tracker.beginVerification(address, now: start))
        // One failed and one under way: a third guess is within the limit of 3...
        tracker.endVerification(address, failed: true, now: start + .seconds(1))
        #expect(tracker.beginVerification(address, now: start + .seconds(1)))
        // ...a fourth is not, while two are under way.
        #expect(!tracker.beginVerification(address, now: start + .seconds(1)))
        tracker.endVerification(address, failed: true, now: start + .seconds(2))
        #expect(tracker.lockedOut(address, now: start + .seconds(2)) == nil)
        tracker.endVerification(address, failed: true, now: start + .seconds(3))
        #expect(tracker.lockedOut(address, now: start + .seconds(3)) == .seconds(30))
        // A failure whose record was dropped (table full) is still counted.
        let other = FailureCountingKey(IPAddress("198.51.100.3")!, ipv6PrefixLength: 64)
        tracker.endVerification(other, failed: true, now: start)
        #expect(tracker.trackedAddresses == 2)
    }

    @Test func rateLimitAllowsABurstThenRefills() {
        let limiter = RequestRateLimiter(perSecond: 2, burst: 3)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        for _ in 0..<3 { #expect(limiter.take("key:a", now: start) == nil) }
        #expect(limiter.take("key:a", now: start) == .milliseconds(500))
        #expect(limiter.take("key:b", now: start) == nil)
        #expect(limiter.take("key:a", now: start + .milliseconds(500)) == nil)
        #expect(RequestRate("600/m")?.perSecond == 10)
        #expect(RequestRate("10/fortnight") == nil && RequestRate("0/s") == nil)
    }

    @Test func cacheIsBoundedAndKeyedByHMAC() {
        let hmac = ProcessKeyedHMAC()
        let cache = VerifiedCredentialCache(capacity: 3)
        let digests = (0..<5).map { hmac.digest(Array("user\($0)".utf8), Array("password".utf8)) }
        for (index, digest) in digests.enumerated() { cache.insert(digest, user: "user\(index)") }
        #expect(cache.count == 3)
        #expect(cache.user(for: digests[0]) == nil && cache.user(for: digests[1]) == nil)
        #expect(cache.user(for: digests[4]) == "user4")
        // Length-prefixed parts: moving a byte between user and password changes the digest.
        #expect(hmac.digest(Array("ab".utf8), Array("c".utf8)) != hmac.digest(Array("a".utf8), Array("bc".utf8)))
        // Another process (another key) gets other digests for the same pair.
        #expect(ProcessKeyedHMAC().digest(Array("u".utf8)) != hmac.digest(Array("u".utf8)))
        #expect(SecretDigest.sha256(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // RFC 4231 test cases 2 and 6 (a key longer than the block is hashed first).
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA256Digester.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(hex(SHA256Digester.hmac(
            key: [UInt8](repeating: 0xAA, count: 131),
            message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func concurrentChecksOfTheSameCredentialsHashOnce() async throws {
        let flights = SingleFlight<Bool>()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: Bool.self)
        let started = NIOLockedValueBox(0)
        let key = SecretDigest.sha256(Array("k".utf8))
        let futures = (0..<5).map { _ in
            flights.run(key) {
                started.withLockedValue { $0 += 1 }
                return promise.futureResult
            }
        }
        #expect(started.withLockedValue { $0 } == 1 && flights.inFlight == 1)
        promise.succeed(true)
        for future in futures { #expect(try await #require(future).get()) }
        #expect(await eventually { flights.inFlight == 0 })

        // And through the authenticator: eight parallel checks, one cached success.
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let access = try fixtures.control()
        let header = basicAuthorization("alice", fixtures.passwords["alice"]!)
        try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
            for index in 0..<8 { group.addTask { try await access.decide([("Authorization", header)], client: "192.0.2.\(index)").status } }
            for try await status in group { #expect(status == .ok) }
        }
    }

    @Test func keysFileRoundTripsAndRefusesDamage() throws {
        let (_, first) = APIKey.generate(name: "laptop", scope: .inference, expires: nil, now: Date(timeIntervalSince1970: 1_800_000_000))
        let (_, second) = APIKey.generate(name: "ops.admin", scope: .admin, expires: Date(timeIntervalSince1970: 1_900_000_000))
        let file = APIKeyFile(keys: [first, second])
        let text = file.serialized()
        #expect(!text.contains(first.prefix + first.prefix))  // only the short prefix, once
        let parsed = try APIKeyFile(text: text)
        #expect(parsed.keys.map(\.name) == ["laptop", "ops.admin"])
        #expect(parsed.keys[0].digest == first.digest && parsed.keys[1].scope == .admin)
        #expect(parsed.keys[0].created == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(parsed.keys[1].expires == Date(timeIntervalSince1970: 1_900_000_000))

        let lines = text.split(separator: "\n").map(String.init)
        func problem(_ text: String) -> String? {
            do { _ = try APIKeyFile(text: text); return nil } catch { return error.description }
        }
        #expect(problem(lines[2] + "\n" + lines[2])?.contains("used twice") == true)
        #expect(problem(String(lines[2].dropLast(3)))?.contains("line 1: the hash") == true)
        #expect(problem("# c\n\nname inference 2026-01-01T00:00:00Z never p")?.contains("line 3") == true)
        #expect(problem(lines[2].replacingOccurrences(of: "inference", with: "root"))?.contains("scope") == true)
        #expect(APIKey.expiry(from: "2d", now: Date(timeIntervalSince1970: 0)) == Date(timeIntervalSince1970: 172_800))
        #expect(APIKey.expiry(from: "2027-01-31") == Date(timeIntervalSince1970: 1_801_353_600))
        #expect(APIKey.expiry(from: "soon") == nil)
    }

    @Test func aBadNewFileKeepsThePolicyInForce() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let key = try fixtures.addKey("laptop")
        let access = try fixtures.control()
        let alice = [("Authorization", basicAuthorization("alice", fixtures.passwords["alice"]!))]
        #expect(try await access.decide(alice).status == .ok)

        try "alice:$2y$05$half-written\nthis line is not an entry\n".write(toFile: fixtures.htpasswdPath, atomically: true, encoding: .utf8)
        #expect(!access.reload())
        #expect(try await access.decide(alice).status == .ok)

        // A valid change takes effect, and the cache of the old file goes with it.
        let replacement = try ExternalTools.run(["htpasswd", "-nbB", "-C", "4", "carol", "pw-carol"]).stdout
        try replacement.write(toFile: fixtures.htpasswdPath, atomically: true, encoding: .utf8)
        #expect(access.reload())
        #expect(try await access.decide(alice).status == .unauthorized)
        #expect(try await access.decide([("Authorization", basicAuthorization("carol", "pw-carol"))]).status == .ok)

        // Revoking a key in the file, then the file watcher reloading.
        access.startWatching(interval: .milliseconds(50))
        defer { access.stop() }
        #expect(try await access.decide([("x-api-key", key)]).status == .ok)
        try APIKeyFile().write(to: fixtures.keysPath)
        var revoked = false
        for _ in 0..<100 where !revoked {
            try await Task.sleep(for: .milliseconds(50))
            revoked = try await access.decide([("x-api-key", key)]).status == .unauthorized
        }
        #expect(revoked)
    }

    @Test func configurationReachesEverySettingAndRefusesUnsafeCombinations() throws {
        let configuration = try ProxyConfigurationLoader.load(yaml: """
            listen: ["http://127.0.0.1:8080"]
            upstreams: ["http://127.0.0.1:1234"]
            access: { allow: ["10.0.0.0/8", "fd00::/8"], deny: ["10.0.0.13"], trusted_proxies: ["127.0.0.1"] }
            auth:
              api_key: "0123456789abcdef0123"
              listener_methods: ["127.0.0.1:8080=key"]
              lockout: { max_failures: 4, window: 2s, duration: 500ms }
              rate_limit: 5/s
              public_paths: ["/health", "/docs/"]
            cors: { origins: ["https://app.example"] }
            """)
        let access = configuration.access
        #expect(access.allow.map(\.description) == ["10.0.0.0/8", "fd00::/8"])
        #expect(access.methods(for: HostAndPort(host: "127.0.0.1", port: 8080)) == .key)
        #expect(access.lockoutMaxFailures == 4 && access.lockoutDuration == .milliseconds(500))
        #expect(access.rateLimit == RequestRate("5/s") && access.corsOrigins == ["https://app.example"])

        let overrides: [ConfigurationOverride] = [
            .init(key: "listen", values: ["0.0.0.0:8443"]), .init(key: "upstreams", values: ["http://127.0.0.1:1"]),
            .init(key: "allow_plain_non_loopback", value: "true"),
            .init(key: "auth.api_key", value: "0123456789abcdef0123"), .init(key: "auth.skip_loopback", value: "true"),
        ]
        let error = #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(file: nil, environment: [:], overrides: overrides)
        }
        #expect(error?.message.contains("auth.skip_loopback would let clients of 0.0.0.0:8443 in") == true)
        let badRange = #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(file: nil, environment: ["LMGATE_PROXY_ACCESS_ALLOW": "10.0.0.1/8"], overrides: [])
        }
        #expect(badRange?.message.hasPrefix("access.allow (from LMGATE_PROXY_ACCESS_ALLOW)") == true)
        let basicOnly = #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(file: nil, environment: [:], overrides: [
                .init(key: "listen", values: ["127.0.0.1:1"]), .init(key: "upstreams", values: ["http://127.0.0.1:1"]),
                .init(key: "auth.api_key", value: "0123456789abcdef0123"), .init(key: "auth.methods", value: "basic"),
            ])
        }
        #expect(basicOnly?.message.contains("accepts only Basic authentication but auth.htpasswd is not set") == true)
    }
}
