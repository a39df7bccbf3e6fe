import Foundation
import Logging
import Testing

@testable import Backend

/// ``ModelRegistry`` with real fixture models: what it carries out of
/// ``ModelResidency``'s decisions.
@Suite struct ModelRegistryTests {
    private static func registry(_ entries: [ModelEntry], limits: ModelResidency.Limits = .init(), metrics: BackendMetrics = BackendMetrics())
        throws -> ModelRegistry
    {
        var configuration = SchedulerConfiguration()
        configuration.threads = 1
        return try ModelRegistry(entries: entries, limits: limits, configuration: configuration, metrics: metrics, logger: Logger(label: "test.models"))
    }

    /// A copy of fixture model `name` under a new temporary folder, and that folder.
    private static func copy(_ name: String, as id: String) throws -> (entry: ModelEntry, folder: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-registry-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/\(id).gguf"
        try FileManager.default.copyItem(atPath: try FixtureModels.path(name), toPath: path)
        return (ModelEntry(id: id, path: path), folder)
    }

    @Test func concurrentRequestsForAModelWaitOnOneLoad() async throws {
        let metrics = BackendMetrics()
        let registry = try Self.registry([ModelEntry(id: "tiny", path: try FixtureModels.path("tiny-qwen2-f16"))], metrics: metrics)
        let leases = try await withThrowingTaskGroup(of: ModelLease.self) { group in
            for _ in 0..<6 { group.addTask { try await registry.lease(for: "local-model") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(leases.count == 6)
        #expect(Set(leases.map { ObjectIdentifier($0.service) }).count == 1)
        #expect(metrics.render().contains("lmgate_backend_model_loads_total{result=\"ok\"} 1"))
        await registry.shutdown()
    }

    @Test func aModelWhoseLoadFailsGetsAClearErrorAndTheOtherStillServes() async throws {
        // The file was a model when listed, and is no longer one when loaded.
        let (broken, folder) = try Self.copy("tiny-qwen2-f16", as: "replaced")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("not a model any more".utf8).write(to: URL(fileURLWithPath: broken.path))
        let metrics = BackendMetrics()
        let registry = try Self.registry([broken, ModelEntry(id: "tiny", path: try FixtureModels.path("tiny-qwen2-f16"))], metrics: metrics)
        await #expect {
            try await registry.lease(for: "replaced")
        } throws: { error in
            guard let error = error as? APIError else { return false }
            return error.code == "model_load_failed" && error.message.contains("'replaced' could not be loaded")
        }
        #expect(await registry.loadedIDs == [])
        let lease = try await registry.lease(for: "tiny")
        #expect(lease.service.id == "tiny")
        #expect(await registry.loadedIDs == ["tiny"])
        #expect(metrics.render().contains("lmgate_backend_model_loads_total{result=\"failed\"} 1"))
        await registry.shutdown()
    }

    @Test func anIdleModelIsEvictedForAnotherAndAHeldOneIsNot() async throws {
        let entries = [
            ModelEntry(id: "a", path: try FixtureModels.path("tiny-qwen2-f16")), ModelEntry(id: "b", path: try FixtureModels.path("tiny-llama-spm-f16")),
        ]
        let registry = try Self.registry(entries, limits: .init(maxLoaded: 1))
        try await registry.lease(for: "a").release()
        // Released asynchronously: wait until "a" is idle, then "b" evicts it.
        var lease: ModelLease?
        for _ in 0..<200 where lease == nil {
            lease = try? await registry.lease(for: "b")
            if lease == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(lease?.service.id == "b")
        #expect(await registry.loadedIDs == ["b"])
        // "b" is held: "a" cannot come back until it is released.
        await #expect(throws: APIError.self) { try await registry.lease(for: "a") }
        await registry.shutdown()
    }

    @Test func aLoadWithPinSurvivesItsTTLAndTheListingSaysSo() async throws {
        let entries = [ModelEntry(id: "a", path: try FixtureModels.path("tiny-qwen2-f16"))]
        let registry = try Self.registry(entries, limits: .init(idleTTL: 0.05))
        #expect(try await registry.load("A.gguf", pin: true) == "a")
        try await Task.sleep(for: .milliseconds(200))
        #expect(await registry.loadedIDs == ["a"])
        let pinned = try await registry.listing(of: "a").objectValue
        #expect(pinned?["pinned"] == true && pinned?["state"] == "loaded" && pinned?["ttl"] == nil)
        #expect(try await registry.unpin("a") == "a")
        let unpinned = try await registry.listing(of: "a").objectValue
        #expect(unpinned?["pinned"] == false && unpinned?["ttl"] == .number(0.05))
        // Unpinned, the TTL unloads it.
        for _ in 0..<200 where await registry.loadedIDs != [] { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await registry.loadedIDs == [])
        await registry.shutdown()
    }

    @Test func aLoadWithATTLUnloadsTheModelAfterItAlone() async throws {
        let entries = [
            ModelEntry(id: "a", path: try FixtureModels.path("tiny-qwen2-f16")), ModelEntry(id: "b", path: try FixtureModels.path("tiny-llama-spm-f16")),
        ]
        let registry = try Self.registry(entries)
        _ = try await registry.load("a", idleTTL: 0.05)
        _ = try await registry.load("b")
        #expect(try await registry.listing(of: "a").objectValue?["ttl"] == .number(0.05))
        for _ in 0..<200 where await registry.loadedIDs != ["b"] { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await registry.loadedIDs == ["b"])
        await registry.shutdown()
    }
}
