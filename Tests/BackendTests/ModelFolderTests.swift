import Foundation
import Testing

@testable import Backend

/// ``ModelFolder`` on folders made at test time, holding links to a fixture model.
@Suite struct ModelFolderTests {
    /// A new empty folder under the temporary directory, removed after `body`.
    private static func withFolder(_ body: (String) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-models-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try body(folder)
    }

    private static func link(_ relative: String, in folder: String) throws {
        let path = (folder as NSString).appendingPathComponent(relative)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: try FixtureModels.path("tiny-qwen2-f16"))
    }

    @Test func everyGGUFBelowTheFolderIsListedByItsRelativePath() throws {
        try Self.withFolder { folder in
            try Self.link("top.gguf", in: folder)
            try Self.link("publisher/model/File-Q8_0.GGUF", in: folder)
            try Self.link(".hidden/skipped.gguf", in: folder)
            #expect(FileManager.default.createFile(atPath: folder + "/README.md", contents: Data("not a model".utf8)))
            let entries = try ModelFolder.scan(folder)
            #expect(entries.map(\.id) == ["publisher/model/File-Q8_0", "top"])
            #expect(entries[0].publisher == "publisher")
            #expect(entries[0].architecture == "qwen2" && entries[0].problem == nil)
            #expect(entries[0].contextLength ?? 0 > 0 && entries[0].estimatedMemory > entries[0].fileSize)
        }
    }

    @Test func aFileThatIsNotAGGUFIsListedWithItsProblem() throws {
        try Self.withFolder { folder in
            try Self.link("good.gguf", in: folder)
            #expect(FileManager.default.createFile(atPath: folder + "/fake.gguf", contents: Data("<html>not a model</html>".utf8)))
            let truncated = try Data(contentsOf: URL(fileURLWithPath: try FixtureModels.path("tiny-qwen2-f16"))).prefix(4096)
            #expect(FileManager.default.createFile(atPath: folder + "/truncated.gguf", contents: truncated))
            let entries = try ModelFolder.scan(folder)
            #expect(entries.map(\.id) == ["fake", "good", "truncated"])
            #expect(entries[0].problem?.contains("not a GGUF file") == true)
            #expect(entries[1].problem == nil)
            #expect(entries[2].problem != nil)
            #expect(entries[0].listing(loaded: false).objectValue?["error"] != nil)
        }
    }

    @Test func twoFilesWithOneIdAreRefusedNamingBoth() throws {
        try Self.withFolder { folder in
            try Self.link("a/Model.gguf", in: folder)
            try Self.link("a/model.GGUF", in: folder)
            #expect {
                try ModelFolder.scan(folder)
            } throws: { error in
                let text = "\(error)"
                return text.contains("a/Model.gguf") && text.contains("a/model.GGUF")
            }
        }
    }

    @Test func anEmptyMissingOrNonFolderPathIsRefusedWithTheReason() throws {
        try Self.withFolder { folder in
            #expect(FileManager.default.createFile(atPath: folder + "/notes.txt", contents: Data()))
            #expect { try ModelFolder.scan(folder) } throws: { "\($0)".contains("holds no .gguf file") }
            #expect { try ModelFolder.scan(folder + "/missing") } throws: { "\($0)".contains("does not exist") }
            #expect { try ModelFolder.scan(folder + "/notes.txt") } throws: { "\($0)".contains("is not a folder") }
        }
    }
}
