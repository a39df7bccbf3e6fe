import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Login failures, lockouts and admitted requests shared with the other
/// replicas through a ``SharedAccessStore``: what the ``LoginFailureTracker``
/// and the ``RequestRateLimiter`` in force hand over is kept here until the
/// next exchange, which writes it and merges what the other replicas counted
/// back into them (``exchange(with:now:)``, run by the accounting's sync loop).
///
/// The trackers in force are asked for at each exchange
/// (``attach(_:)``), so a reload that replaces them is followed.
final class SharedAccessCounts: Sendable {
    /// This process among the replicas: its rows are told apart from the
    /// others' by it. Random per start, never a secret: after a restart the
    /// rows of its previous life count as another replica's, which is right,
    /// since the new process's trackers start empty.
    let replica: String
    private let pending = NIOLockedValueBox(AccessCountBatch())
    private let charges = NIOLockedValueBox(RemoteRequestCharges())
    private let participants = NIOLockedValueBox<(@Sendable () -> Participants)?>(nil)

    /// The trackers an exchange writes for and merges into.
    struct Participants: Sendable {
        var failures: LoginFailureTracker?
        var rateLimiter: RequestRateLimiter?
    }

    init(replica: String = UUID().uuidString) {
        self.replica = replica
    }

    /// Makes `participants` the source of the trackers in force (the access policy store's current ones).
    func attach(_ participants: @escaping @Sendable () -> Participants) {
        self.participants.withLockedValue { $0 = participants }
    }

    func recordFailure(of address: String, at date: Date = Date()) {
        self.pending.withLockedValue { $0.addFailure(of: address, at: date) }
    }

    func recordLockout(of address: String, for duration: Duration, at date: Date = Date()) {
        self.pending.withLockedValue { $0.addLockout(of: address, at: date, for: duration) }
    }

    func recordRequest(of identity: String, period: Int64, at date: Date = Date()) {
        self.pending.withLockedValue { $0.addRequest(of: identity, period: period, at: date) }
    }

    /// What is counted and not written yet.
    var unwritten: AccessCountBatch { self.pending.withLockedValue { $0 } }

    /// Writes what was counted here and merges the other replicas' counts
    /// into the trackers in force; on failure keeps the counts for the next
    /// exchange (the trackers go on counting alone meanwhile) and returns why.
    func exchange(with store: any SharedAccessStore, now: Date = Date()) async -> UsageStoreError? {
        // No trackers (the access policy gone, at shutdown): what is pending is still written.
        let participants = self.participants.withLockedValue({ $0 })?() ?? Participants()
        let failures = participants.failures.flatMap { $0.maxFailures > 0 ? $0 : nil }
        let query = AccessCountQuery(
            failureWindow: failures.map { max(1, Int64(($0.window.nanoseconds + 999_999_999) / 1_000_000_000)) },
            requestPeriod: participants.rateLimiter?.period, limit: failures?.capacity ?? 0)
        let batch = self.pending.withLockedValue { pending in
            defer { pending = AccessCountBatch() }
            return pending
        }
        guard !batch.isEmpty || query.failureWindow != nil || query.requestPeriod != nil else { return nil }
        let snapshot: AccessCountSnapshot
        do {
            snapshot = try await store.exchange(batch, replica: self.replica, query: query, now: now)
        } catch {
            self.pending.withLockedValue { $0.merge(batch) }
            return error
        }
        self.merge(snapshot, into: participants, now: now)
        return nil
    }

    /// Hands `snapshot` to the trackers, its wall-clock times turned into the trackers' clock.
    func merge(_ snapshot: AccessCountSnapshot, into participants: Participants, now: Date, deadline: NIODeadline = .now()) {
        if let tracker = participants.failures {
            var failures: [FailureCountingKey: Int] = [:]
            for (address, count) in snapshot.failures {
                guard let key = FailureCountingKey(stored: address) else { continue }
                failures[key] = Int(clamping: count)
            }
            var lockouts: [FailureCountingKey: TimeAmount] = [:]
            let nowMilliseconds = AccessCountBatch.milliseconds(now)
            for (address, lockout) in snapshot.lockouts {
                guard let key = FailureCountingKey(stored: address) else { continue }
                lockouts[key] = .milliseconds(lockout.lockedUntil - nowMilliseconds)
            }
            tracker.mergeShared(failures: failures, lockouts: lockouts, now: deadline)
        }
        if let limiter = participants.rateLimiter {
            let charges = self.charges.withLockedValue { $0.charges(for: snapshot.requests) }
            limiter.charge(charges, now: deadline)
        }
    }
}

extension FailureCountingKey {
    /// The key a replica wrote as its ``description`` (an address, IPv6 already cut to its prefix).
    init?(stored text: String) {
        guard let address = IPAddress(text) else { return nil }
        self.network = address
    }
}
