import Foundation
import OpenAIWire
import Testing

@testable import Backend

/// Each API type fed request JSON and generation events, without a socket:
/// the bytes it renders, streaming and not.
@Suite("Backend API types: requests in, rendered answers out")
struct ServerAPIRenderingTests {
    let tokenizer: Tokenizer

    init() throws {
        tokenizer = try VocabularyFixture.tokenizer("qwen2")
    }

    private func request<API: GenerationAPI>(_ api: API.Type, _ json: String) throws -> GenerationRequest {
        try api.request(from: #require(JSONValue.parse(Data(json.utf8))?.objectValue))
    }

    /// Renders the answer `api` gives `json` when the model writes `pieces`, one step each.
    private func render<API: GenerationAPI>(_ api: API.Type, _ json: String, pieces: [String], format: ToolCallFormat = .hermes) throws -> String {
        let request = try request(api, json)
        let context = ResponseContext(id: "id-1", created: 7, model: "m", promptTokens: 5, tokenizer: tokenizer, toolCallFormat: format)
        var responder = api.responder(for: request, context: context)
        var output = request.stream ? responder.start() : ""
        for piece in pieces {
            output += responder.step(SequenceGenerator.Step(token: SampledToken(token: 1, logprob: 0, topLogprobs: []), text: piece, finishReason: nil))
        }
        return output + responder.finish(
            GenerationSummary(promptTokens: 5, cachedPromptTokens: 0, completionTokens: pieces.count, finishReason: .endOfGeneration, stopSequence: nil))
    }

    /// The JSON of each `data:` line of an event stream (not `[DONE]`).
    private func events(_ stream: String) throws -> [JSONValue] {
        try stream.components(separatedBy: "\n").filter { $0.hasPrefix("data: {") }.map {
            try #require(JSONValue.parse(Data($0.dropFirst("data: ".count).utf8)))
        }
    }

    /// Two calls of `get_weather` as Qwen 2.5 writes them, cut into pieces mid-tag and mid-JSON.
    static let pieces = [
        "Let me look.", "\n<tool", "_call>\n{\"name\": \"get_", "weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
        "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}}\n</tool_call>",
    ]
    static let tools = #"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},{"type":"function","function":{"name":"get_time"}}]"#

    @Test("chat, not streaming: calls in message.tool_calls, finish_reason tool_calls")
    func chatToolCalls() throws {
        let body = try #require(JSONValue.parse(Data(render(ChatCompletionsAPI.self, #"{"model":"m","messages":[{"role":"user","content":"Weather?"}],"tools":\#(Self.tools)}"#, pieces: Self.pieces).utf8)))
        let choice = try #require(body.objectValue?["choices"].flatMap { if case .array(let c) = $0 { c.first } else { nil } }?.objectValue)
        #expect(choice["finish_reason"] == "tool_calls")
        let message = try #require(choice["message"]?.objectValue)
        #expect(message["content"] == "Let me look.\n")
        guard case .array(let calls)? = message["tool_calls"] else { Issue.record("no tool_calls"); return }
        #expect(calls.count == 2)
        let first = try #require(calls.first?.objectValue)
        #expect(first["type"] == "function")
        #expect(first["function"] == ["name": "get_weather", "arguments": #"{"city":"Paris"}"#])
        if case .string(let id)? = first["id"] { #expect(id.hasPrefix("call_") && id.count == 29) } else { Issue.record("no id") }
    }

    @Test("chat, streaming: text as content, then each call as an id/name chunk and an arguments chunk")
    func chatToolCallStream() throws {
        let stream = try render(
            ChatCompletionsAPI.self, #"{"model":"m","stream":true,"messages":[{"role":"user","content":"Weather?"}],"tools":\#(Self.tools)}"#,
            pieces: Self.pieces)
        #expect(stream.hasSuffix("data: [DONE]\n\n"))
        let deltas = try events(stream).map { event -> JSONValue in
            guard case .array(let choices)? = event.objectValue?["choices"], let choice = choices.first?.objectValue else { return .null }
            return choice["delta"] ?? .null
        }
        /// The id a tool_calls delta carries.
        func id(_ delta: JSONValue) -> JSONValue {
            guard case .array(let calls)? = delta.objectValue?["tool_calls"] else { return .null }
            return calls.first?.objectValue?["id"] ?? .null
        }
        let firstID = id(deltas[3])
        let secondID = id(deltas[5])
        #expect(firstID != .null && secondID != .null && firstID != secondID)
        let expected: [JSONValue] = [
            ["role": "assistant", "content": ""],
            ["content": "Let me look."],
            ["content": "\n"],
            ["tool_calls": [["index": 0, "id": firstID, "type": "function", "function": ["name": "get_weather", "arguments": ""]]]],
            ["tool_calls": [["index": 0, "function": ["arguments": #"{"city":"Paris"}"#]]]],
            ["tool_calls": [["index": 1, "id": secondID, "type": "function", "function": ["name": "get_weather", "arguments": ""]]]],
            ["tool_calls": [["index": 1, "function": ["arguments": #"{"city":"Lyon"}"#]]]],
            [:],
        ]
        #expect(deltas == expected)
        let last = try #require(try events(stream).last?.objectValue?["choices"])
        #expect(last == [["index": 0, "delta": [:], "logprobs": .null, "finish_reason": "tool_calls"]])
    }

    @Test("chat: with tool_choice none, or no tools, the output is text as it stands")
    func chatWithoutParsing() throws {
        for json in [
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":\#(Self.tools),"tool_choice":"none"}"#,
            #"{"model":"m","messages":[{"role":"user","content":"x"}]}"#,
        ] {
            let body = try #require(JSONValue.parse(Data(render(ChatCompletionsAPI.self, json, pieces: Self.pieces).utf8)))
            guard case .array(let choices)? = body.objectValue?["choices"], let choice = choices.first?.objectValue else { Issue.record("no choice"); continue }
            #expect(choice["finish_reason"] == "stop")
            #expect(choice["message"] == ["role": "assistant", "content": .string(Self.pieces.joined())])
        }
    }

    @Test("chat, streaming without tools: the bytes are unchanged")
    func chatPlainBytes() throws {
        let stream = try render(ChatCompletionsAPI.self, #"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#, pieces: ["Hi", ""])
        let chunk = #"{"choices":[{"delta":DELTA,"finish_reason":REASON,"index":0,"logprobs":null}],"created":7,"id":"id-1","model":"m","object":"chat.completion.chunk","system_fingerprint":"lmgate"}"#
        func line(_ delta: String, _ reason: String = "null") -> String {
            "data: " + chunk.replacingOccurrences(of: "DELTA", with: delta).replacingOccurrences(of: "REASON", with: reason) + "\n\n"
        }
        #expect(stream == line(#"{"content":"","role":"assistant"}"#) + line(#"{"content":"Hi"}"#) + line("{}", #""stop""#) + "data: [DONE]\n\n")
    }

    @Test("Anthropic, not streaming: text then tool_use blocks, stop_reason tool_use")
    func anthropicToolUse() throws {
        let json = #"{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"Weather?"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}"#
        let body = try #require(JSONValue.parse(Data(render(AnthropicMessagesAPI.self, json, pieces: Self.pieces).utf8))?.objectValue)
        #expect(body["stop_reason"] == "tool_use")
        guard case .array(let blocks)? = body["content"] else { Issue.record("no content"); return }
        #expect(blocks.count == 3)
        #expect(blocks[0] == ["type": "text", "text": "Let me look.\n"])
        let use = try #require(blocks[1].objectValue)
        #expect(use["type"] == "tool_use" && use["name"] == "get_weather" && use["input"] == ["city": "Paris"])
        if case .string(let id)? = use["id"] { #expect(id.hasPrefix("toolu_")) } else { Issue.record("no id") }
    }

    @Test("Anthropic, streaming: a tool_use block with its input as one input_json_delta")
    func anthropicToolUseStream() throws {
        let json = #"{"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Weather?"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}"#
        let stream = try render(AnthropicMessagesAPI.self, json, pieces: Self.pieces)
        let names = stream.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(names == [
            "message_start", "ping",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        ])
        let data = try events(stream)
        let start = try #require(data[6].objectValue?["content_block"]?.objectValue)
        #expect(start["type"] == "tool_use" && start["name"] == "get_weather" && start["input"] == [:])
        #expect(data[7].objectValue?["delta"] == ["type": "input_json_delta", "partial_json": #"{"city":"Paris"}"#])
        #expect(data[7].objectValue?["index"] == 1)
        #expect(data[12].objectValue?["delta"]?.objectValue?["stop_reason"] == "tool_use")
    }

    @Test("Anthropic, streaming without tools: the text block opens at once, as before")
    func anthropicPlainStream() throws {
        let json = #"{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}"#
        let stream = try render(AnthropicMessagesAPI.self, json, pieces: ["Hi"])
        let names = stream.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(names == ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "message_delta", "message_stop"])
        #expect(stream.contains(#"data: {"content_block":{"text":"","type":"text"},"index":0,"type":"content_block_start"}"#))
    }

    @Test("the error body is OpenAIWire's, member order and all, for the backend and the proxy")
    func errorBody() {
        let body = OpenAIErrorBody(message: "bad \"x\"\n", type: "invalid_request_error", param: "tools", code: nil)
        #expect(body.json == #"{"error":{"message":"bad \"x\"\n","type":"invalid_request_error","param":"tools","code":null}}"#)
        #expect(body.jsonWithTypeMember == #"{"error":{"message":"bad \"x\"\n","type":"invalid_request_error","param":"tools","code":null},"type":"error"}"#)
        let error = APIError.invalid("bad \"x\"\n", parameter: "tools")
        #expect(error.serializedBody == body.jsonWithTypeMember)
        #expect(OpenAIErrorBody.quoted("\u{1}é") == "\"\\u0001é\"")
    }

    @Test("routes are decided from the method and path alone")
    func routes() {
        #expect(BackendRoute(method: .GET, path: "/health") == .health)
        #expect(BackendRoute(method: .GET, path: "/v1/models/abc") == .models)
        #expect(BackendRoute(method: .POST, path: "/v1/chat/completions") == .generation(.chatCompletions))
        #expect(BackendRoute(method: .POST, path: "/v1/embeddings") == .embeddings)
        #expect(BackendRoute(method: .GET, path: "/v1/embeddings") == .methodNotAllowed)
        #expect(BackendRoute(method: .POST, path: "/v1/messages/count_tokens") == .countTokens)
        #expect(BackendRoute(method: .GET, path: "/v1/messages") == .methodNotAllowed)
        #expect(BackendRoute(method: .POST, path: "/v1/nothing") == .notFound)
        #expect(BackendRoute.path(of: "/v1/models?x=1") == "/v1/models")
    }
}

/// The Responses API type: input items in, a response object or its events out.
@Suite("Backend API types: the Responses API")
struct ServerResponsesRenderingTests {
    let tokenizer: Tokenizer

    init() throws {
        tokenizer = try VocabularyFixture.tokenizer("qwen2")
    }

    private func object(_ json: String) throws -> [String: JSONValue] {
        try #require(JSONValue.parse(Data(json.utf8))?.objectValue)
    }

    private func render(_ json: String, pieces: [String], finish: GenerationResult.FinishReason = .endOfGeneration) throws -> String {
        let request = try ResponsesAPI.request(from: object(json))
        let context = ResponseContext(id: "resp_1", created: 7, model: "m", promptTokens: 5, tokenizer: tokenizer)
        var responder = ResponsesAPI.responder(for: request, context: context)
        var output = request.stream ? responder.start() : ""
        for piece in pieces {
            output += responder.step(SequenceGenerator.Step(token: SampledToken(token: 1, logprob: 0, topLogprobs: []), text: piece, finishReason: nil))
        }
        return output + responder.finish(
            GenerationSummary(promptTokens: 5, cachedPromptTokens: 0, completionTokens: pieces.count, finishReason: finish, stopSequence: nil))
    }

    static let tools = #"[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]"#

    @Test("input items become a conversation: instructions, messages, a call and its output")
    func inputItems() throws {
        let request = try ResponsesAPI.request(from: object("""
            {"model":"m","instructions":"Be brief.","tools":\(Self.tools),"tool_choice":{"type":"function","name":"get_weather"},
             "input":[{"role":"user","content":[{"type":"input_text","text":"Weather?"}]},
               {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"},
               {"type":"function_call_output","call_id":"call_1","output":"18 C"}],"max_output_tokens":20}
            """))
        #expect(request.prompt == .chat([
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "Weather?"),
            ChatMessage(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)]),
            ChatMessage(role: "tool", content: "18 C", toolCallID: "call_1"),
        ]))
        #expect(request.toolChoice == .function("get_weather") && request.maxTokens == 20)
        #expect(try ResponsesAPI.request(from: object(#"{"model":"m","input":"Hi"}"#)).prompt == .chat([ChatMessage(role: "user", content: "Hi")]))
    }

    @Test(
        "bad Responses requests are 400s naming the field",
        arguments: [
            (#""input":"x","previous_response_id":"resp_0""#, "previous_response_id"),
            (#""input":[]"#, "input"),
            (#""input":[{"type":"function_call_output","call_id":"call_9","output":"x"}]"#, "input[0].role"),
            (#""input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"d","output":"x"}]"#, "input[1].call_id"),
            (#""input":[{"type":"reasoning","summary":[]}]"#, "input[0].type"),
            (#""input":"x","tools":[{"type":"web_search"}]"#, "tools"),
            (#""input":"x","tools":\#(tools),"tool_choice":{"type":"function","name":"nope"}"#, "tool_choice"),
            (#""input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"string","pattern":"a+"}}}"#, "text.format"),
            (#""input":"x","text":{"format":{"type":"json_schema","name":"n"}}"#, "text.format"),
            (#""input":"x","text":{"format":{"type":"yaml"}}"#, "text.format"),
        ])
    func badRequests(fields: String, parameter: String) throws {
        let body = try object(#"{"model":"m",\#(fields)}"#)
        do {
            _ = try ResponsesAPI.request(from: body)
            Issue.record("accepted: \(fields)")
        } catch {
            #expect(error.status == .badRequest && error.parameter == parameter, "\(error.message)")
        }
    }

    @Test("not streaming: a message item and a function_call item in output")
    func responseObject() throws {
        let body = try #require(JSONValue.parse(Data(render(
            #"{"model":"m","input":"Weather?","tools":\#(Self.tools)}"#,
            pieces: ["Checking.", "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}</tool_call>"]).utf8))?.objectValue)
        #expect(body["object"] == "response" && body["status"] == "completed" && body["id"] == "resp_1")
        guard case .array(let output)? = body["output"], output.count == 2 else { Issue.record("output: \(String(describing: body["output"]))"); return }
        #expect(output[0].objectValue?["content"] == [["type": "output_text", "text": "Checking.", "annotations": []]])
        let call = try #require(output[1].objectValue)
        #expect(call["type"] == "function_call" && call["name"] == "get_weather" && call["arguments"] == #"{"city":"Paris"}"#)
        #expect(body["usage"]?.objectValue?["total_tokens"] == 7)
    }

    @Test("streaming: created, items added, text and argument deltas, items done, completed, numbered in order")
    func responseEvents() throws {
        let stream = try render(
            #"{"model":"m","stream":true,"input":"Weather?","tools":\#(Self.tools)}"#,
            pieces: ["Check", "ing.", "<tool_call>{\"name\":\"get_weather\",\"arguments\":{}}</tool_call>"])
        let names = stream.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(names == [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done",
            "response.output_item.done", "response.completed",
        ])
        let numbers = stream.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.compactMap {
            JSONValue.parse(Data($0.dropFirst(6).utf8))?.objectValue?["sequence_number"]
        }
        #expect(numbers == (0..<14).map { JSONValue.integer($0) })
    }

    @Test("cut by max_output_tokens: status incomplete, response.incomplete")
    func incomplete() throws {
        let stream = try render(#"{"model":"m","stream":true,"input":"Hi","max_output_tokens":1}"#, pieces: ["Hel"], finish: .length)
        #expect(stream.contains("event: response.incomplete\n") && stream.contains(#""incomplete_details":{"reason":"max_output_tokens"}"#))
    }
}
