/// A request prepared for the model it holds a lease on.
struct LeasedGeneration: Sendable {
    let prepared: PreparedGeneration
    let lease: ModelLease

    var parts: (PreparedGeneration, ModelLease) { (prepared, lease) }
}
