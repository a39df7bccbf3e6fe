import Foundation
import Testing

@testable import Backend

/// Tool definitions, choices, calls and results in requests: read into
/// ``GenerationRequest``, or refused with a 400 naming the field.
@Suite("Backend API: tools in requests")
struct ServerToolRequestTests {
    private func object(_ text: String) throws -> [String: JSONValue] {
        try #require(JSONValue.parse(Data(text.utf8))?.objectValue)
    }

    private func error(_ parse: () throws -> GenerationRequest) -> APIError? {
        do {
            _ = try parse()
            return nil
        } catch let error as APIError {
            return error
        } catch {
            return nil
        }
    }

    static let tool = #"{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}"#
    static let call = #"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}"#

    @Test("a chat round trip: tools, a choice, an assistant's call and its result")
    func chatRoundTrip() throws {
        let request = try ChatCompletionRequestParser.parse(object("""
            {"messages":[{"role":"user","content":"q"},\(Self.call),{"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"42"}]}],
             "tools":[\(Self.tool)],"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false}
            """))
        #expect(request.prompt == .chat([
            ChatMessage(role: "user", content: "q"),
            ChatMessage(role: "assistant", content: "", toolCalls: [ToolCall(id: "c1", name: "f", arguments: #"{"a":1}"#)]),
            ChatMessage(role: "tool", content: "42", toolCallID: "c1"),
        ]))
        #expect(request.tools == [ToolDefinition(name: "f", parameters: ["type": "object"])])
        #expect(request.toolChoice == .function("f") && !request.parallelToolCalls)
        #expect(request.toolCallConstraint == ToolCallConstraint(tools: request.tools, parallel: false))
        let none = try ChatCompletionRequestParser.parse(object(#"{"messages":[{"role":"user","content":"q"}],"tools":[\#(Self.tool)],"tool_choice":"none"}"#))
        #expect(none.templateTools.isEmpty && !none.parsesToolCalls && none.toolCallConstraint == nil)
    }

    @Test(
        "bad tools, choices, calls and results are 400s naming the field",
        arguments: [
            (#""tools":[{"type":"function","function":{"description":"no name"}}]"#, "tools"),
            (#""tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]"#, "tools"),
            (#""tools":[{"type":"function","function":{"name":"bad name!"}}]"#, "tools"),
            (#""tools":[\#(tool),\#(tool)]"#, "tools"),
            (#""tools":[{"type":"code_interpreter"}]"#, "tools"),
            (#""tools":{"a":1}"#, "tools"),
            (#""tools":[\#(tool)],"tool_choice":{"type":"function","function":{"name":"g"}}"#, "tool_choice"),
            (#""tools":[\#(tool)],"tool_choice":"sometimes""#, "tool_choice"),
            (#""tool_choice":{"type":"function","function":{"name":"f"}}"#, "tool_choice"),
        ])
    func badChatTools(fields: String, parameter: String) throws {
        let body = try object(#"{"messages":[{"role":"user","content":"q"}],\#(fields)}"#)
        let error = try #require(error { try ChatCompletionRequestParser.parse(body) })
        #expect(error.status == .badRequest && error.parameter == parameter, "\(error.message)")
    }

    @Test("too many tools is a 400, not a prompt of any size")
    func tooManyTools() throws {
        let tools = (0...ToolDefinition.limit).map { #"{"type":"function","function":{"name":"f\#($0)"}}"# }.joined(separator: ",")
        let body = try object(#"{"messages":[{"role":"user","content":"q"}],"tools":[\#(tools)]}"#)
        #expect(error { try ChatCompletionRequestParser.parse(body) }?.parameter == "tools")
    }

    @Test(
        "tool messages must answer an earlier call",
        arguments: [
            (#"[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"c1","content":"x"}]"#, "messages[1].role"),
            (#"[{"role":"user","content":"q"},\#(call),{"role":"tool","tool_call_id":"c9","content":"x"}]"#, "messages[2].tool_call_id"),
            (#"[{"role":"user","content":"q"},\#(call),{"role":"tool","content":"x"}]"#, "messages[2].tool_call_id"),
            (#"[{"role":"tool","tool_call_id":"c1","content":"x"},\#(call)]"#, "messages[0].role"),
            (#"[{"role":"assistant","tool_calls":[{"id":"c1","function":{}}]}]"#, "messages[0].tool_calls[0]"),
            (#"[{"role":"assistant","tool_calls":"x"}]"#, "messages[0].tool_calls"),
        ])
    func unmatchedResults(messages: String, parameter: String) throws {
        let body = try object(#"{"messages":\#(messages)}"#)
        let error = try #require(error { try ChatCompletionRequestParser.parse(body) })
        #expect(error.status == .badRequest && error.parameter == parameter, "\(error.message)")
    }

    @Test("an Anthropic round trip: tool_use and tool_result blocks become a call and a tool message")
    func anthropicRoundTrip() throws {
        let request = try AnthropicMessagesRequestParser.parse(object("""
            {"model":"m","max_tokens":9,"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "messages":[{"role":"user","content":"q"},
               {"role":"assistant","content":[{"type":"text","text":"Calling."},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42"},{"type":"text","text":"Thanks"}]}]}
            """))
        #expect(request.prompt == .chat([
            ChatMessage(role: "user", content: "q"),
            ChatMessage(role: "assistant", content: "Calling.", toolCalls: [ToolCall(id: "t1", name: "f", arguments: #"{"a":1}"#)]),
            ChatMessage(role: "tool", content: "42", toolCallID: "t1"),
            ChatMessage(role: "user", content: "Thanks"),
        ]))
        #expect(request.tools == [ToolDefinition(name: "f", description: "d", parameters: ["type": "object"])])
        #expect(request.toolChoice == .required && !request.parallelToolCalls)
        let counted = try AnthropicMessagesRequestParser.parse(object(#"{"model":"m","messages":[{"role":"user","content":"q"}]}"#), needsMaxTokens: false)
        #expect(counted.maxTokens == nil)
    }

    @Test(
        "bad Anthropic tools and results are 400s naming the field",
        arguments: [
            (#""tools":[{"name":"f"}]"#, #"[{"role":"user","content":"q"}]"#, "tools"),
            (#""tools":[{"name":"f","input_schema":[]}]"#, #"[{"role":"user","content":"q"}]"#, "tools"),
            (#""tools":[{"name":"f","input_schema":{}},{"name":"f","input_schema":{}}]"#, #"[{"role":"user","content":"q"}]"#, "tools"),
            (#""tools":[{"type":"bash_20250124","name":"bash"}]"#, #"[{"role":"user","content":"q"}]"#, "tools"),
            (#""tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool","name":"g"}"#, #"[{"role":"user","content":"q"}]"#, "tool_choice"),
            (#""tool_choice":{"type":"any"}"#, #"[{"role":"user","content":"q"}]"#, "tool_choice"),
            (#""tools":[]"#, #"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"x"}]}]"#, "messages.0.role"),
            (#""tools":[]"#, #"[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t2"}]}]"#, "messages.1.content"),
            (#""tools":[]"#, #"[{"role":"user","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]}]"#, "messages.0.content.0"),
        ])
    func badAnthropicTools(fields: String, messages: String, parameter: String) throws {
        let body = try object(#"{"model":"m","max_tokens":5,"messages":\#(messages),\#(fields)}"#)
        let error = try #require(error { try AnthropicMessagesRequestParser.parse(body) })
        #expect(error.status == .badRequest && error.parameter == parameter, "\(error.message)")
    }
}

/// Deeply nested JSON in a tool's schema or a call's arguments is refused by
/// the body parser before anything recurses over it.
@Suite("Backend API: nesting in tool JSON")
struct ServerToolNestingTests {
    @Test("a tool schema nested 100,000 deep is a parse failure, not a crash")
    func deepNesting() {
        let depth = 100_000
        let schema = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        let body = #"{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f","parameters":\#(schema)}}]}"#
        #expect(JSONValue.parse(Data(body.utf8)) == nil)
    }

    @Test("a schema as deep as the parser allows renders through the template, or is a 400, never a crash")
    func deepButParsed() throws {
        let depth = 400
        let schema = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        let body = try #require(JSONValue.parse(Data(#"{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f","parameters":\#(schema)}}]}"#.utf8))?.objectValue)
        let request = try ChatCompletionRequestParser.parse(body)
        guard case .chat(let messages) = request.prompt else { Issue.record("not a chat"); return }
        let template = try ChatTemplate(jinja: ChatTemplateFixture.source("Qwen-Qwen2.5-7B-Instruct"))
        do {
            let tokens = try ModelService.tokens(ofChat: messages, tools: request.tools, template: template, tokenizer: VocabularyFixture.tokenizer("qwen2"))
            #expect(tokens.count > depth)
        } catch let error as APIError {
            #expect(error.status == .badRequest)
        }
    }
}
