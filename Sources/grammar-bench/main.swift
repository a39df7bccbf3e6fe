import Backend
import Foundation

// Measures what structured output costs: schema compilation, the vocabulary
// trie built on a tokenizer's first constrained request, and generation
// speed with a JSON schema against the same generation unconstrained
// (greedy and sampled). Argument: a GGUF model (a 152k-token Qwen2 vocabulary
// is the case that matters); `scripts/bench-grammar` builds and runs this.

let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first else {
    FileHandle.standardError.write(Data("usage: grammar-bench MODEL.gguf [tokens] [repetitions]\n".utf8))
    exit(2)
}
let tokenCount = arguments.dropFirst().first.flatMap { Int($0) } ?? 64
let repetitions = arguments.dropFirst(2).first.flatMap { Int($0) } ?? 3

let schemaText = #"""
    {"type":"object","properties":{
      "title":{"type":"string","maxLength":200},
      "year":{"type":"integer","minimum":1900,"maximum":2100},
      "rating":{"type":"number","minimum":0,"maximum":10},
      "genre":{"enum":["drama","comedy","horror","documentary"]},
      "notes":{"type":"array","items":{"type":"string","maxLength":120},"maxItems":20},
      "cast":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"role":{"anyOf":[{"type":"string"},{"type":"null"}]}},"required":["name","role"],"additionalProperties":false},"maxItems":10}
    },"required":["title","year","rating","genre","notes","cast"],"additionalProperties":false}
    """#
guard let schema = JSONValue.parse(Data(schemaText.utf8)) else { fatalError("bad schema") }

/// CPU seconds used by the whole process so far: other work on a shared
/// machine slows the wall clock far more than it changes this.
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func seconds(_ work: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try work()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let file = try GGUFFile(path: path)
WeightPageIn.pageIn(file) { _ in }
let generator = try TextGenerator(model: LanguageModel(file: file), tokenizer: Tokenizer(TokenizerVocabulary(gguf: file)), threads: nil)
print("model: \(URL(fileURLWithPath: path).lastPathComponent), vocabulary \(generator.tokenizer.vocabularySize) tokens")

var grammar: JSONGrammar?
let compileRuns = 200
let compileSeconds = try seconds { for _ in 0..<compileRuns { grammar = try JSONGrammar.compile(schema: schema, strict: true) } }
print(String(format: "schema compilation: %.1f µs", compileSeconds / Double(compileRuns) * 1e6))
let trieSeconds = seconds { _ = VocabularyTrie(generator.tokenizer) }
print(String(format: "vocabulary trie (once per loaded model, first constrained request): %.1f ms", trieSeconds * 1e3))
_ = VocabularyTrie.shared(for: generator.tokenizer)

let prompt = generator.tokenizer.encode("Describe a film as JSON:")
var results: [String: [Double]] = [:]
var cpuResults: [String: [Double]] = [:]
var lastOutput = ""
for repetition in 0..<repetitions {
    for (label, temperature) in [("greedy", Float(0)), ("sampled", Float(0.8))] {
        var sampling = SamplingParameters()
        sampling.temperature = temperature
        sampling.seed = UInt64(repetition)
        for constrained in [false, true] {
            let options = GenerationOptions(
                maxTokens: tokenCount, sampling: sampling, ignoreEndOfGeneration: !constrained,
                constraint: constrained ? OutputConstraint(grammar: grammar!) : nil)
            let cpuStart = processCPUSeconds()
            let result = try generator.generate(promptTokens: prompt, options: options)
            let cpu = processCPUSeconds() - cpuStart
            let key = "\(label) \(constrained ? "schema" : "free")"
            results[key, default: []].append(Double(result.tokens.count) / result.generationSeconds)
            // Per CPU-second, prompt included (the same prompt in both runs).
            cpuResults[key, default: []].append(Double(result.tokens.count) / cpu)
            if constrained { lastOutput = "\(result.tokens.count) tokens, \(result.finishReason): \(result.text.prefix(160).debugDescription)" }
        }
    }
}
func mean(_ values: [Double]?) -> Double { (values ?? []).reduce(0, +) / Double(max(values?.count ?? 0, 1)) }
print("| decoding | unconstrained t/s | JSON schema t/s | ratio | unconstrained t/CPU-s | JSON schema t/CPU-s | CPU ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for label in ["greedy", "sampled"] {
    let free = mean(results["\(label) free"]), constrained = mean(results["\(label) schema"])
    let freeCPU = mean(cpuResults["\(label) free"]), constrainedCPU = mean(cpuResults["\(label) schema"])
    print(String(
        format: "| %@ | %.2f | %.2f | %.3f | %.2f | %.2f | %.3f |", label, free, constrained, constrained / free, freeCPU,
        constrainedCPU, constrainedCPU / freeCPU))
}
print("last constrained output: \(lastOutput)")
