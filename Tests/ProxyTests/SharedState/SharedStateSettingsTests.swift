import Foundation
import Testing
@testable import PostgresState
@testable import Proxy

/// `state.postgres` and its companions: URLs read as libpq reads them, a
/// password in the URL refused without being echoed, and the decisions
/// (back-off, reachability transitions) as values.
@Suite struct SharedStateSettingsTests {
    @Test func postgresURLsAreReadLikeLibpq() {
        #expect(PostgresSettings(url: "postgres://lmgate@db.internal:6432/usage?sslmode=require")
            == PostgresSettings(host: "db.internal", port: 6432, user: "lmgate", database: "usage", tls: .require))
        #expect(PostgresSettings(url: "postgresql://alice@127.0.0.1")
            == PostgresSettings(host: "127.0.0.1", port: 5432, user: "alice", database: "alice", tls: .prefer))
        #expect(PostgresSettings(url: "postgres://bob@[::1]:5433/x?sslmode=disable")
            == PostgresSettings(host: "::1", port: 5433, user: "bob", database: "x", tls: .disable))
        #expect(PostgresSettings(url: "postgres://bob@[::1]:5433/x")?.displayName == "postgres://bob@[::1]:5433/x")
        for bad in [
            "postgres://u:secret@h/db", "mysql://u@h/db", "postgres://h/db", "postgres://u@/db", "postgres://u@h/a/b",
            "postgres://u@h/db?sslmode=verify-full", "postgres://u@h/db?application_name=x", "postgres://u@h:0/db", "",
        ] {
            #expect(PostgresSettings(url: bad) == nil, "\(bad)")
        }
    }

    @Test func theStateSettingsLoadAndAPasswordInTheURLIsNeverEchoed() throws {
        let configuration = try ProxyConfigurationLoader.load(
            file: nil, environment: ["LMGATE_PROXY_STATE_ON_UNAVAILABLE": "open"],
            overrides: [
                .init(key: "listen", values: ["http://127.0.0.1:8080"]),
                .init(key: "upstreams", values: ["http://127.0.0.1:1234"]),
                .init(key: "state.postgres", value: "postgres://lmgate@127.0.0.1:5432/lmgate?sslmode=disable"),
                .init(key: "state.postgres_password_file", value: "/etc/lmgate/pg-password"),
            ])
        #expect(configuration.state.postgres?.displayName == "postgres://lmgate@127.0.0.1:5432/lmgate")
        #expect(configuration.state.postgresPasswordFile == "/etc/lmgate/pg-password")
        #expect(configuration.state.onUnavailable == .open)

        let secret = "s3cr3t-" + UUID().uuidString
        for (key, value) in [("state.postgres", "postgres://lmgate:\(secret)@127.0.0.1/lmgate"), ("state.on_unavailable", "maybe")] {
            let error = #expect(throws: ConfigurationError.self) {
                try ProxyConfigurationLoader.load(
                    file: nil, environment: [:],
                    overrides: [
                        .init(key: "listen", values: ["http://127.0.0.1:8080"]),
                        .init(key: "upstreams", values: ["http://127.0.0.1:1234"]),
                        .init(key: key, value: value),
                    ])
            }
            #expect(error?.description.contains(key) == true)
            #expect(error?.description.contains(secret) == false)
        }
    }

    @Test func reconnectionBacksOffAndASuccessResetsIt() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        let start = ContinuousClock.now
        #expect(backoff.mayTry(at: start))
        var delays: [Duration] = []
        for _ in 0..<10 {
            backoff.failed(at: start)
            delays.append(backoff.delay)
        }
        #expect(delays.prefix(4) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800)])
        #expect(delays.last == .seconds(5))
        #expect(!backoff.mayTry(at: start + .seconds(4)))
        #expect(backoff.mayTry(at: start + .seconds(5)))
        backoff.succeeded()
        #expect(backoff.mayTry(at: start))
        for _ in 0..<100 { backoff.failed(at: start) }
        #expect(backoff.delay == .seconds(5), "no overflow in a long outage")
    }

    @Test func reachabilityIsReportedOncePerTransition() {
        var health = SharedStateHealth()
        let t0 = Date()
        #expect(health.succeeded(at: t0) == .none)
        #expect(health.failed("down", at: t0) == .becameUnavailable(error: "down"))
        #expect(health.failed("still down", at: t0.addingTimeInterval(1)) == .none)
        #expect(!health.isAvailable)
        #expect(health.succeeded(at: t0.addingTimeInterval(7)) == .recovered(after: 7))
        #expect(health.succeeded(at: t0.addingTimeInterval(8)) == .none)
    }
}
