import Foundation
import Testing

@testable import Backend

/// llama.cpp's vocabulary files and tokenizer test vectors in `Fixtures/vocab`.
enum VocabularyFixture {
    /// The vocabularies with test vectors.
    static let names = ["llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2"]

    /// One test vector: an input text and the ids llama.cpp's reference
    /// (Hugging Face, no BOS) gives for it.
    struct Case: Sendable, CustomTestStringConvertible {
        var index: Int
        var text: String
        var expected: [Int]
        var testDescription: String { "#\(index) \(text.debugDescription.prefix(40))" }
    }

    static func url(_ name: String, _ suffix: String) throws -> URL {
        try #require(
            Bundle.module.url(
                forResource: "ggml-vocab-\(name)", withExtension: suffix, subdirectory: "Fixtures/vocab"))
    }

    /// The tokenizer of vocabulary `name`, built once per name.
    static func tokenizer(_ name: String) throws -> Tokenizer {
        try cache.tokenizer(name) {
            try Tokenizer(TokenizerVocabulary(gguf: GGUFFile(path: url(name, "gguf").path)))
        }
    }

    /// The test vectors of `name`: inputs in `NAME.gguf.inp`, each followed by
    /// a line `__ggml_vocab_test__` (so an input's own last newline is
    /// part of it only if a second one precedes the marker), and one line of
    /// space-separated ids per input in `NAME.gguf.out`.
    static func cases(_ name: String) throws -> [Case] {
        let inputs = try String(contentsOf: url(name, "gguf.inp"), encoding: .utf8)
            .components(separatedBy: "\n__ggml_vocab_test__\n")
        let outputs = try String(contentsOf: url(name, "gguf.out"), encoding: .utf8)
            .components(separatedBy: "\n")
        // Both files end with their separator: the last component is empty.
        try #require(inputs.last == "" && outputs.last == "")
        try #require(inputs.count == outputs.count)
        return try zip(inputs.dropLast(), outputs.dropLast()).enumerated().map { index, pair in
            let ids = try pair.1.split(separator: " ").map { try #require(Int($0)) }
            return Case(index: index, text: pair.0, expected: ids)
        }
    }

    private static let cache = TokenizerCache()
}

/// Loading a 150,000-token vocabulary takes a moment; tests share them.
final class TokenizerCache: @unchecked Sendable {
    // Guarded by `lock`.
    private var tokenizers: [String: Tokenizer] = [:]
    private let lock = NSLock()

    func tokenizer(_ name: String, load: () throws -> Tokenizer) throws -> Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let tokenizer = tokenizers[name] { return tokenizer }
        let tokenizer = try load()
        tokenizers[name] = tokenizer
        return tokenizer
    }
}
