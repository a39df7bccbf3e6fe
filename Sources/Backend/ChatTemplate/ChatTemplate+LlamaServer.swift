import Foundation

extension ChatTemplate {
    /// Renders `messages` (offering `tools`) with a generation prompt as llama.cpp's server
    /// does (its `/apply-template`): with its extra variables `date_string`
    /// (`%d %b %Y`, which Llama 3.x's template prints as "Today Date";
    /// without it the template prints a fixed day of 2024) and `datetime`,
    /// and without a leading `bos_token` when the tokenizer adds BOS itself.
    public func renderAsLlamaServer(
        _ messages: [ChatMessage], tools: [ToolDefinition] = [], tokens: ChatTemplateTokens, tokenizerAddsBOS: Bool
    ) throws(ChatTemplateError) -> String {
        try renderAsLlamaServer(messages, tools: tools, tokens: tokens, tokenizerAddsBOS: tokenizerAddsBOS, clock: ChatTemplateClock(now: Date(), timeZone: .current))
    }

    /// The same as of `clock`, for tests.
    func renderAsLlamaServer(
        _ messages: [ChatMessage], tools: [ToolDefinition] = [], tokens: ChatTemplateTokens, tokenizerAddsBOS: Bool, clock: ChatTemplateClock
    ) throws(ChatTemplateError) -> String {
        let extras: [String: JinjaValue] = [
            "date_string": .string(JinjaGlobals.strftime("%d %b %Y", clock.now, clock.timeZone)),
            "datetime": .string(JinjaGlobals.strftime("%b %d %Y", clock.now, clock.timeZone)),
        ]
        var prompt = try render(messages, tools: tools, addGenerationPrompt: true, tokens: tokens, clock: clock, extras: extras)
        let bos = tokens.beginningOfSequence
        if tokenizerAddsBOS, !bos.isEmpty, prompt.hasPrefix(bos) {
            prompt.removeFirst(bos.count)
        }
        return prompt
    }
}
