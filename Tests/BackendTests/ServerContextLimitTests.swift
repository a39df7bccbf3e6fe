import Foundation
import Testing

@testable import Backend

/// A request whose prompt and asked-for completion together pass the
/// model's context (its training length) is refused with a 400 naming both
/// numbers, on every generation API, rather than cut short in silence.
@Suite("Backend context limit")
struct ServerContextLimitTests {
    @Test func promptPlusMaxTokensBeyondTheContextIs400() async throws {
        try await BackendUnderTest.run(model: "tiny-qwen2-f16") { backend in
            func post(_ path: String, _ body: String) async throws -> RawHTTPResponse {
                try await backend.exchange(
                    "POST \(path) HTTP/1.1",
                    ["Host: 127.0.0.1", "Content-Type: application/json"], body: body)
            }
            // "Hello world" is 2 tokens; the fixture's context is 512.
            let refused = try await post("/v1/completions", #"{"model":"tiny-qwen2-f16","prompt":"Hello world","max_tokens":511}"#)
            #expect(refused.status == 400)
            #expect(refused.errorCode == "context_length_exceeded")
            #expect(refused.body.contains("512") && refused.body.contains("513") && refused.body.contains("511"))

            let chat = try await post("/v1/chat/completions", #"{"model":"tiny-qwen2-f16","max_completion_tokens":600,"messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(chat.status == 400 && chat.errorCode == "context_length_exceeded")

            let anthropic = try await post("/v1/messages", #"{"model":"tiny-qwen2-f16","max_tokens":1024,"messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(anthropic.status == 400 && anthropic.body.contains("context"))

            // Exactly filling the context is allowed: a prompt of 508 token
            // ids and 4 more to generate (a long prompt is one batched pass;
            // 510 generated tokens took most of this suite's time).
            let prompt = Array(repeating: "100", count: 508).joined(separator: ",")
            let fits = try await post("/v1/completions", #"{"model":"tiny-qwen2-f16","prompt":[\#(prompt)],"max_tokens":4,"temperature":0}"#)
            #expect(fits.status == 200)
        }
    }
}
