import Foundation
import Logging
import PostgresNIO
import Proxy

extension PostgresUsageStore: SharedAccessStore {
    /// Adds this replica's failures, lockouts and request counts, deletes
    /// rows no replica counts any more, and reads the others' back: in one
    /// transaction when there is anything to write (so the reads see this
    /// write), else the reads alone.
    public func exchange(
        _ batch: AccessCountBatch, replica: String, query: AccessCountQuery, now: Date
    ) async throws(UsageStoreError) -> AccessCountSnapshot {
        let second = AccessCountBatch.seconds(now)
        let millisecond = AccessCountBatch.milliseconds(now)
        // Sorted, so that replicas writing the same keys lock their rows in the same order (no deadlock).
        let failures = batch.failures.sorted { ($0.key.address, $0.key.second) < ($1.key.address, $1.key.second) }
        let lockouts = batch.lockouts.sorted { $0.key < $1.key }
        let requests = batch.requests.sorted {
            ($0.key.identity, $0.key.period, $0.key.windowStart) < ($1.key.identity, $1.key.period, $1.key.windowStart)
        }
        return try await self.run("exchange lockouts and request counts with") { connection, logger in
            // Nothing to write (the usual case): the reads alone, without a transaction's two round trips.
            guard !batch.isEmpty else {
                return try await Self.read(query, replica: replica, second: second, millisecond: millisecond, connection, logger)
            }
            return try await connection.withTransaction(logger: logger) { connection in
                for (key, count) in failures {
                    try await connection.query(
                        """
                        INSERT INTO login_failures VALUES (\(key.address), \(replica), \(key.second), \(count))
                        ON CONFLICT (address, replica, failed_second) DO UPDATE SET failures = login_failures.failures + excluded.failures
                        """, logger: logger)
                }
                for (address, lockout) in lockouts {
                    try await connection.query(
                        """
                        INSERT INTO login_lockouts VALUES (\(address), \(lockout.lockedAt), \(lockout.lockedUntil))
                        ON CONFLICT (address) DO UPDATE SET
                            locked_at = GREATEST(login_lockouts.locked_at, excluded.locked_at),
                            locked_until = GREATEST(login_lockouts.locked_until, excluded.locked_until)
                        """, logger: logger)
                }
                for (key, count) in requests {
                    try await connection.query(
                        """
                        INSERT INTO request_counts VALUES (\(key.identity), \(replica), \(key.period), \(key.windowStart), \(count))
                        ON CONFLICT (identity, replica, period, window_start) DO UPDATE SET requests = request_counts.requests + excluded.requests
                        """, logger: logger)
                }
                if let window = query.failureWindow, !failures.isEmpty || !lockouts.isEmpty {
                    let oldest = second - window
                    try await connection.query("DELETE FROM login_failures WHERE failed_second <= \(oldest)", logger: logger)
                    // A lockout is kept while failures before it could still be in the window (they stay spent on it).
                    try await connection.query(
                        "DELETE FROM login_lockouts WHERE locked_until < \(millisecond) AND locked_at < \(oldest * 1000)", logger: logger)
                }
                if !requests.isEmpty {
                    try await connection.query("DELETE FROM request_counts WHERE window_start + 2 * period <= \(second)", logger: logger)
                }
                return try await Self.read(query, replica: replica, second: second, millisecond: millisecond, connection, logger)
            }
        }
    }

    /// The other replicas' counts that `query` asks for: failures within the window after each address's
    /// latest lockout, the lockouts in force, requests in the current and the previous window.
    private static func read(
        _ query: AccessCountQuery, replica: String, second: Int64, millisecond: Int64, _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws -> AccessCountSnapshot {
        var snapshot = AccessCountSnapshot()
        if let window = query.failureWindow {
            let rows = try await connection.query(
                """
                SELECT f.address, sum(f.failures)::BIGINT FROM login_failures f
                LEFT JOIN login_lockouts l ON l.address = f.address
                WHERE f.replica <> \(replica) AND f.failed_second > \(second - window)
                  AND (l.locked_at IS NULL OR f.failed_second * 1000 > l.locked_at)
                GROUP BY f.address ORDER BY 2 DESC LIMIT \(query.limit)
                """, logger: logger)
            for try await (address, count) in rows.decode((String, Int64).self) {
                snapshot.failures[address] = count
            }
            let locked = try await connection.query(
                """
                SELECT address, locked_at, locked_until FROM login_lockouts WHERE locked_until > \(millisecond)
                ORDER BY locked_until DESC LIMIT \(query.limit)
                """, logger: logger)
            for try await (address, lockedAt, lockedUntil) in locked.decode((String, Int64, Int64).self) {
                snapshot.lockouts[address] = AccessCountBatch.Lockout(lockedAt: lockedAt, lockedUntil: lockedUntil)
            }
        }
        if let period = query.requestPeriod {
            let previousStart = second - second % period - period
            let rows = try await connection.query(
                """
                SELECT identity, window_start, sum(requests)::BIGINT FROM request_counts
                WHERE replica <> \(replica) AND period = \(period) AND window_start >= \(previousStart)
                GROUP BY identity, window_start
                """, logger: logger)
            for try await (identity, start, count) in rows.decode((String, Int64, Int64).self) {
                let key = AccessCountBatch.RequestKey(identity: identity, period: period, windowStart: start)
                snapshot.requests[key] = count
            }
        }
        return snapshot
    }
}
