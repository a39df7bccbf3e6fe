/// Fair queuing at the gateway (the `queue` settings): how many requests
/// may be in flight to the upstreams at once, and how requests beyond that
/// wait for a slot (``UpstreamQueue``).
///
/// Off unless ``upstreamSlots`` is set: requests then go upstream as they
/// come, and a busy upstream queues them itself, first come first served.
public struct UpstreamQueueConfiguration: Sendable, Equatable {
    /// Most requests in flight to each upstream at once: its slots
    /// (llama-server's `--parallel`, LM Studio's parallel requests, the
    /// lmgate backend's `parallel`). 0 for no limit and no queue.
    public var upstreamSlots = 0
    /// Each upstream's slots, in the order of `upstreams`, where they
    /// differ (`upstream_slots: [4, 1]`); overrides ``upstreamSlots``.
    public var slotsByUpstream: [Int]?
    /// Most requests waiting for a slot, every client together; the next gets 503.
    public var maxWaiting = 256
    /// Most requests one client (a key, a Basic user, or an anonymous
    /// client address) may have waiting or in flight; the next gets 429.
    public var maxPerIdentity = 32
    /// Longest wait for a slot; then 503.
    public var timeout: Duration = .seconds(120)

    public init() {}

    /// Whether requests are queued at all.
    public var isEnabled: Bool { self.slotsByUpstream != nil || self.upstreamSlots > 0 }

    /// The slots of each of `count` upstreams.
    public func slots(upstreams count: Int) -> [Int] {
        self.slotsByUpstream ?? Array(repeating: self.upstreamSlots, count: count)
    }

    /// What is wrong with these settings, for `upstreams` upstreams.
    func problems(upstreams: Int) -> [String] {
        var problems: [String] = []
        if self.upstreamSlots > 100_000 { problems.append("queue.upstream_slots must be at most 100000") }
        if let slots = self.slotsByUpstream {
            if slots.count != upstreams {
                problems.append(
                    "queue.upstream_slots lists \(slots.count) upstreams' slots, but there are \(upstreams) upstreams: "
                        + "give one number for each (in the order of upstreams), or one number for all")
            }
            if slots.contains(where: { !(1...100_000).contains($0) }) {
                problems.append("queue.upstream_slots: each upstream's slots must be from 1 to 100000")
            }
        }
        if self.maxWaiting > 1_000_000 { problems.append("queue.max_waiting must be at most 1000000") }
        if self.maxPerIdentity < 1 { problems.append("queue.max_per_identity must be at least 1") }
        if self.timeout <= .zero { problems.append("queue.timeout must be longer than zero") }
        return problems
    }
}

/// The `queue` rows of ``ConfigurationSetting/all`` (``UpstreamQueueConfiguration``).
extension ConfigurationSetting {
    static let upstreamQueueSettings: [ConfigurationSetting] = [
        .init(
            key: "queue.upstream_slots",
            expected: "a whole number of requests per upstream (0 for no queue), or a list with one for each upstream"
        ) { draft, value in
            let items = value.items
            guard items.count > 1 || value.text == nil else {
                draft.configuration.queue.slotsByUpstream = nil
                return setting(&draft.configuration.queue.upstreamSlots, value, SettingValueParsing.count)
            }
            let slots = items.compactMap(SettingValueParsing.count)
            guard !slots.isEmpty, slots.count == items.count else { return false }
            draft.configuration.queue.slotsByUpstream = slots
            return true
        },
        .init(key: "queue.max_waiting", expected: "a whole number of requests") { draft, value in
            setting(&draft.configuration.queue.maxWaiting, value, SettingValueParsing.count)
        },
        .init(key: "queue.max_per_identity", expected: "a whole number of requests, at least 1") { draft, value in
            setting(&draft.configuration.queue.maxPerIdentity, value, SettingValueParsing.count)
        },
        .init(key: "queue.timeout", expected: "a duration such as 120s") { draft, value in
            setting(&draft.configuration.queue.timeout, value, SettingValueParsing.duration)
        },
    ]
}
