import ArgumentParser
import Backend
import Foundation
import Gateway

/// `lmgate run`: generate a continuation of a prompt and stream it to stdout.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Generate text from a GGUF model, streaming tokens as they are produced.")

    @Option(help: "The GGUF model file (default: \(DefaultModel.relativePath) when scripts/setup installed it).")
    var model: String?
    @Option(help: "The prompt text.") var prompt: String
    @Option(help: "The most tokens to generate.") var maxTokens: Int = 128
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(help: "Keep only the K most likely tokens; 0 keeps all.") var topK: Int = 40
    @Option(help: "Nucleus sampling threshold; 1 keeps all.") var topP: Float = 0.95
    @Option(help: "Drop tokens below this fraction of the top probability.") var minP: Float = 0.05
    @Option(help: "Repetition penalty; 1 is off.") var repeatPenalty: Float = 1
    @Option(help: "Presence penalty.") var presencePenalty: Float = 0
    @Option(help: "Frequency penalty.") var frequencyPenalty: Float = 0
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Stop sequence (repeatable).") var stop: [String] = []
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Keep generating past the end-of-generation token.") var ignoreEos = false

    func run() throws {
        var sampling = SamplingParameters()
        sampling.temperature = temperature
        sampling.topK = topK
        sampling.topP = topP
        sampling.minP = minP
        sampling.repetitionPenalty = repeatPenalty
        sampling.presencePenalty = presencePenalty
        sampling.frequencyPenalty = frequencyPenalty
        sampling.seed = seed
        let path = try DefaultModel.path(
            named: model, currentDirectory: FileManager.default.currentDirectoryPath, setting: "--model FILE.gguf",
            exists: FileManager.default.fileExists(atPath:))
        let generator = try TextGenerator(path: path, threads: threads)
        let result = try generator.generate(
            prompt: prompt, maxTokens: maxTokens, sampling: sampling, stopSequences: stop,
            ignoreEndOfGeneration: ignoreEos
        ) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        let summary = String(
            format: "prompt: %d tokens, %.1f tokens/s; generated: %d tokens, %.1f tokens/s; finish: %@\n",
            result.promptTokens.count, Double(result.promptTokens.count) / max(result.promptSeconds, 1e-9),
            result.tokens.count, Double(max(result.tokens.count - 1, 0)) / max(result.generationSeconds, 1e-9),
            result.finishReason.rawValue)
        FileHandle.standardError.write(Data(summary.utf8))
    }
}
