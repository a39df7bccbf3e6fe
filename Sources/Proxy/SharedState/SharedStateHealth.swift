import Foundation

/// Whether the shared state (PostgreSQL) is reachable, as the accounting's
/// sync loop last found it, and what to log on a change: one line per
/// transition, never one per failed attempt.
struct SharedStateHealth: Sendable, Equatable {
    enum State: Sendable, Equatable {
        case available
        case unavailable(since: Date)
    }

    /// What the caller does after telling the outcome of an attempt.
    enum Action: Sendable, Equatable {
        case none
        /// Log `state.unavailable` with this error, and apply the failure mode.
        case becameUnavailable(error: String)
        /// Log `state.available`: it was unreachable for this long.
        case recovered(after: TimeInterval)
    }

    private(set) var state: State = .available

    var isAvailable: Bool { self.state == .available }

    mutating func succeeded(at now: Date) -> Action {
        guard case .unavailable(let since) = self.state else { return .none }
        self.state = .available
        return .recovered(after: max(0, now.timeIntervalSince(since)))
    }

    mutating func failed(_ error: String, at now: Date) -> Action {
        guard self.state == .available else { return .none }
        self.state = .unavailable(since: now)
        return .becameUnavailable(error: error)
    }
}
