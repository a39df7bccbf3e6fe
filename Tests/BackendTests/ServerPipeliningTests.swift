import Foundation
import Testing

@testable import Backend

/// Generation requests are parsed, templated and tokenized on the server's
/// thread pool (``PreparedGeneration``), away from the event loop; the
/// answers to pipelined requests still come in the order they were asked.
@Suite("Backend request preparation off the event loop")
struct ServerPipeliningTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await BackendUnderTest.run(model: "tiny-qwen2-f16") { backend in
            func post(_ body: String) -> String {
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            // A long conversation (prepared on the pool), a request refused while being prepared,
            // a short one, then a listing answered on the event loop: all sent before any answer.
            let long = String(repeating: "many words <|im_end|> ", count: 20_000)
            let requests = [
                post(#"{"model":"tiny-qwen2-f16","max_tokens":1,"messages":[{"role":"user","content":"\#(long)"}]}"#),
                post(#"{"model":"tiny-qwen2-f16","temperature":"hot","messages":[{"role":"user","content":"x"}]}"#),
                post(#"{"model":"tiny-qwen2-f16","max_tokens":1,"temperature":0,"messages":[{"role":"user","content":"Hi"}]}"#),
                "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            ]
            let response = try await backend.exchange(Array(requests.joined().utf8))
            // The long one exceeds the 512-token context: 400 after tokenizing, with both numbers.
            #expect(response.statuses == [400, 400, 200, 200])
            #expect(response.body.contains("context_length_exceeded"))
            #expect(response.body.contains("must be a number"))
            #expect(response.body.contains(#""object":"chat.completion""#))
            #expect(response.body.contains(#""object":"list""#))
        }
    }
}
