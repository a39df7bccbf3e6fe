import Foundation
import Loopback
import Testing

@testable import Backend

/// Request bodies of the three APIs, read into ``GenerationRequest`` or refused
/// with the ``APIError`` a client would get.
@Suite("Backend API request parsing")
struct ServerRequestParsingTests {
    private func json(_ text: String) throws -> [String: JSONValue] {
        try #require(JSONValue.parse(Data(text.utf8))?.objectValue)
    }

    private func chatError(_ text: String) throws -> APIError? {
        do {
            _ = try ChatCompletionRequestParser.parse(json(text))
            return nil
        } catch let error as APIError {
            return error
        }
    }

    @Test("a chat request's parameters become sampling parameters")
    func chatParameters() throws {
        let request = try ChatCompletionRequestParser.parse(json("""
            {"model":"m","messages":[{"role":"developer","content":"Be brief."},
              {"role":"user","content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]}],
             "temperature":0.5,"top_p":0.9,"top_k":20,"min_p":0.1,"seed":-1,"stop":"END",
             "max_completion_tokens":7,"presence_penalty":1,"frequency_penalty":-1,
             "logit_bias":{"5":-100,"7":2.5},"logprobs":true,"top_logprobs":3,
             "stream":true,"stream_options":{"include_usage":true},"n":1,"tools":[],"response_format":{"type":"text"}}
            """))
        #expect(request.prompt == .chat([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hello")]))
        #expect(request.sampling.temperature == 0.5 && request.sampling.topP == 0.9 && request.sampling.topK == 20)
        #expect(request.sampling.minP == 0.1 && request.sampling.presencePenalty == 1 && request.sampling.frequencyPenalty == -1)
        #expect(request.sampling.seed == UInt64.max)
        #expect(request.sampling.logitBias == [5: -Float.infinity, 7: 2.5])
        #expect(request.sampling.topLogprobs == 3 && request.logprobs == 3)
        #expect(request.stopSequences == ["END"] && request.maxTokens == 7)
        #expect(request.stream && request.includeUsage && request.model == "m")
        #expect(request.options(roomLeft: 5).maxTokens == 5)
    }

    @Test(
        "bad chat parameters are refused with the field named",
        arguments: [
            (#"{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, "temperature"),
            (#"{"messages":[{"role":"user","content":"x"}],"temperature":2.5}"#, "temperature"),
            (#"{"messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#, "max_tokens"),
            (#"{"messages":[{"role":"user","content":"x"}],"n":3}"#, "n"),
            (#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}"#, "tools"),
            (#"{"messages":[{"role":"user","content":"x"}],"tool_choice":"required"}"#, "tool_choice"),
            (#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}"#, "response_format"),
            (#"{"messages":[{"role":"user","content":"x"}],"logit_bias":{"1":500}}"#, "logit_bias"),
            (#"{"messages":[{"role":"user","content":"x"}],"top_logprobs":2}"#, "top_logprobs"),
            (#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}"#, "messages[0].content"),
            (#"{"messages":[{"role":"tool","content":"x"}]}"#, "messages[0].role"),
            (#"{"messages":"hello"}"#, "messages"),
        ])
    func badChatParameters(body: String, parameter: String) throws {
        let error = try #require(try chatError(body))
        #expect(error.status == .badRequest)
        #expect(error.parameter == parameter)
        #expect(error.type == "invalid_request_error")
    }

    @Test("a completion prompt may be text, token ids or a one-element array of either")
    func completionPrompts() throws {
        #expect(try TextCompletionRequestParser.parse(json(#"{"prompt":"Hi"}"#)).prompt == .text("Hi"))
        #expect(try TextCompletionRequestParser.parse(json(#"{"prompt":[1,2,3]}"#)).prompt == .tokens([1, 2, 3]))
        #expect(try TextCompletionRequestParser.parse(json(#"{"prompt":[[4,5]]}"#)).prompt == .tokens([4, 5]))
        #expect(try TextCompletionRequestParser.parse(json(#"{"prompt":["Yo"]}"#)).prompt == .text("Yo"))
        let request = try TextCompletionRequestParser.parse(json(#"{"prompt":"Hi","logprobs":2}"#))
        #expect(request.logprobs == 2 && request.sampling.topLogprobs == 2)
        #expect(request.maxTokens == TextCompletionRequestParser.defaultMaxTokens)
        for body in [#"{"prompt":["a","b"]}"#, #"{"prompt":[1,-2]}"#, #"{}"#, #"{"prompt":"x","echo":true}"#, #"{"prompt":"x","best_of":2}"#] {
            #expect(throws: APIError.self, "\(body)") { try TextCompletionRequestParser.parse(json(body)) }
        }
    }

    @Test("an Anthropic request puts its system prompt first and needs max_tokens")
    func anthropicRequests() throws {
        let request = try AnthropicMessagesRequestParser.parse(json("""
            {"model":"m","max_tokens":9,"system":[{"type":"text","text":"Sys"}],
             "messages":[{"role":"user","content":"Q"},{"role":"assistant","content":[{"type":"text","text":"A"}]}],
             "stop_sequences":["\\n\\n"],"temperature":1,"top_k":5,"stream":true}
            """))
        #expect(request.prompt == .chat([ChatMessage(role: "system", content: "Sys"), ChatMessage(role: "user", content: "Q"), ChatMessage(role: "assistant", content: "A")]))
        #expect(request.maxTokens == 9 && request.stopSequences == ["\n\n"] && request.sampling.topK == 5 && request.stream)
        for body in [
            #"{"model":"m","messages":[{"role":"user","content":"x"}]}"#,
            #"{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}"#,
            #"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"temperature":1.5}"#,
            #"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t"}]}"#,
            #"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"stop_sequences":"x"}"#,
        ] {
            #expect(throws: APIError.self, "\(body)") { try AnthropicMessagesRequestParser.parse(json(body)) }
        }
    }

    @Test("JSON values keep integers, numbers and booleans apart and serialize back")
    func jsonValues() throws {
        let value = try #require(JSONValue.parse(Data(#"{"a":1,"b":1.5,"c":true,"d":null,"e":["x/y"]}"#.utf8)))
        #expect(value == ["a": 1, "b": 1.5, "c": true, "d": .null, "e": ["x/y"]])
        #expect(value.serialized == #"{"a":1,"b":1.5,"c":true,"d":null,"e":["x/y"]}"#)
        #expect(JSONValue.parse(Data("{".utf8)) == nil)
    }

    @Test("errors have OpenAI's shape")
    func errorShape() {
        let error = APIError.invalid("bad", parameter: "p", code: "c")
        #expect(error.body == ["type": "error", "error": ["message": "bad", "type": "invalid_request_error", "param": "p", "code": "c"]])
    }

    @Test("only loopback addresses count as loopback")
    func loopback() throws {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"] {
            #expect(LoopbackAddress.isLoopback(host: host), "\(host)")
        }
        for host in ["0.0.0.0", "10.0.0.1", "192.168.1.10", "::", "fe80::1", "example.com", "128.0.0.1", "::ffff:10.0.0.1"] {
            #expect(!LoopbackAddress.isLoopback(host: host), "\(host)")
        }
    }
}
