import Foundation
import Testing

@testable import Backend

/// `POST /v1/embeddings` bodies: every input shape OpenAI allows, and clear
/// 400s for the rest.
@Suite struct EmbeddingsRequestTests {
    static func parse(_ json: String) throws(APIError) -> EmbeddingsRequest {
        guard let members = JSONValue.parse(Data(json.utf8))?.objectValue else { throw .invalid("test body") }
        return try EmbeddingsRequest(members: members)
    }

    @Test func everyInputShapeIsRead() throws {
        #expect(try Self.parse(#"{"input": "hi"}"#).input == .texts(["hi"]))
        #expect(try Self.parse(#"{"input": ["a", "b"]}"#).input == .texts(["a", "b"]))
        #expect(try Self.parse(#"{"input": [1, 2, 3]}"#).input == .tokens([[1, 2, 3]]))
        #expect(try Self.parse(#"{"input": [[1, 2], [3]]}"#).input == .tokens([[1, 2], [3]]))
        let request = try Self.parse(#"{"input": "hi", "encoding_format": "base64", "dimensions": 384}"#)
        #expect(request.encodingFormat == .base64 && request.dimensions == 384)
        #expect(try Self.parse(#"{"input": "hi"}"#).encodingFormat == .float)
    }

    @Test(arguments: [
        #"{}"#, #"{"input": ""}"#, #"{"input": []}"#, #"{"input": [""]}"#, #"{"input": [[]]}"#, #"{"input": [1, "a"]}"#,
        #"{"input": ["a", 1]}"#, #"{"input": [-1]}"#, #"{"input": 3}"#, #"{"input": {"a": 1}}"#, #"{"input": [1.5]}"#,
        #"{"input": "a", "encoding_format": "int8"}"#, #"{"input": "a", "dimensions": 0}"#, #"{"input": "a", "dimensions": "x"}"#,
    ])
    func malformedBodiesAreRefusedNamingTheField(json: String) {
        #expect(throws: APIError.self) { try Self.parse(json) }
        do {
            _ = try Self.parse(json)
        } catch {
            #expect(error.status == .badRequest)
            #expect(error.parameter != nil)
        }
    }

    @Test func inputsAreBounded() throws {
        let many = "[" + Array(repeating: #""a""#, count: EmbeddingsRequest.maxInputs + 1).joined(separator: ",") + "]"
        #expect(throws: APIError.self) { try Self.parse(#"{"input": \#(many)}"#) }
        let most = "[" + Array(repeating: #""a""#, count: EmbeddingsRequest.maxInputs).joined(separator: ",") + "]"
        #expect(try Self.parse(#"{"input": \#(most)}"#).input.count == EmbeddingsRequest.maxInputs)
    }

    @Test func base64IsTheLittleEndianFloat32Bytes() throws {
        let vector: [Float] = [1, -0.5, 0.25, 3.0e-5]
        guard case .string(let text) = EmbeddingsAPI.encoded(vector, as: .base64) else {
            Issue.record("base64 is not a string")
            return
        }
        let bytes = try #require(Data(base64Encoded: text))
        #expect(bytes.count == 16)
        let decoded = stride(from: 0, to: 16, by: 4).map { offset in
            Float(bitPattern: bytes[offset..<offset + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
        }
        #expect(decoded == vector)
        #expect(EmbeddingsAPI.encoded([0.5], as: .float) == .array([.number(0.5)]))
    }

    @Test func inputsOverTheContextOrOutsideTheVocabularyAreRefused() throws {
        let tokenizer = try VocabularyFixture.tokenizer("bert-bge")
        let tokens = try EmbeddingsAPI.tokens(of: .texts(["hello world"]), tokenizer: tokenizer, contextLength: 4)
        #expect(tokens.count == 1 && tokens[0].count == 4)
        #expect(throws: APIError.self) { try EmbeddingsAPI.tokens(of: .texts(["hello big world"]), tokenizer: tokenizer, contextLength: 4) }
        #expect(throws: APIError.self) {
            try EmbeddingsAPI.tokens(of: .tokens([[101, tokenizer.vocabularySize]]), tokenizer: tokenizer, contextLength: 8)
        }
    }
}
