import Testing

@testable import Backend

@Suite struct ModelNameResolverTests {
    @Test func withOneModelAnyNameIsServedByIt() throws {
        let resolver = try ModelNameResolver(ids: ["SmolLM2-135M-Instruct.Q4_1"], aliases: [:])
        #expect(try resolver.resolve("local-model") == "SmolLM2-135M-Instruct.Q4_1")
        #expect(try resolver.resolve("gpt-4o") == "SmolLM2-135M-Instruct.Q4_1")
    }

    @Test func idsMatchInAnyCaseWithOrWithoutTheExtension() throws {
        let resolver = try ModelNameResolver(ids: ["pub/model/File-Q4", "other"], aliases: [:])
        #expect(try resolver.resolve("PUB/model/file-q4.gguf") == "pub/model/File-Q4")
        #expect(try resolver.resolve("other") == "other")
    }

    @Test func aliasesNameModelsForClientsWithFixedNames() throws {
        let resolver = try ModelNameResolver(ids: ["qwen3-4b", "smol"], aliases: ["gpt-4o-mini": "qwen3-4b", "GPT-4.1": "smol.gguf"])
        #expect(try resolver.resolve("gpt-4o-mini") == "qwen3-4b")
        #expect(try resolver.resolve("gpt-4.1") == "smol")
    }

    @Test func anUnknownNameAmongSeveralModelsIsA404ListingThem() {
        let resolver = try? ModelNameResolver(ids: ["b-model", "a-model"], aliases: [:])
        #expect(throws: APIError.self) { try resolver?.resolve("local-model") }
        do {
            _ = try resolver?.resolve("local-model")
        } catch {
            #expect(error.status == .notFound)
            #expect(error.code == "model_not_found")
            #expect(error.message.contains("'a-model', 'b-model'"))
        }
    }

    @Test func anAliasToNoModelOrShadowingAnotherIsAConfigurationError() {
        #expect(throws: ModelFolderError.self) { try ModelNameResolver(ids: ["a"], aliases: ["x": "missing"]) }
        #expect(throws: ModelFolderError.self) { try ModelNameResolver(ids: ["a", "b"], aliases: ["a": "b"]) }
    }
}
