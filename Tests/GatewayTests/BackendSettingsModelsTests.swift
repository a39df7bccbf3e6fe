import Foundation
import Testing

@testable import Gateway

/// The `backend.models_dir`, limit and `models.*` settings of `lmgate serve`,
/// and the `lmgate backend` arguments they become.
@Suite struct BackendSettingsModelsTests {
    private static func settings(_ yaml: String) throws -> BackendSettings {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try BackendSettings(file: file)
    }

    @Test func aModelsFolderWithLimitsAliasesPinsAndTTLsBecomesBackendArguments() throws {
        let settings = try Self.settings(
            """
            backend:
              models_dir: /srv/models
              idle_ttl: 15m
              max_loaded: 2
              max_memory: 1g
            models:
              aliases:
                gpt-4o-mini: qwen/qwen3-4b/Qwen3-4B-Q4_K_M
                gpt-4.1: smol
              pinned: [smol]
              idle_ttl:
                qwen/qwen3-4b/Qwen3-4B-Q4_K_M: 30s
            """)
        #expect(settings.modelsDirectory == "/srv/models")
        #expect(settings.idleTTL == 900 && settings.maxLoaded == 2 && settings.maxMemory == 1 << 30)
        #expect(settings.aliases == ["gpt-4o-mini": "qwen/qwen3-4b/Qwen3-4B-Q4_K_M", "gpt-4.1": "smol"])
        #expect(settings.pinned == ["smol"])
        #expect(settings.modelTTLs == ["qwen/qwen3-4b/Qwen3-4B-Q4_K_M": 30])
        let arguments = settings.backendArguments
        for expected in [
            ["--models-dir", "/srv/models"], ["--idle-ttl", "900.0s"], ["--max-loaded", "2"], ["--max-memory", "\(1 << 30)"],
            ["--alias", "gpt-4.1=smol"], ["--alias", "gpt-4o-mini=qwen/qwen3-4b/Qwen3-4B-Q4_K_M"], ["--pin", "smol"],
            ["--model-ttl", "qwen/qwen3-4b/Qwen3-4B-Q4_K_M=30.0s"],
        ] {
            #expect(arguments.indices.contains { Array(arguments[$0...].prefix(2)) == expected }, "missing \(expected)")
        }
    }

    @Test func badModelSettingsAreErrorsNamingTheSetting() {
        for (yaml, expected) in [
            ("backend:\n  idle_ttl: soon\n", "backend.idle_ttl"),
            ("backend:\n  max_memory: lots\n", "backend.max_memory"),
            ("backend:\n  max_loaded: 0\n", "backend.max_loaded"),
            ("models:\n  colour: blue\n", "unknown setting 'models.colour'"),
            ("backend:\n  model: a.gguf\n  models_dir: /srv/models\n", "not both"),
        ] {
            #expect {
                try Self.settings(yaml)
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}
