import Foundation
import Testing

@testable import Backend

/// `response_format` in chat and text completion requests: read into the
/// grammar the sampler enforces, or refused with `param: "response_format"`.
@Suite("Backend API response_format")
struct ServerResponseFormatTests {
    private func chat(_ format: String) throws -> GenerationRequest {
        let body = #"{"messages":[{"role":"user","content":"x"}],"response_format":\#(format)}"#
        return try ChatCompletionRequestParser.parse(try #require(JSONValue.parse(Data(body.utf8))?.objectValue))
    }

    @Test("json_object and json_schema become the generation's constraint")
    func accepted() throws {
        #expect(try chat(#"{"type":"text"}"#).constraint == nil)
        let object = try #require(try chat(#"{"type":"json_object"}"#).options(roomLeft: 10).constraint)
        #expect(grammarAccepts(object.grammar, #"{"a":1}"#) && !grammarAccepts(object.grammar, "[1]"))
        let strict = try #require(
            try chat(#"{"type":"json_schema","json_schema":{"name":"p","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}}"#)
                .options(roomLeft: 10).constraint)
        #expect(grammarAccepts(strict.grammar, #"{"a":1}"#) && !grammarAccepts(strict.grammar, #"{"a":1,"b":2}"#))
        let completion = try TextCompletionRequestParser.parse(
            try #require(JSONValue.parse(Data(#"{"prompt":"x","response_format":{"type":"json_object"}}"#.utf8))?.objectValue))
        #expect(completion.constraint != nil)
    }

    @Test("the Responses API's text.format constrains the output as response_format does")
    func responsesTextFormat() throws {
        func request(_ format: String) throws -> GenerationRequest {
            try ResponsesAPI.request(from: try #require(JSONValue.parse(Data(#"{"model":"m","input":"x","text":{"format":\#(format)}}"#.utf8))?.objectValue))
        }
        #expect(try request(#"{"type":"text"}"#).constraint == nil)
        let object = try #require(try request(#"{"type":"json_object"}"#).options(roomLeft: 10).constraint)
        #expect(grammarAccepts(object.grammar, #"{"a":1}"#) && !grammarAccepts(object.grammar, "[1]"))
        let strict = try request(#"{"type":"json_schema","name":"p","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}"#)
        let grammar = try #require(strict.options(roomLeft: 10).constraint).grammar
        #expect(grammarAccepts(grammar, #"{"a":1}"#) && !grammarAccepts(grammar, #"{"a":1,"b":2}"#))
        #expect(strict.echo["text"]?.objectValue?["format"]?.objectValue?["name"] == .string("p"))
    }

    @Test(
        "unenforceable or malformed formats are a 400 on response_format naming the problem",
        arguments: [
            (#"{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"string","pattern":"a+"}}}"#, "pattern"),
            (##"{"type":"json_schema","json_schema":{"name":"p","schema":{"$defs":{"n":{"type":"array","items":{"$ref":"#/$defs/n"}}},"$ref":"#/$defs/n"}}}"##, "recursive"),
            (#"{"type":"json_schema","json_schema":{"name":"p"}}"#, "schema"),
            (#"{"type":"json_schema","json_schema":{"name":"p","schema":{},"strict":"yes"}}"#, "strict"),
            (#"{"type":"yaml"}"#, "yaml"),
        ])
    func refused(format: String, mention: String) throws {
        do {
            _ = try chat(format)
            Issue.record("accepted \(format)")
        } catch let error as APIError {
            #expect(error.status == .badRequest && error.parameter == "response_format")
            #expect(error.message.contains(mention), "\(error.message)")
        }
    }
}
