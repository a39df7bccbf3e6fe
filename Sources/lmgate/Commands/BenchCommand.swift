import ArgumentParser
import Backend
import Foundation

/// `lmgate bench`: prompt-processing and generation speed, in llama-bench's terms.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure prompt (ppN) and generation (tgN) speed of a GGUF model, as llama-bench does.")

    @Option(help: "The GGUF model file.") var model: String
    @Option(name: [.customShort("p"), .long], help: "Prompt tokens (0 skips the test).") var promptTokens: Int = 128
    @Option(name: [.customShort("n"), .long], help: "Generated tokens (0 skips the test).") var generatedTokens: Int = 32
    @Option(name: [.customShort("t"), .long], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: [.customShort("r"), .long], help: "Repetitions.") var repetitions: Int = 5
    @Option(name: .customLong("batch"), parsing: .upToNextOption,
            help: "Also generate for this many sequences decoded together (aggregate t/s), e.g. --batch 1 4 8.")
    var batches: [Int] = []
    @Option(name: .customLong("prompts-beside"), parsing: .upToNextOption,
            help: "Also run N prompts of --prompt-tokens tokens beside M decoding sequences, in one step and as separate calls, given as NxM, e.g. --prompts-beside 8x0 1x7.")
    var promptsBeside: [String] = []

    func validate() throws {
        guard promptTokens >= 0, generatedTokens >= 0, repetitions >= 1 else {
            throw ValidationError("token counts must be at least 0 and repetitions at least 1")
        }
        guard threads.map({ $0 >= 1 }) ?? true else { throw ValidationError("--threads must be at least 1") }
        guard batches.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--batch sizes must be at least 1") }
        guard promptsBeside.allSatisfy({ Self.promptsAndDecoding($0) != nil }), promptsBeside.isEmpty || promptTokens > 0 else {
            throw ValidationError("--prompts-beside takes NxM (N ≥ 1 prompts, M ≥ 0 decoding sequences), with --prompt-tokens above 0")
        }
    }

    func run() throws {
        let file = try GGUFFile(path: model)
        let languageModel = try LanguageModel(file: file)
        let progress = LoadingProgress(label: "loading model")
        WeightPageIn.pageIn(file, progress: progress.update)
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let benchmark = ModelBenchmark(model: languageModel, threads: threadCount)
        let name = URL(fileURLWithPath: model).lastPathComponent
        let size = String(format: "%.2f MiB", Double(file.fileSize) / 1_048_576)
        // The figures depend on both; a line of its own keeps the table's columns llama-bench's.
        let platform = EnginePlatform.current()
        print("cpu: \(platform.cpuModel); OpenBLAS core: \(platform.blasCore) (\(platform.blasCoreReason.rawValue)); "
              + "kernels: \(platform.kernelPath.rawValue) (\(platform.kernelPathReason.rawValue))")
        print("| model | size | threads | test | t/s |")
        print("| --- | ---: | ---: | ---: | ---: |")
        var rows: [ModelBenchmark.Row] = []
        if promptTokens > 0 { rows.append(try benchmark.promptProcessing(tokens: promptTokens, repetitions: max(repetitions, 1))) }
        if generatedTokens > 0 { rows.append(try benchmark.textGeneration(tokens: generatedTokens, repetitions: max(repetitions, 1))) }
        if generatedTokens > 0 {
            for batch in batches {
                rows.append(try benchmark.batchedGeneration(sequences: batch, tokens: generatedTokens, repetitions: max(repetitions, 1)))
            }
        }
        for spec in promptsBeside {
            if let (prompts, decoding) = Self.promptsAndDecoding(spec) {
                rows += try benchmark.promptsBesideDecoding(prompts: prompts, tokens: promptTokens, decoding: decoding, repetitions: max(repetitions, 1))
            }
        }
        for row in rows {
            print(String(format: "| %@ | %@ | %d | %@ | %.2f ± %.2f |", name, size, threadCount, row.test, row.mean, row.standardDeviation))
        }
        // Weights are mapped, not copied: their pages count here once, so a
        // peak near the file size (plus caches and activations) shows that.
        print(String(format: "peak resident memory: %.1f MiB (file %@)", Double(Self.peakResidentBytes()) / 1_048_576, size))
    }

    /// The process's peak resident set size (`ru_maxrss`, KiB on Linux, bytes on macOS).
    private static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if os(macOS)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #endif
    }

    /// `"8x7"` → (8 prompts, 7 decoding sequences).
    static func promptsAndDecoding(_ spec: String) -> (prompts: Int, decoding: Int)? {
        let parts = spec.split(separator: "x")
        guard parts.count == 2, let prompts = Int(parts[0]), let decoding = Int(parts[1]), prompts >= 1, decoding >= 0 else { return nil }
        return (prompts, decoding)
    }
}
