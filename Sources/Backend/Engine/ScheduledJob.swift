/// A submitted generation as it waits in the queue.
struct ScheduledJob: Sendable {
    let id: UInt64
    let promptTokens: [Int]
    let options: GenerationOptions
    let sink: @Sendable (GenerationEvent) -> Void
    let submitted: ContinuousClock.Instant
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
