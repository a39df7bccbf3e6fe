import Foundation
import Testing
@testable import Proxy
@testable import PostgresState

/// The PostgreSQL store against a real server started by the test
/// (``TemporaryPostgres``): usage written by two "replicas" reads back as
/// the sums of their requests (also through `psql`, an independent client),
/// quota counts are shared, and bad input is a clear error.
@Suite struct PostgresUsageStoreTests {
    @Test func twoReplicasWritingRandomBatchesReadBackAsTheirSums() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        let stores = (0..<2).map { _ in PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger) }
        var random = RandomUsage()
        var usages: [RequestUsage] = []
        let now = Date()
        // Both replicas write at the same time: the upserts must add, not overwrite.
        var batches: [[UsageBatch]] = [[], []]
        for replica in 0..<2 {
            for _ in 0..<4 {
                var batch = UsageBatch()
                for _ in 0..<Int.random(in: 1...150) {
                    let usage = random.next(around: now)
                    usages.append(usage)
                    batch.add(usage, quotaWindows: TokenQuotaLedger.Window.allCases)
                }
                batches[replica].append(batch)
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in 0..<2 {
                group.addTask { [batches] in
                    for batch in batches[replica] { try await stores[replica].write(batch) }
                }
            }
            try await group.waitForAll()
        }
        let rows = try await stores[0].rows(UsageQuery())
        #expect(rows == expectedRows(usages))
        let alice = try await stores[1].rows(UsageQuery(identity: "alice"))
        #expect(alice == expectedRows(usages).filter { $0.identity == "alice" })
        let lastHour = UsageRow.hour(of: now)
        let recent = try await stores[1].rows(UsageQuery(from: lastHour, model: "qwen3-8b"))
        #expect(recent == expectedRows(usages).filter { $0.hour >= lastHour && $0.model == "qwen3-8b" })

        // Month windows are the ones every request of the last five hours may share, or not: compare per window start.
        var expectedMonth: [String: Int64] = [:]
        for usage in usages where usage.identity != nil && usage.tokens > 0 {
            let start = Int64(TokenQuotaLedger.Window.month.bounds(of: usage.finished).start.timeIntervalSince1970)
            guard start == Int64(TokenQuotaLedger.Window.month.bounds(of: now).start.timeIntervalSince1970) else { continue }
            expectedMonth[usage.identity!, default: 0] += Int64(usage.tokens)
        }
        let counts = try await stores[0].quotaCounts(now: now).filter { $0.window == .month }
        #expect(Dictionary(uniqueKeysWithValues: counts.map { ($0.identity, $0.tokens) }) == expectedMonth)

        // psql, an independent client, reads the same totals.
        let totals = try await cluster.psql(
            settings.database,
            "SELECT sum(requests), sum(prompt_tokens), sum(completion_tokens), sum(client_errors), sum(server_errors) FROM usage_hourly")
        let expected = expectedRows(usages).reduce(into: [Int64](repeating: 0, count: 5)) { sums, row in
            sums[0] += row.requests
            sums[1] += row.promptTokens
            sums[2] += row.completionTokens
            sums[3] += row.clientErrors
            sums[4] += row.serverErrors
        }
        #expect(totals.trimmingCharacters(in: .whitespacesAndNewlines) == expected.map(String.init).joined(separator: "|"))
        for store in stores { await store.close() }
    }

    @Test func aQuotaUsedUpThroughOneReplicaIsSeenByTheOther() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        let sharing = UsageAccounting.Sharing(interval: .milliseconds(50))
        let replicas = try await [0, 1].asyncMap { _ in
            try await UsageAccounting.open(
                store: PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger),
                sharing: sharing, logger: quietLogger)
        }
        let quotas: [TokenQuotaLedger.Window: Int] = [.minute: 1000, .day: 5000]
        var served = [0, 0]
        // Each replica records random requests; after each exchange both see the sum of the two.
        for round in 0..<6 {
            for replica in 0..<2 {
                let tokens = Int.random(in: 1...80)
                served[replica] += tokens
                replicas[replica].record(
                    RequestUsage(identity: "key:shared", model: "m", status: 200, promptTokens: tokens, completionTokens: 0, finished: Date()),
                    quotas: quotas)
            }
            // Before the exchange a replica sees its own tokens at once (and what it read of the other's).
            #expect(replicas[0].quotas.used("key:shared", in: .day) >= served[0])
            for replica in replicas { #expect(await replica.synchronize() == nil) }
            for replica in replicas { #expect(await replica.synchronize() == nil) }
            let total = served[0] + served[1]
            for replica in replicas {
                #expect(replica.quotas.used("key:shared", in: .day) == total, "round \(round)")
            }
        }
        // Past the quota on one replica, refused on the other.
        replicas[0].record(
            RequestUsage(identity: "key:shared", model: "m", status: 200, promptTokens: 5000, completionTokens: 0, finished: Date()),
            quotas: quotas)
        #expect(replicas[1].quotas.exhausted("key:shared", quotas: quotas) == nil)
        #expect(await replicas[0].synchronize() == nil)
        #expect(await replicas[1].synchronize() == nil)
        #expect(replicas[1].quotas.exhausted("key:shared", quotas: quotas)?.window == .day)
        for replica in replicas { await replica.close() }
    }

    @Test func aSchemaFromANewerLmgateIsAClearError() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        let store = PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger)
        try await store.connect()
        await store.close()
        _ = try await cluster.psql(settings.database, "UPDATE lmgate_schema SET version = 99")
        let newer = PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger)
        let error = await #expect(throws: UsageStoreError.self) { try await newer.connect() }
        #expect(error?.isUnreachable == false)
        let newerThanThis = "schema version 99, newer than this lmgate's (\(PostgresUsageStore.schemaVersion))"
        #expect(error?.description.contains(newerThanThis) == true, "\(String(describing: error))")
        // The proxy does not start on it either.
        await #expect(throws: UsageStoreError.self) {
            _ = try await UsageAccounting.open(store: newer, sharing: .init(), logger: quietLogger)
        }
        await newer.close()
    }

    @Test func aWrongPasswordIsAClearErrorThatDoesNotShowThePassword() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let wrong = "wrong-" + UUID().uuidString
        try Data(wrong.utf8).write(to: URL(fileURLWithPath: directory.file("password")))
        let store = PostgresUsageStore(settings: settings, passwordFile: directory.file("password"), logger: quietLogger)
        let error = await #expect(throws: UsageStoreError.self) {
            _ = try await UsageAccounting.open(store: store, sharing: .init(), logger: quietLogger)
        }
        #expect(error?.isUnreachable == false)
        #expect(error?.description.contains("refused the login") == true, "\(String(describing: error))")
        #expect(error?.description.contains("28P01") == true, "\(String(describing: error))")
        #expect(error?.description.contains(wrong) == false)
        #expect(error?.description.contains(cluster.password) == false)

        let missing = PostgresUsageStore(settings: settings, passwordFile: directory.file("absent"), logger: quietLogger)
        let unreadable = await #expect(throws: UsageStoreError.self) { try await missing.connect() }
        #expect(unreadable?.description.contains("cannot read the PostgreSQL password file") == true)
        await store.close()
        await missing.close()
    }

    /// A transaction cut off by the time limit (the connection closed under
    /// it) fails as unreachable and the next write, on a new connection, goes
    /// through. postgres-nio sends `ROLLBACK` on the closed connection and never
    /// answers it: awaited directly, that hung this write, and the whole suite.
    @Test func aTransactionCutOffByTheTimeLimitFailsAndTheNextWriteGoesThrough() async throws {
        let (cluster, settings) = try await TemporaryPostgres.sharedDatabase()
        // The tables made first under the usual time limit: making them took
        // over 500 ms on a loaded machine, and only the write is under test.
        try await PostgresUsageStore(settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger).connect()
        let store = PostgresUsageStore(
            settings: settings, passwordFile: cluster.passwordFile, logger: quietLogger, statementTimeout: .milliseconds(500))
        try await store.connect()
        // Another client holds the table locked (until this test ends its session), so the write waits past its time limit.
        async let holder = cluster.psql(
            settings.database, "BEGIN; LOCK TABLE usage_hourly IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT")
        let holders = "FROM pg_locks WHERE relation = 'usage_hourly'::regclass AND mode = 'AccessExclusiveLock' AND granted"
        while try await cluster.psql(settings.database, "SELECT count(*) \(holders)").trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
            try await Task.sleep(for: .milliseconds(20))
        }
        let usage = RequestUsage(identity: "alice", model: "m", status: 200, promptTokens: 3, completionTokens: 4, finished: Date())
        var batch = UsageBatch()
        batch.add(usage, quotaWindows: TokenQuotaLedger.Window.allCases)
        let error = await #expect(throws: UsageStoreError.self) { try await store.write(batch) }
        #expect(error?.isUnreachable == true, "\(String(describing: error))")
        _ = try await cluster.psql(settings.database, "SELECT pg_terminate_backend(pid) \(holders)")
        _ = try? await holder  // its session was ended under it: psql fails

        // After the back-off, a new connection; the lost transaction wrote nothing.
        var retried: UsageStoreError?
        let deadline = Date().addingTimeInterval(15)
        repeat {
            do throws(UsageStoreError) {
                try await store.write(batch)
                retried = nil
            } catch {
                retried = error
                try await Task.sleep(for: .milliseconds(100))
            }
        } while retried != nil && Date() < deadline
        #expect(retried == nil, "\(String(describing: retried))")
        #expect(try await store.rows(UsageQuery()) == expectedRows([usage]))
        await store.close()
    }

    @Test(arguments: [SharedStateFailureMode.closed, .open])
    func anUnreachableServerAtStartIsNoCrashButTheFailureMode(mode: SharedStateFailureMode) async throws {
        // A loopback port nothing listens on (starting a cluster only to destroy it cost seconds of initdb).
        let settings = PostgresSettings(
            host: "127.0.0.1", port: try TemporaryPostgres.freePort(), user: "lmgate", database: "lmgate", tls: .disable)
        let log = CapturedLog()
        let accounting = try await UsageAccounting.open(
            store: PostgresUsageStore(settings: settings, passwordFile: nil, logger: quietLogger),
            sharing: .init(failureMode: mode), logger: log.logger())
        #expect(!accounting.sharedStateAvailable)
        #expect(accounting.quotas.refusesQuotaRequests == (mode == .closed))
        #expect(log.text.contains("state.unavailable"))
        #expect(log.entries.first { $0["state.mode"] != nil }?["state.mode"] == mode.rawValue)
        // Retried with back-off, logged once.
        for _ in 0..<3 { #expect(await accounting.synchronize()?.isUnreachable == true) }
        #expect(log.events("state.unavailable") == 1)
        _ = await accounting.close()
    }

    @Test func anOutageIsRiddenOutAndNothingCountedDuringItIsLost() async throws {
        let cluster = try await TemporaryPostgres.start()
        // Destroyed however the test ends (a defer cannot await).
        do {
            try await self.rideOutAnOutage(cluster)
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    private func rideOutAnOutage(_ cluster: TemporaryPostgres) async throws {
        _ = try await cluster.psql("postgres", "CREATE DATABASE lmgate")
        let log = CapturedLog()
        let accounting = try await UsageAccounting.open(
            store: PostgresUsageStore(settings: cluster.settings(), passwordFile: cluster.passwordFile, logger: quietLogger),
            sharing: .init(interval: .milliseconds(50)), logger: log.logger())
        let quotas: [TokenQuotaLedger.Window: Int] = [.day: 1_000_000]
        func request(_ tokens: Int) -> RequestUsage {
            RequestUsage(identity: "key:ci", model: "m", status: 200, promptTokens: tokens, completionTokens: 1, finished: Date())
        }
        accounting.record(request(10), quotas: quotas)
        #expect(await accounting.synchronize() == nil)
        #expect(!accounting.quotas.refusesQuotaRequests)

        try await cluster.stop()
        accounting.record(request(20), quotas: quotas)
        let error = await accounting.synchronize()
        #expect(error?.isUnreachable == true, "\(String(describing: error))")
        #expect(accounting.quotas.refusesQuotaRequests)
        #expect(accounting.quotas.used("key:ci", in: .day) == 32, "counted locally meanwhile")
        accounting.record(request(30), quotas: quotas)
        _ = await accounting.synchronize()

        try await cluster.startServer()
        // Reconnects on its own, after the back-off (at most 5 s).
        let deadline = Date().addingTimeInterval(15)
        while await accounting.synchronize() != nil && Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(accounting.sharedStateAvailable)
        #expect(!accounting.quotas.refusesQuotaRequests)
        #expect(log.events("state.unavailable") == 1, "one line per transition")
        #expect(log.events("state.available") == 1)
        #expect(accounting.quotas.used("key:ci", in: .day) == 63)
        let rows = try await accounting.store.rows(UsageQuery())
        #expect(rows.map(\.requests).reduce(0, +) == 3)
        #expect(rows.map(\.promptTokens).reduce(0, +) == 60)
        _ = await accounting.close()
    }
}

extension CapturedLog {
    /// How many lines logged `event` (the line's last word).
    func events(_ event: String) -> Int {
        self.text.split(separator: "\n").filter { $0.hasSuffix("] " + event) }.count
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
