import Foundation
import Testing

@testable import Backend

/// `tool_choice: required` and named functions, enforced by the grammar: on
/// the demo model (random weights, which never call a tool on their own) the
/// output is still a valid call, in each call format.
@Suite("Tool calls: forced calls", .serialized)
struct ForcedToolCallTests {
    static let weather = ToolDefinition(
        name: "get_weather",
        parameters: try! schema(
            #"{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"]}"#))
    static let time = ToolDefinition(
        name: "get_time",
        parameters: try! schema(
            ##"{"$defs":{"zone":{"enum":["UTC","CET","PST"]}},"type":"object","properties":{"zone":{"$ref":"#/$defs/zone"}},"required":["zone"]}"##))

    /// The call the demo model makes under `forced`, through the prompt, the
    /// grammar and the format's parser as the server runs them.
    private func forcedCalls(
        _ forced: ToolCallConstraint, template: ChatTemplate, format: ToolCallFormat, seed: UInt64, maxTokens: Int = 300
    ) throws -> (calls: [ToolCall], text: String, finish: GenerationResult.FinishReason) {
        let generator = try TextGenerator(path: try DemoModel.require(), threads: 2)
        let call = try ForcedToolCall(forced, format: format)
        let prompt = try ModelService.tokens(
            ofChat: [ChatMessage(role: "user", content: "What is the weather in Paris?")], tools: forced.tools, template: template,
            tokenizer: generator.tokenizer, prefill: call.prefill)
        var sampling = SamplingParameters()
        sampling.temperature = seed == 0 ? 0 : 1
        sampling.seed = seed
        let result = try generator.generate(
            promptTokens: prompt, options: GenerationOptions(maxTokens: maxTokens, sampling: sampling, constraint: call.constraint))
        var stream = ToolCallStream(
            parser: format.makeParser(), parallel: forced.parallel, opening: call.prefill, makeID: { "call_1" })
        var calls: [ToolCall] = []
        var text = ""
        for event in stream.feed(result.text) + stream.finish() {
            switch event {
            case .call(let call, _): calls.append(call)
            case .content(let content): text += content
            }
        }
        return (calls, text, result.finishReason)
    }

    /// Whether `call` is a call of one of `tools` whose arguments its schema
    /// accepts, checked twice: by the grammar compiled from the schema alone,
    /// and by parsing the arguments as a JSON object with the required keys.
    private func isValid(_ call: ToolCall, of tools: [ToolDefinition]) throws -> Bool {
        guard let tool = tools.first(where: { $0.name == call.name }) else { return false }
        let grammar = try JSONGrammar.compile(schema: tool.parameters, strict: false)
        guard grammarAccepts(grammar, call.arguments) else { return false }
        guard let object = try JSONSerialization.jsonObject(with: Data(call.arguments.utf8)) as? [String: Any] else { return false }
        let required = tool.parameters.objectValue?["required"]
        guard case .array(let names)? = required else { return true }
        return names.allSatisfy { name in
            guard case .string(let key) = name else { return false }
            return object[key] != nil
        }
    }

    @Test("required: the demo model's ChatML template (Hermes convention) gives one valid call", arguments: [0, 1, 2] as [UInt64])
    func hermesRequired(seed: UInt64) throws {
        let tools = [Self.weather, Self.time]
        let (calls, text, finish) = try forcedCalls(
            ToolCallConstraint(tools: tools, parallel: true), template: .chatML, format: .hermes, seed: seed)
        #expect(finish == .endOfGeneration)
        #expect(text.isEmpty, "\(text)")
        #expect(calls.count == 1)
        for call in calls { #expect(try isValid(call, of: tools), "\(call)") }
    }

    @Test("a forced call cut short by the token limit is the text written, not a call")
    func cutShort() throws {
        let (calls, text, finish) = try forcedCalls(
            ToolCallConstraint(tools: [Self.weather], parallel: false), template: .chatML, format: .hermes, seed: 0, maxTokens: 3)
        #expect(finish == .length && calls.isEmpty)
        #expect(text.hasPrefix("<tool_call>\n") && !text.contains("</tool_call>"), "\(text)")
    }

    @Test("a named function: the call is of that function", arguments: [0, 1] as [UInt64])
    func namedFunction(seed: UInt64) throws {
        let (calls, text, _) = try forcedCalls(
            ToolCallConstraint(tools: [Self.time], parallel: false), template: .chatML, format: .hermes, seed: seed)
        #expect(text.isEmpty, "\(text)")
        #expect(calls.map(\.name) == ["get_time"])
        for call in calls { #expect(try isValid(call, of: [Self.time]), "\(call)") }
    }

    @Test("Llama 3.x's template and JSON format give a valid call", arguments: [0, 1] as [UInt64])
    func llamaRequired(seed: UInt64) throws {
        let template = try ChatTemplate(jinja: ChatTemplateFixture.source("meta-llama-Llama-3.2-3B-Instruct"))
        #expect(template.toolSupport.format == .llamaJSON)
        let tools = [Self.weather, Self.time]
        let (calls, text, _) = try forcedCalls(
            ToolCallConstraint(tools: tools, parallel: false), template: template, format: template.toolSupport.format, seed: seed)
        #expect(text.isEmpty, "\(text)")
        #expect(calls.count == 1)
        for call in calls { #expect(try isValid(call, of: tools), "\(call)") }
    }

    @Test("Mistral's format gives valid calls; with parallel calls off, exactly one", arguments: [0, 1] as [UInt64])
    func mistralRequired(seed: UInt64) throws {
        let template = try ChatTemplate(jinja: ChatTemplateFixture.source("mistralai-Mistral-Nemo-Instruct-2407"))
        #expect(template.toolSupport.format == .mistral)
        let tools = [Self.weather, Self.time]
        let (calls, text, _) = try forcedCalls(
            ToolCallConstraint(tools: tools, parallel: false), template: template, format: .mistral, seed: seed)
        #expect(text.isEmpty, "\(text)")
        #expect(calls.count == 1)
        for call in calls { #expect(try isValid(call, of: tools), "\(call)") }
    }

    @Test("the call grammar takes only the allowed calls, in the format's keys")
    func grammarShape() throws {
        let hermes = try ForcedToolCall(ToolCallConstraint(tools: [Self.weather, Self.time], parallel: true), format: .hermes)
        #expect(hermes.prefill == "<tool_call>\n")
        #expect(grammarAccepts(hermes.constraint.grammar, #"{"name":"get_time","arguments":{"zone":"CET"}}"#))
        #expect(!grammarAccepts(hermes.constraint.grammar, #"{"name":"get_time","arguments":{"zone":"XYZ"}}"#))
        #expect(!grammarAccepts(hermes.constraint.grammar, #"{"name":"other","arguments":{}}"#))
        #expect(!grammarAccepts(hermes.constraint.grammar, #"{"name":"get_time"}"#))
        let llama = try ForcedToolCall(ToolCallConstraint(tools: [Self.weather], parallel: true), format: .llamaJSON)
        #expect(grammarAccepts(llama.constraint.grammar, #"{"name":"get_weather","parameters":{"city":"Oslo","days":2}}"#))
        #expect(!grammarAccepts(llama.constraint.grammar, #"{"name":"get_weather","arguments":{"city":"Oslo","days":2}}"#))
        let one = #"{"name":"get_time","arguments":{"zone":"UTC"}}"#
        let parallel = try ForcedToolCall(ToolCallConstraint(tools: [Self.time], parallel: true), format: .mistral)
        #expect(grammarAccepts(parallel.constraint.grammar, "[\(one),\(one)]"))
        let single = try ForcedToolCall(ToolCallConstraint(tools: [Self.time], parallel: false), format: .mistral)
        #expect(grammarAccepts(single.constraint.grammar, "[\(one)]") && !grammarAccepts(single.constraint.grammar, "[\(one),\(one)]"))

        // The tool's own `$ref`s still point at its `$defs` inside the call's schema, even under a property called "const".
        let odd = ToolDefinition(
            name: "odd", parameters: try schema(##"{"$defs":{"z":{"enum":["a"]}},"type":"object","properties":{"const":{"$ref":"#/$defs/z"}},"required":["const"]}"##))
        let both = try ForcedToolCall(ToolCallConstraint(tools: [Self.time, odd], parallel: false), format: .hermes)
        #expect(grammarAccepts(both.constraint.grammar, #"{"name":"odd","arguments":{"const":"a"}}"#))
        #expect(!grammarAccepts(both.constraint.grammar, #"{"name":"odd","arguments":{"const":"b"}}"#))
        #expect(grammarAccepts(both.constraint.grammar, #"{"name":"get_time","arguments":{"zone":"PST"}}"#))
    }

    @Test("a forced call of a tool whose schema cannot be enforced is a 400 on tools naming the tool and the feature")
    func unenforceableSchema() throws {
        let patterned = ToolDefinition(name: "lookup", parameters: try schema(#"{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]+$"}}}"#))
        do {
            _ = try ForcedToolCall(ToolCallConstraint(tools: [Self.weather, patterned], parallel: true), format: .hermes)
            Issue.record("accepted a pattern schema")
        } catch {
            #expect(error.status == .badRequest && error.parameter == "tools")
            #expect(error.message.contains("'lookup'") && error.message.contains("pattern"), "\(error.message)")
        }
        // Under `auto` nothing is forced: the request stands, unconstrained.
        let body = #"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]+$"}}}}}]}"#
        let request = try ChatCompletionsAPI.request(from: try #require(JSONValue.parse(Data(body.utf8))?.objectValue))
        #expect(request.toolCallConstraint == nil && request.constraint == nil)
    }
}
