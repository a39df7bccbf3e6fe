/// The class a waiting request is admitted in by a ``FairQueue``: every
/// waiting `high` request goes before any `normal` one, and every `normal`
/// one before any `low` one; within a class, clients take turns.
///
/// Set per key or Basic user as the `priority=high|normal|low` limit
/// (``IdentityLimits/priority``); `normal` when not set.
public enum QueuePriority: String, Sendable, CaseIterable, Comparable {
    case high, normal, low

    /// Lower goes first.
    var rank: Int {
        switch self {
        case .high: 0
        case .normal: 1
        case .low: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}
