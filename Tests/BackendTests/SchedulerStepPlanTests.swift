import Testing

@testable import Backend

/// ``StepPlan``: what a scheduler step runs, without a model.
@Suite("Scheduler step plan")
struct SchedulerStepPlanTests {
    typealias Sequence = StepPlan.Sequence

    static func prompt(_ tokens: Int) -> Sequence { Sequence(pendingPromptTokens: tokens, decodes: false) }
    static let decoding = Sequence(pendingPromptTokens: 0, decodes: true)

    @Test("eight 32-token prompts arriving together all complete in one step of 256 tokens")
    func equalPromptsTogether() {
        let plan = StepPlan(sequences: Array(repeating: Self.prompt(32), count: 8), tokenBudget: 256)
        #expect(plan.tokens == Array(repeating: 32, count: 8))
    }

    @Test("decoding sequences run beside the prompts and count against the budget")
    func decodesRideAlong() {
        let plan = StepPlan(sequences: [Self.decoding, Self.prompt(300), Self.decoding, Self.prompt(10)], tokenBudget: 64)
        // 62 prompt tokens: the oldest prompt's share is 31, the short one completes, the rest to the oldest.
        #expect(plan.tokens == [1, 52, 1, 10])
        // More decoding sequences than budget: all decode, and a prompt still moves.
        let crowded = StepPlan(sequences: [Self.prompt(5)] + Array(repeating: Self.decoding, count: 4), tokenBudget: 2)
        #expect(crowded.tokens == [1, 1, 1, 1, 1])
        #expect(StepPlan(sequences: [], tokenBudget: 8).isEmpty)
        #expect(StepPlan(sequences: [Sequence(pendingPromptTokens: 0, decodes: false)], tokenBudget: 8).isEmpty)
    }

    @Test("a long prompt admitted first gets its share; the short prompts behind it complete in the same step")
    func shortPromptsPassALongOne() {
        let plan = StepPlan(sequences: [Self.prompt(2000)] + Array(repeating: Self.prompt(30), count: 3), tokenBudget: 256)
        #expect(plan.tokens == [166, 30, 30, 30])
    }

    /// Random sets of sequences and budgets: the invariants the scheduler
    /// relies on.
    @Test("random plans keep the budget, favour the shortest prompts and always move the oldest one")
    func randomPlans() {
        var random = SeededRandomGenerator(seed: 13)
        for _ in 0..<5000 {
            let sequences = (0..<Int.random(in: 0...10, using: &random)).map { _ -> Sequence in
                switch Int.random(in: 0..<3, using: &random) {
                case 0: return Self.decoding
                case 1: return Sequence(pendingPromptTokens: 0, decodes: false)
                default: return Self.prompt(Int.random(in: 1...600, using: &random))
                }
            }
            let budget = Int.random(in: 1...300, using: &random)
            let plan = StepPlan(sequences: sequences, tokenBudget: budget)
            #expect(plan.tokens.count == sequences.count)
            let decoders = sequences.filter { $0.decodes }.count
            let pending = sequences.indices.filter { sequences[$0].pendingPromptTokens > 0 }
            let promptBudget = max(1, budget - decoders)
            var granted = 0
            for (sequence, tokens) in zip(sequences, plan.tokens) {
                if sequence.decodes { #expect(tokens == 1) }
                if !sequence.decodes && sequence.pendingPromptTokens == 0 { #expect(tokens == 0) }
                if sequence.pendingPromptTokens > 0 {
                    #expect(tokens >= 0 && tokens <= sequence.pendingPromptTokens)
                    granted += tokens
                }
            }
            // Work-conserving within the budget.
            #expect(granted == min(promptBudget, pending.map { sequences[$0].pendingPromptTokens }.reduce(0, +)))
            guard let oldest = pending.first else { continue }
            // The oldest prompt's guaranteed share.
            let share = (promptBudget + pending.count - 1) / pending.count
            #expect(plan.tokens[oldest] >= min(sequences[oldest].pendingPromptTokens, share))
            // Shortest first among the others: a prompt left unfinished has
            // no more tokens left than any other prompt that got tokens
            // beyond the oldest's share.
            let others = pending.dropFirst()
            for unfinished in others where plan.tokens[unfinished] < sequences[unfinished].pendingPromptTokens {
                for served in others where served != unfinished && plan.tokens[served] > 0 {
                    let servedBefore = (sequences[served].pendingPromptTokens, served)
                    let unfinishedBefore = (sequences[unfinished].pendingPromptTokens, unfinished)
                    #expect(servedBefore < unfinishedBefore, "\(sequences) budget \(budget): \(plan.tokens)")
                }
            }
        }
    }

    /// A long prompt while short prompts keep arriving in every freed slot:
    /// it still completes in at most ⌈L / ⌈B′/k⌉⌉ steps (B′ the prompt
    /// budget beside the decoders, k the slots).
    @Test("a long prompt is never starved by short ones arriving behind it")
    func noStarvation() {
        var random = SeededRandomGenerator(seed: 7)
        let slots = 8, budget = 64, long = 1000
        var sequences = [Self.prompt(long)]
        var steps = 0
        while sequences[0].pendingPromptTokens > 0 {
            // Refill every free slot with a new short prompt; one that has
            // finished its prompt decodes.
            while sequences.count < slots { sequences.append(Self.prompt(Int.random(in: 1...40, using: &random))) }
            let plan = StepPlan(sequences: sequences, tokenBudget: budget)
            for index in sequences.indices where plan.tokens[index] > 0 && !sequences[index].decodes {
                sequences[index].pendingPromptTokens -= plan.tokens[index]
                sequences[index].decodes = sequences[index].pendingPromptTokens == 0
            }
            // Sequences that decoded leave at random (their generation ended).
            sequences = sequences.enumerated().filter { $0.offset == 0 || !$0.element.decodes || Bool.random(using: &random) }.map(\.element)
            steps += 1
            #expect(steps <= 200)
            if steps > 200 { break }
        }
        let share = (budget - (slots - 1) + slots - 1) / slots
        #expect(steps <= (long + share - 1) / share)
    }
}
