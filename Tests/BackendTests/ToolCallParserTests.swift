import Testing

@testable import Backend

/// The tool-call parsers on recorded model outputs: whole, in pieces at
/// every character boundary (as a stream delivers them), malformed.
@Suite("Tool calls: parsing a model's output")
struct ToolCallParserTests {
    /// The output of `parser` for `text` read whole, adjacent text pieces joined.
    private func parse(_ parser: any ToolCallParser, _ text: String) -> [ToolCallOutput] {
        var parser = parser
        return joined(parser.parse(text))
    }

    /// The output of `parser` for `text` fed in two pieces split at `offset` (in Unicode scalars).
    private func parseSplit(_ parser: any ToolCallParser, _ text: String, at offset: Int) -> [ToolCallOutput] {
        var parser = parser
        let cut = text.unicodeScalars.index(text.unicodeScalars.startIndex, offsetBy: offset)
        return joined(parser.feed(String(text.unicodeScalars[..<cut])) + parser.feed(String(text.unicodeScalars[cut...])) + parser.finish())
    }

    private func joined(_ outputs: [ToolCallOutput]) -> [ToolCallOutput] {
        var result: [ToolCallOutput] = []
        for output in outputs {
            if case .content(let text) = output, case .content(let previous)? = result.last {
                result[result.count - 1] = .content(previous + text)
            } else {
                result.append(output)
            }
        }
        return result
    }

    /// Two calls as Qwen 2.5's template teaches the model to write them (its
    /// system prompt's example: each call on its own lines between the tags).
    static let qwenTwoCalls = """
        <tool_call>
        {"name": "get_weather", "arguments": {"city": "Paris"}}
        </tool_call>
        <tool_call>
        {"name": "get_weather", "arguments": {"city": "Lyon", "unit": "celsius"}}
        </tool_call>
        """

    @Test("Hermes: several calls, whitespace between them dropped")
    func hermesSeveralCalls() {
        #expect(parse(TaggedToolCallParser(), Self.qwenTwoCalls) == [
            .call(name: "get_weather", arguments: #"{"city":"Paris"}"#),
            .call(name: "get_weather", arguments: #"{"city":"Lyon","unit":"celsius"}"#),
        ])
    }

    @Test("Hermes: text before and after a call stays text")
    func hermesTextAround() {
        let output = "Let me check.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\nDone."
        #expect(parse(TaggedToolCallParser(), output) == [
            .content("Let me check.\n"), .call(name: "f", arguments: "{}"), .content("\nDone."),
        ])
    }

    @Test("Hermes: malformed JSON inside the tags is given back as text")
    func hermesMalformed() {
        for inside in [#"{"name": "f", "arguments": {"a": 1}"#, #"{"arguments": {}}"#, "not json", #"{"name": "f", "arguments": 5}"#] {
            let output = "<tool_call>" + inside + "</tool_call>"
            #expect(parse(TaggedToolCallParser(), output) == [.content(output)], "\(inside)")
        }
    }

    @Test("Hermes: a call without its closing tag counts when its JSON is whole")
    func hermesUnclosed() {
        #expect(parse(TaggedToolCallParser(), "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": [1, 2]}}\n")
            == [.call(name: "f", arguments: #"{"x":[1,2]}"#)])
        #expect(parse(TaggedToolCallParser(), "<tool_call>\n{\"name\": \"f\"") == [.content("<tool_call>\n{\"name\": \"f\"")])
    }

    @Test("Hermes: a stream split at every character boundary gives what the whole output gives")
    func hermesEveryBoundary() {
        let output = "Sure — checking.\n" + Self.qwenTwoCalls + "\nAll done <tool_"
        let whole = parse(TaggedToolCallParser(), output)
        #expect(whole.count == 4)
        for offset in 0...output.unicodeScalars.count {
            #expect(parseSplit(TaggedToolCallParser(), output, at: offset) == whole, "split at \(offset)")
        }
    }

    @Test("Hermes: a call with non-ASCII arguments fed one character at a time, the closing tag searched once per piece")
    func hermesCharacterByCharacter() {
        let output = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"city\": \"Zürich — 東京 🇨🇭\"}}\n</tool_call>"
        var parser = TaggedToolCallParser()
        var outputs: [ToolCallOutput] = []
        for character in output.unicodeScalars { outputs += parser.feed(String(character)) }
        outputs += parser.finish()
        #expect(outputs == [.call(name: "f", arguments: #"{"city":"Zürich — 東京 🇨🇭"}"#)])
    }

    @Test("Hermes: text that might start a tag is held back only until it cannot")
    func hermesHoldsBack() {
        var parser = TaggedToolCallParser()
        #expect(parser.feed("Hello <tool") == [.content("Hello ")])
        #expect(parser.feed("box>") == [.content("<toolbox>")])
        #expect(parser.feed("<tool_call>{\"name\":\"f\",") == [])
        #expect(parser.feed("\"arguments\":{}}</tool_call>") == [.call(name: "f", arguments: "{}")])
    }

    @Test("Llama 3.x: a bare JSON object with parameters, with or without the python tag")
    func llamaJSON() {
        #expect(parse(LlamaToolCallParser(), #"{"name": "get_weather", "parameters": {"city": "Paris"}}"#)
            == [.call(name: "get_weather", arguments: #"{"city":"Paris"}"#)])
        #expect(parse(LlamaToolCallParser(), #"<|python_tag|>{"name": "a", "parameters": {}}; {"name": "b", "parameters": {"x": 1}}"#)
            == [.call(name: "a", arguments: "{}"), .call(name: "b", arguments: #"{"x":1}"#)])
        #expect(parse(LlamaToolCallParser(), "The weather is fine.") == [.content("The weather is fine.")])
        #expect(parse(LlamaToolCallParser(), #"{"name": "a", "parameters": "#) == [.content(#"{"name": "a", "parameters": "#)])
        let output = #"  {"name": "f", "parameters": {"q": "x"}}"#
        for offset in 0...output.unicodeScalars.count {
            #expect(parseSplit(LlamaToolCallParser(), output, at: offset) == [.call(name: "f", arguments: #"{"q":"x"}"#)])
        }
        var streaming = LlamaToolCallParser()
        #expect(streaming.feed("Hi") == [.content("Hi")], "text streams as it comes")
    }

    @Test("Mistral: [TOOL_CALLS] and a JSON array")
    func mistral() {
        let output = #"[TOOL_CALLS][{"name": "f", "arguments": {"a": 1}, "id": "abc123def"}, {"name": "g", "arguments": {}}]"#
        #expect(parse(MistralToolCallParser(), output) == [.call(name: "f", arguments: #"{"a":1}"#), .call(name: "g", arguments: "{}")])
        for offset in 0...output.unicodeScalars.count {
            #expect(parseSplit(MistralToolCallParser(), "Ok. " + output, at: offset) == parse(MistralToolCallParser(), "Ok. " + output))
        }
        #expect(parse(MistralToolCallParser(), "[TOOL_CALLS][{\"name\": 3}]") == [.content("[TOOL_CALLS][{\"name\": 3}]")])
    }

    @Test("the format is chosen by the template")
    func formatOfTemplate() throws {
        let qwen = try ChatTemplate(jinja: ChatTemplateFixture.source("Qwen-Qwen2.5-7B-Instruct"))
        let llama = try ChatTemplate(jinja: ChatTemplateFixture.source("meta-llama-Llama-3.1-8B-Instruct"))
        let mistral = try ChatTemplate(jinja: ChatTemplateFixture.source("mistralai-Mistral-Nemo-Instruct-2407"))
        let smol = try ChatTemplate(jinja: ChatTemplateFixture.source("HuggingFaceTB-SmolLM2-135M-Instruct"))
        #expect(qwen.toolSupport == ToolTemplateSupport(format: .hermes, rendersTools: true, rendersToolCalls: true))
        #expect(llama.toolSupport.format == .llamaJSON && llama.toolSupport.rendersTools)
        #expect(mistral.toolSupport.format == .mistral && mistral.toolSupport.rendersToolCalls)
        #expect(smol.toolSupport == ToolTemplateSupport(format: .hermes, rendersTools: false, rendersToolCalls: false))
        #expect(ChatTemplate.chatML.toolSupport == .none)
    }

    @Test("with parallel calls off only the first call is kept")
    func parallelOff() {
        var stream = ToolCallStream(parser: TaggedToolCallParser(), parallel: false) { "call_1" }
        let events = stream.feed(Self.qwenTwoCalls) + stream.finish()
        #expect(events == [.call(ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#), index: 0)])
    }
}

/// Markers a vocabulary holds as control tokens, which generated text leaves out.
@Suite("Tool calls: control-token markers")
struct ToolCallMarkerTests {
    /// A vocabulary with Mistral's `[TOOL_CALLS]` (id 3) and Llama's `<|python_tag|>` (id 4) as control tokens.
    private func tokenizer() throws -> Tokenizer {
        var tokens = ["<unk>", "<s>", "</s>", "[TOOL_CALLS]", "<|python_tag|>"]
        var types: [TokenType] = [.unknown, .control, .control, .control, .control]
        for byte in 0..<256 {
            tokens.append("<0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ">")
            types.append(.byte)
        }
        return try Tokenizer(TokenizerVocabulary(model: .sentencePiece, tokens: tokens, tokenTypes: types))
    }

    private func step(_ token: Int, _ text: String) -> SequenceGenerator.Step {
        SequenceGenerator.Step(token: SampledToken(token: token, logprob: 0, topLogprobs: []), text: text, finishReason: nil)
    }

    @Test("a marker sampled as a control token reaches the parser as its text; other control tokens do not")
    func controlMarkers() throws {
        let tokenizer = try tokenizer()
        let mistral = ResponseContext(id: "x", created: 0, model: "m", promptTokens: 1, tokenizer: tokenizer, toolCallFormat: .mistral)
        #expect(mistral.toolCallText(step(3, "")) == "[TOOL_CALLS]")
        #expect(mistral.toolCallText(step(4, "")) == "", "not Mistral's marker")
        #expect(mistral.toolCallText(step(2, "")) == "")
        #expect(mistral.toolCallText(step(100, "a")) == "a")
        let llama = ResponseContext(id: "x", created: 0, model: "m", promptTokens: 1, tokenizer: tokenizer, toolCallFormat: .llamaJSON)
        #expect(llama.toolCallText(step(4, "")) == "<|python_tag|>")
        // The whole path: the marker token, then the array as text.
        let request = try ChatCompletionRequestParser.parse(
            ["messages": [["role": "user", "content": "x"]], "tools": [["type": "function", "function": ["name": "f"]]]])
        let made = mistral.toolCallStream(for: request) { "abcdefghi" }
        var stream = try #require(made)
        let events = stream.feed(mistral.toolCallText(step(3, ""))) + stream.feed(#"[{"name": "f", "arguments": {}}]"#) + stream.finish()
        #expect(events == [.call(ToolCall(id: "abcdefghi", name: "f", arguments: "{}"), index: 0)])
    }
}
