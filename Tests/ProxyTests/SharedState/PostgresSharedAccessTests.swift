import Foundation
import NIOCore
import Testing
@testable import PostgresState
@testable import Proxy

/// Lockouts and request rates shared through a real PostgreSQL server
/// (``TemporaryPostgres``): two "replicas" (accounting, tracker and limiter
/// each, exchanging at each ``UsageAccounting/synchronize(now:)``) enforce
/// one limit; a database made by the first schema is migrated.
@Suite struct PostgresSharedAccessTests {
    /// One replica's accounting and the trackers its access policy would hold.
    struct Replica {
        let accounting: UsageAccounting
        let failures: LoginFailureTracker
        let limiter: RequestRateLimiter

        static func open(_ settings: PostgresSettings, _ cluster: TemporaryPostgres, maxFailures: Int, rate: RequestRate) async throws
            -> Replica
        {
            let accounting = try await UsageAccounting.open(
                store: PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger),
                sharing: .init(interval: .milliseconds(50)), logger: quietLogger)
            let shared = try #require(accounting.sharedAccess)
            let failures = LoginFailureTracker(maxFailures: maxFailures, window: .seconds(60), lockout: .seconds(30), shared: shared)
            let limiter = RequestRateLimiter(perSecond: rate.perSecond, burst: Double(rate.requests), shared: shared)
            shared.attach { .init(failures: failures, rateLimiter: limiter) }
            return Replica(accounting: accounting, failures: failures, limiter: limiter)
        }

        func synchronize() async {
            #expect(await self.accounting.synchronize() == nil)
        }
    }

    @Test func failuresSpreadOverTwoReplicasLockTheAddressOutOnBoth() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        let replicas = try await [0, 1].asyncMap { _ in
            try await Replica.open(settings, cluster, maxFailures: 5, rate: RequestRate("600/m")!)
        }
        let address = FailureCountingKey(IPAddress("2001:db8:7:7::1")!, ipv6PrefixLength: 64)
        let neighbour = FailureCountingKey(IPAddress("2001:db8:7:7::2")!, ipv6PrefixLength: 64)
        #expect(!replicas[0].failures.recordFailure(address))
        #expect(!replicas[0].failures.recordFailure(address))
        #expect(!replicas[1].failures.recordFailure(neighbour))
        #expect(!replicas[1].failures.recordFailure(neighbour))
        for replica in replicas { await replica.synchronize() }
        await replicas[0].synchronize()
        // Two here, two there (the same /64): one verification left on each.
        #expect(replicas[1].failures.beginVerification(address))
        #expect(!replicas[1].failures.beginVerification(address))
        let lockedAround = NIODeadline.now()
        replicas[1].failures.endVerification(address, failed: true)
        #expect(replicas[1].failures.lockedOut(address) != nil)
        #expect(replicas[0].failures.lockedOut(address) == nil, "not before the next exchange")
        for replica in replicas { await replica.synchronize() }
        await replicas[0].synchronize()
        let wait = replicas[0].failures.lockedOut(neighbour)
        // 30 s from the lockout, less what has passed since (a loaded machine
        // can take seconds over the exchanges above), and two seconds of slack.
        let earliest = TimeAmount.seconds(28) - (NIODeadline.now() - lockedAround)
        #expect(wait != nil && wait! > earliest && wait! <= .seconds(30), "\(String(describing: wait))")
        // psql sees one lockout, of the network, and five failures; never a credential (there is none to store).
        let lockouts = try await cluster.psql(settings.database, "SELECT address, locked_until - locked_at FROM login_lockouts")
        #expect(lockouts.trimmingCharacters(in: .whitespacesAndNewlines) == "2001:db8:7:7::|30000")
        let failures = try await cluster.psql(settings.database, "SELECT sum(failures), count(DISTINCT replica) FROM login_failures")
        #expect(failures.trimmingCharacters(in: .whitespacesAndNewlines) == "5|2")
        // The failures were spent on the lockout: neither replica reads them back now.
        await replicas[0].synchronize()
        #expect(replicas[0].failures.trackedAddresses == 1)
        for replica in replicas { _ = await replica.accounting.close() }
    }

    @Test func requestsAdmittedOnOneReplicaAreChargedOnTheOther() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        let replicas = try await [0, 1].asyncMap { _ in
            try await Replica.open(settings, cluster, maxFailures: 10, rate: RequestRate("10/h")!)
        }
        // Per hour, not per minute: a bucket refills one request every 6 minutes, so a slow
        // exchange on a loaded machine cannot refill one between the takes (at 10/m one came
        // back every 6 s, and a run that took that long saw a third request admitted).
        for _ in 0..<7 { #expect(replicas[0].limiter.take("key:shared") == nil) }
        #expect(replicas[1].limiter.take("key:shared") == nil)
        await replicas[0].synchronize()
        await replicas[1].synchronize()
        await replicas[0].synchronize()
        // 8 of 10 admitted: two left on each replica, and 6 min (a request's interval) to the next after that.
        for replica in replicas {
            #expect(replica.limiter.take("key:shared") == nil)
            #expect(replica.limiter.take("key:shared") == nil)
            let wait = replica.limiter.take("key:shared")
            #expect(wait != nil && wait! > .seconds(300), "\(String(describing: wait))")
        }
        // An exchange that reads the same counts again charges nothing more.
        for replica in replicas { await replica.synchronize() }
        await replicas[1].synchronize()
        let requests = try await cluster.psql(settings.database, "SELECT sum(requests) FROM request_counts WHERE identity = 'key:shared'")
        #expect(requests.trimmingCharacters(in: .whitespacesAndNewlines) == "12")
        for replica in replicas { _ = await replica.accounting.close() }
    }

    @Test func rowsPastTheirWindowAreNeitherReadBackNorKept() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        let store = PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger)
        let query = AccessCountQuery(failureWindow: 60, requestPeriod: 60, limit: 100)
        let now = Date()
        let earlier = now.addingTimeInterval(-300)
        var old = AccessCountBatch()
        old.addFailure(of: "198.51.100.30", at: earlier)
        old.addLockout(of: "198.51.100.30", at: earlier, for: .seconds(30))
        old.addRequest(of: "key:a", period: 60, at: earlier)
        _ = try await store.exchange(old, replica: "a", query: query, now: earlier)
        #expect(try await store.exchange(AccessCountBatch(), replica: "b", query: query, now: now) == AccessCountSnapshot())
        var new = AccessCountBatch()
        new.addFailure(of: "198.51.100.31", at: now)
        new.addRequest(of: "key:a", period: 60, at: now)
        _ = try await store.exchange(new, replica: "a", query: query, now: now)
        let kept = try await cluster.psql(
            settings.database,
            "SELECT (SELECT string_agg(address, ',') FROM login_failures), (SELECT count(*) FROM login_lockouts), "
                + "(SELECT count(*) FROM request_counts)")
        #expect(kept.trimmingCharacters(in: .whitespacesAndNewlines) == "198.51.100.31|0|1")
        let read = try await store.exchange(AccessCountBatch(), replica: "b", query: query, now: now)
        #expect(read.failures == ["198.51.100.31": 1])
        #expect(read.requests.values.reduce(0, +) == 1)
        await store.close()
    }

    @Test func aDatabaseOfSchemaVersion1IsMigratedAndKeepsItsRows() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        // What lmgate with schema 1 made, with a row of usage and a quota count.
        let hour = UsageRow.hour(of: Date())
        let day = Int64(TokenQuotaLedger.Window.day.bounds(of: Date()).start.timeIntervalSince1970)
        _ = try await cluster.psql(
            settings.database,
            """
            CREATE TABLE lmgate_schema (version INTEGER NOT NULL); INSERT INTO lmgate_schema VALUES (1);
            CREATE TABLE usage_hourly (hour BIGINT NOT NULL, identity TEXT NOT NULL, model TEXT NOT NULL,
                requests BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
                client_errors BIGINT NOT NULL, server_errors BIGINT NOT NULL, PRIMARY KEY (hour, identity, model));
            CREATE TABLE quota_windows (identity TEXT NOT NULL, quota_window TEXT NOT NULL, window_start BIGINT NOT NULL,
                tokens BIGINT NOT NULL, PRIMARY KEY (identity, quota_window, window_start));
            INSERT INTO usage_hourly VALUES (\(hour), 'key:old', 'm', 3, 30, 20, 0, 1);
            INSERT INTO quota_windows VALUES ('key:old', 'day', \(day), 50);
            """)
        let store = PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger)
        try await store.connect()
        let version = try await cluster.psql(settings.database, "SELECT version FROM lmgate_schema")
        #expect(version.trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresUsageStore.schemaVersion)")
        #expect(PostgresUsageStore.schemaVersion == 2)
        #expect(
            try await store.rows(UsageQuery())
                == [UsageRow(hour: hour, identity: "key:old", model: "m", requests: 3, promptTokens: 30, completionTokens: 20,
                             clientErrors: 0, serverErrors: 1)])
        #expect(try await store.quotaCounts(now: Date()).filter { $0.window == .day }.map(\.tokens) == [50])
        // The new tables are there and used.
        var batch = AccessCountBatch()
        batch.addFailure(of: "198.51.100.9", at: Date())
        _ = try await store.exchange(batch, replica: "a", query: .init(failureWindow: 60, requestPeriod: 60, limit: 10), now: Date())
        let read = try await store.exchange(
            AccessCountBatch(), replica: "b", query: .init(failureWindow: 60, requestPeriod: 60, limit: 10), now: Date())
        #expect(read.failures == ["198.51.100.9": 1])
        await store.close()
    }
}
