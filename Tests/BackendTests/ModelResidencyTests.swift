import Testing

@testable import Backend

/// The decisions of ``ModelResidency``, with no model loaded: which to load,
/// which to evict, when an idle TTL fires.
@Suite struct ModelResidencyTests {
    /// A residency where `ids` have been requested, loaded and finished, in order, at times 1, 2, 3…
    private static func residency(_ limits: ModelResidency.Limits, loaded ids: [String], memory: Int = 10) -> ModelResidency {
        var residency = ModelResidency(limits: limits)
        for (index, id) in ids.enumerated() {
            let time = Double(index + 1)
            _ = residency.request(id, memory: memory, now: time)
            residency.loadSucceeded(id, now: time)
            residency.finished(id, now: time)
        }
        return residency
    }

    @Test func aFirstRequestLoadsAndLaterOnesUseOrWaitForTheSameLoad() {
        var residency = ModelResidency(limits: .init())
        #expect(residency.request("a", memory: 10, now: 0) == .waitForLoad(actions: [.load("a")]))
        // A second request while loading starts no second load.
        #expect(residency.request("a", memory: 10, now: 0.5) == .waitForLoad(actions: []))
        residency.loadSucceeded("a", now: 1)
        #expect(residency.request("a", memory: 10, now: 2) == .ready)
        #expect(residency.loaded == ["a"])
    }

    @Test func theLeastRecentlyUsedIdleModelIsEvictedForMemory() {
        var residency = Self.residency(.init(maxMemory: 20), loaded: ["a", "b"])
        // "a" was used after "b": "b" is now the least recently used.
        #expect(residency.request("a", memory: 10, now: 5) == .ready)
        residency.finished("a", now: 5)
        #expect(residency.request("c", memory: 10, now: 6) == .waitForLoad(actions: [.unload("b"), .load("c")]))
        #expect(residency.residents["b"] == nil)
    }

    @Test func maxLoadedCountsModelsBeingLoaded() {
        var residency = ModelResidency(limits: .init(maxLoaded: 1))
        #expect(residency.request("a", memory: 1, now: 0) == .waitForLoad(actions: [.load("a")]))
        // "a" is loading (and held): it cannot be evicted, so "b" is refused.
        guard case .refused(let reason) = residency.request("b", memory: 1, now: 0) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.contains("busy"))
    }

    @Test func aModelWithRunningRequestsIsNeverEvicted() {
        var residency = Self.residency(.init(maxLoaded: 2), loaded: ["a", "b"])
        #expect(residency.request("a", memory: 10, now: 5) == .ready)  // "a" is generating from here on
        #expect(residency.request("b", memory: 10, now: 6) == .ready)
        residency.finished("b", now: 7)
        // "a" (running) is older than "b" (idle): "b" goes, "a" stays.
        #expect(residency.request("c", memory: 10, now: 8) == .waitForLoad(actions: [.unload("b"), .load("c")]))
        #expect(residency.residents["a"]?.activeRequests == 1)
    }

    @Test func aPinSetWhileRunningHoldsTheModelAndAnUnpinLetsItsTTLRunFromThen() {
        var residency = Self.residency(.init(maxLoaded: 1, idleTTL: 10), loaded: ["a"])
        residency.setPinned(true, "a", now: 2)
        #expect(residency.isPinned("a"))
        #expect(residency.expire(now: 100) == [])
        #expect(residency.nextExpiry == nil)
        guard case .refused = residency.request("b", memory: 10, now: 101) else {
            Issue.record("a pinned model was evicted")
            return
        }
        residency.setPinned(false, "a", now: 200)
        #expect(!residency.isPinned("a"))
        // Idle since 1, but the TTL counts from the unpin at 200.
        #expect(residency.nextExpiry == 210)
        #expect(residency.expire(now: 209) == [])
        #expect(residency.expire(now: 210) == [.unload("a")])
    }

    @Test func aPerModelTTLSetWhileRunningReplacesTheDefault() {
        var residency = Self.residency(.init(idleTTL: 100), loaded: ["a", "b"])
        residency.setIdleTTL(5, "b")
        #expect(residency.limits.idleTTL(of: "b") == 5 && residency.limits.idleTTL(of: "a") == 100)
        #expect(residency.expire(now: 7) == [.unload("b")])
        #expect(residency.loaded == ["a"])
    }

    @Test func pinnedModelsAreNeitherEvictedNorExpired() {
        var limits = ModelResidency.Limits(maxLoaded: 2, idleTTL: 10)
        limits.pinned = ["a"]
        var residency = Self.residency(limits, loaded: ["a", "b"])
        #expect(residency.request("c", memory: 10, now: 3) == .waitForLoad(actions: [.unload("b"), .load("c")]))
        residency.loadSucceeded("c", now: 4)
        residency.finished("c", now: 4)
        #expect(residency.expire(now: 100) == [.unload("c")])
        #expect(residency.loaded == ["a"])
        #expect(residency.nextExpiry == nil)
    }

    @Test func theIdleTTLFiresOnlyAfterTheLastRequestEnds() {
        var limits = ModelResidency.Limits(idleTTL: 10)
        limits.idleTTLByModel = ["b": 100]
        var residency = Self.residency(limits, loaded: ["a", "b"])
        #expect(residency.nextExpiry == 11)
        #expect(residency.request("a", memory: 10, now: 5) == .ready)
        // Running past its TTL: not expired while the request holds it.
        #expect(residency.expire(now: 50) == [])
        residency.finished("a", now: 50)
        #expect(residency.nextExpiry == 60)
        #expect(residency.expire(now: 59.9) == [])
        #expect(residency.expire(now: 60) == [.unload("a")])
        // "b" has its own, longer TTL.
        #expect(residency.expire(now: 101) == [])
        #expect(residency.expire(now: 102) == [.unload("b")])
    }

    @Test func aModelLargerThanTheMemoryLimitIsRefusedWithTheSizes() {
        var residency = ModelResidency(limits: .init(maxMemory: 5_000_000))
        guard case .refused(let reason) = residency.request("big", memory: 9_000_000, now: 0) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.contains("9 MB") && reason.contains("5 MB"))
        #expect(residency.residents.isEmpty)
    }

    @Test func aFailedLoadLeavesNoTrace() {
        var residency = ModelResidency(limits: .init(maxLoaded: 1))
        _ = residency.request("bad", memory: 1, now: 0)
        residency.loadFailed("bad")
        #expect(residency.residents.isEmpty)
        #expect(residency.request("good", memory: 1, now: 1) == .waitForLoad(actions: [.load("good")]))
    }

    @Test func anExplicitUnloadIsRefusedWhileTheModelGenerates() {
        var residency = Self.residency(.init(), loaded: ["a"])
        _ = residency.request("a", memory: 10, now: 5)
        #expect(residency.unload("a") == .failure(ModelResidencyRefusal("'a' has 1 running requests")))
        residency.finished("a", now: 6)
        #expect(residency.unload("a") == .success([.unload("a")]))
        #expect(residency.unload("a") == .success([]))
    }

    @Test func aPreloadDoesNotHoldTheModel() {
        var residency = ModelResidency(limits: .init(idleTTL: 1))
        #expect(residency.preload("a", memory: 1, now: 0) == .waitForLoad(actions: [.load("a")]))
        residency.loadSucceeded("a", now: 1)
        #expect(residency.expire(now: 2) == [.unload("a")])
    }
}
