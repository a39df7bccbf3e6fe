// Measures tokenization speed (release build) on a long mixed text: prose,
// code, numbers, CJK and emoji. For each GGUF vocabulary given (default: the
// five llama.cpp vocabularies in Tests/BackendTests/Fixtures/vocab) it prints
// the time to build the tokenizer, to encode and decode the text, and, for
// byte-level BPE, the time Swift's `Regex` takes just to pre-split the same
// text with the model's expression (the peer our hand-written scanner replaces).
import Backend
import Foundation

let paragraph = """
    In the beginning the proxy checked every request, and the backend answered on 127.0.0.1:1234. \
    It's 2026; we've measured 1,234,567 tokens/s? Not quite — 3.14159 × 10⁶ would be "nice". \
    func fib(_ n: Int) -> Int { n < 2 ? n : fib(n - 1) + fib(n - 2) }\n\tlet x = [1, 22, 333, 4444]\n\n\
    我想在apple工作1314151天～ Ünïcödé ✓ нещо на Български 🚀 (normal) 😶‍🌫️ 🦙🦙 កាន់តែពិសេសអាច\n
    """
let repetitions = 40
let text = String(repeating: paragraph, count: repetitions)

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func best(of runs: Int, _ body: () -> Void) -> Double {
    (0..<runs).map { _ in seconds(body) }.min() ?? 0
}

let expressions: [PreTokenizerKind: String] = [
    .llama3: #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    .qwen2: #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    .gpt2: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
]

var paths = Array(CommandLine.arguments.dropFirst())
if paths.isEmpty {
    let folder = "Tests/BackendTests/Fixtures/vocab"
    paths = ["llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2"].map { "\(folder)/ggml-vocab-\($0).gguf" }
}
print("text: \(text.utf8.count) bytes, \(text.unicodeScalars.count) scalars")
for path in paths {
    var tokenizer: Tokenizer?
    let load = try seconds {
        tokenizer = try Tokenizer(TokenizerVocabulary(gguf: GGUFFile(path: path)))
    }
    guard let tokenizer else { continue }
    var ids: [Int] = []
    let encode = best(of: 5) { ids = tokenizer.encode(text, addSpecialTokens: false) }
    var decoded = ""
    let decode = best(of: 5) { decoded = tokenizer.decode(ids) }
    let name = URL(fileURLWithPath: path).lastPathComponent
    var line = String(
        format: "%@: load %.0f ms; encode %d tokens in %.2f ms (%.0f k tokens/s, %.1f MB/s); decode %.2f ms; round trip %@",
        name, load * 1e3, ids.count, encode * 1e3, Double(ids.count) / encode / 1e3,
        Double(text.utf8.count) / encode / 1e6, decode * 1e3, decoded == text ? "exact" : "DIFFERS")
    if tokenizer.vocabulary.model == .bytePair, let pattern = expressions[tokenizer.vocabulary.preTokenizer] {
        let regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
        var words = 0
        let split = best(of: 3) { words = text.matches(of: regex).count }
        line += String(format: "; Regex pre-split alone %.2f ms (%d words) = %.1f× our whole encode", split * 1e3, words, split / encode)
    }
    print(line)
}
