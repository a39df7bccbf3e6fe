/// A sequence the scheduler is working on: its generation state, its KV
/// cache and where it stands (prompt still being computed, or decoding).
/// Confined to the scheduler's thread.
final class ActiveSequence {
    let job: ScheduledJob
    var generator: SequenceGenerator
    var cache: KVCache
    /// The tokens whose keys and values `cache` holds, in order.
    var cachedTokens: [Int]
    /// Prompt tokens not yet run through the model.
    var pendingPrompt: ArraySlice<Int>
    /// The token the next decoding step feeds, once the prompt is done.
    var nextToken: Int?
    /// Prompt tokens reused from a kept cache.
    let reusedPromptTokens: Int

    init(job: ScheduledJob, generator: SequenceGenerator, cache: KVCache, reusedPromptTokens: Int) {
        self.job = job
        self.generator = generator
        self.cache = cache
        self.reusedPromptTokens = reusedPromptTokens
        cachedTokens = Array(job.promptTokens.prefix(reusedPromptTokens))
        pendingPrompt = job.promptTokens[reusedPromptTokens...]
    }

    var summary: GenerationSummary {
        GenerationSummary(
            promptTokens: job.promptTokens.count, cachedPromptTokens: reusedPromptTokens,
            completionTokens: generator.generated.count, finishReason: generator.finishReason ?? .length,
            stopSequence: generator.matchedStopSequence)
    }
}
