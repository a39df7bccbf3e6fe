/// What one step of the scheduler runs through the model: for each active
/// sequence, how many tokens — its one decoding token, a chunk of its
/// prompt, or nothing.
///
/// All of a step goes through the model in one
/// ``LanguageModel/step(_:pool:)`` call, so the step's size is what a
/// running stream waits between two of its tokens; the plan keeps it within
/// a token budget (``SchedulerConfiguration/prefillChunk``) and shares that
/// budget out:
/// 1. Every sequence that decodes runs its token: a new prompt never stalls
///    the streams already running (a step's prompt budget is what the
///    budget leaves beyond them, at least one token).
/// 2. The prompt admitted first among those not done gets its fair share
///    of the prompt budget first (the budget over the number of unfinished
///    prompts, rounded up), so it completes within a bounded number of
///    steps however many shorter prompts arrive after it.
/// 3. The rest goes to the prompts with the fewest tokens left first
///    (earlier admitted first among equals), so as many prompts as possible
///    complete — and sample their first token — in this step.
///
/// A value type without the model, so the policy is tested on its own
/// (`StepPlanTests`).
struct StepPlan: Equatable {
    /// A sequence as the plan sees it.
    struct Sequence: Equatable {
        /// Prompt tokens not yet run through the model.
        var pendingPromptTokens: Int
        /// Whether the sequence has a token to decode (its prompt is done).
        var decodes: Bool
    }

    /// For each sequence, in the order given: the tokens it runs in this
    /// step (`0`: it sits this step out).
    let tokens: [Int]

    /// Plans a step for `sequences`, given in the order they were admitted.
    ///
    /// - Parameter tokenBudget: the most tokens the step runs, unless the
    ///   decoding sequences alone are more (they all run, with one prompt
    ///   token beside them if a prompt is pending).
    init(sequences: [Sequence], tokenBudget: Int) {
        var tokens = sequences.map { $0.decodes && $0.pendingPromptTokens == 0 ? 1 : 0 }
        let pending = sequences.indices.filter { sequences[$0].pendingPromptTokens > 0 }
        var budget = max(1, tokenBudget - tokens.reduce(0, +))
        if let oldest = pending.first {
            let share = (budget + pending.count - 1) / pending.count
            tokens[oldest] = min(sequences[oldest].pendingPromptTokens, share)
            budget -= tokens[oldest]
            let shortestFirst = pending.sorted {
                let left0 = sequences[$0].pendingPromptTokens - tokens[$0]
                let left1 = sequences[$1].pendingPromptTokens - tokens[$1]
                return left0 != left1 ? left0 < left1 : $0 < $1
            }
            for index in shortestFirst where budget > 0 {
                let granted = min(sequences[index].pendingPromptTokens - tokens[index], budget)
                tokens[index] += granted
                budget -= granted
            }
        }
        self.tokens = tokens
    }

    /// Whether the step runs nothing.
    var isEmpty: Bool { tokens.allSatisfy { $0 == 0 } }
}
