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

    func validate() throws {
        guard promptTokens >= 0, generatedTokens >= 0, repetitions >= 1 else {
            throw ValidationError("token counts must be at least 0 and repetitions at least 1")
        }
        guard threads.map({ $0 >= 1 }) ?? true else { throw ValidationError("--threads must be at least 1") }
        guard batches.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--batch sizes must be at least 1") }
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
}
