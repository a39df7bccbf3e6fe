import Testing
@testable import Proxy

/// The `queue` settings and the `priority` limit: read from the file, the
/// environment and flags; bad values are clear errors naming the setting.
@Suite struct UpstreamQueueSettingsTests {
    static let base = "listen: [\"127.0.0.1:8080\"]\nupstreams: [\"http://127.0.0.1:1234\"]\n"

    @Test func queuingIsOffUnlessSlotsAreSet() throws {
        let configuration = try ProxyConfigurationLoader.load(yaml: Self.base)
        #expect(!configuration.queue.isEnabled)
        #expect(configuration.queue == UpstreamQueueConfiguration())
    }

    @Test func theFileTheEnvironmentAndFlagsSetTheQueue() throws {
        let yaml = Self.base + "queue: { upstream_slots: 2, max_waiting: 64, max_per_identity: 8, timeout: 45s }\n"
        let fromFile = try ProxyConfigurationLoader.load(yaml: yaml)
        #expect(fromFile.queue.isEnabled && fromFile.queue.upstreamSlots == 2 && fromFile.queue.maxWaiting == 64)
        #expect(fromFile.queue.maxPerIdentity == 8 && fromFile.queue.timeout == .seconds(45))

        let overridden = try ProxyConfigurationLoader.load(
            file: nil, environment: ["LMGATE_PROXY_QUEUE_UPSTREAM_SLOTS": "4", "LMGATE_PROXY_QUEUE_TIMEOUT": "2m"],
            overrides: [
                .init(key: "listen", values: ["127.0.0.1:8080"]), .init(key: "upstreams", values: ["http://127.0.0.1:1"]),
                .init(key: "queue.max_per_identity", value: "3"),
            ])
        #expect(overridden.queue.upstreamSlots == 4 && overridden.queue.timeout == .seconds(120))
        #expect(overridden.queue.maxPerIdentity == 3)
    }

    @Test func badQueueSettingsAreClearErrors() {
        let cases: [(String, String)] = [
            ("queue: { upstream_slots: -1 }", "queue.upstream_slots"),
            ("queue: { upstream_slots: two }", "queue.upstream_slots"),
            ("queue: { max_per_identity: 0 }", "queue.max_per_identity must be at least 1"),
            ("queue: { timeout: 0s }", "queue.timeout must be longer than zero"),
            ("queue: { timeout: soon }", "queue.timeout"),
            ("queue: { slots: 2 }", "unknown setting 'queue.slots'"),
        ]
        for (yaml, expected) in cases {
            #expect {
                try ProxyConfigurationLoader.load(yaml: Self.base + yaml)
            } throws: { error in
                (error as? ConfigurationError)?.message.contains(expected) == true
            }
        }
    }

    @Test func thePriorityLimitParsesAndRoundTrips() throws {
        let limits = try IdentityLimits(fields: ["max_concurrent=2", "priority=high"])
        #expect(limits.priority == .high && !limits.isEmpty)
        #expect(limits.fields == ["max_concurrent=2", "priority=high"])
        #expect(try IdentityLimits(fields: limits.fields) == limits)
        #expect(try !IdentityLimits(fields: ["priority=low"]).isEmpty)
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["priority=urgent"]) }
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["priority=high", "priority=low"]) }
        let users = try UserLimitsFile(text: "alice priority=low\nbob priority=high models=qwen3-*\n")
        #expect(users.limits["alice"]?.priority == .low && users.limits["bob"]?.priority == .high)
    }
}
