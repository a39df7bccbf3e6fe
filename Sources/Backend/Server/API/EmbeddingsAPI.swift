import Foundation
import NIOCore
import NIOHTTP1

/// `POST /v1/embeddings` in OpenAI's shape: the request's model is leased
/// (loaded if need be), its inputs tokenized and checked against the
/// context, and computed by the model's ``EmbeddingEngine`` in a batch with
/// other waiting requests.
enum EmbeddingsAPI {
    static let path = "/v1/embeddings"

    /// The answer to a request's `body`.
    static func answer(body: ByteBuffer, host: ModelHost) async -> (HTTPResponseStatus, JSONValue) {
        do {
            let request = try EmbeddingsRequest(members: RequestBody.object(body))
            let lease = try await host.lease(for: request.model)
            defer { lease.release() }
            let service = lease.service
            guard let embedder = service.embedder else {
                throw APIError.invalid(
                    "the model '\(service.id)' generates text and does not produce embeddings; name an embedding model (a bert GGUF, or a decoder GGUF whose metadata names a pooling_type)",
                    parameter: "model", code: "model_not_supported")
            }
            let model = embedder.model
            if let dimensions = request.dimensions, dimensions != model.embeddingLength {
                // Cutting a vector short only works for models trained for it (Matryoshka); a GGUF does not say it was.
                throw APIError.unsupported(
                    "dimensions",
                    "the model '\(service.id)' gives \(model.embeddingLength)-dimensional embeddings and does not allow shortening them; omit 'dimensions' or pass \(model.embeddingLength)")
            }
            let inputs = try tokens(of: request.input, tokenizer: service.tokenizer, contextLength: model.contextLength)
            let vectors = try await embedder.embed(inputs)
            let promptTokens = inputs.reduce(0) { $0 + $1.count }
            let data: [JSONValue] = vectors.enumerated().map { index, vector in
                ["object": "embedding", "index": .integer(index), "embedding": encoded(vector, as: request.encodingFormat)]
            }
            return (.ok, [
                "object": "list", "data": .array(data), "model": .string(service.id),
                "usage": ["prompt_tokens": .integer(promptTokens), "total_tokens": .integer(promptTokens)],
            ])
        } catch let error as APIError {
            return (error.status, error.body)
        } catch let error as InferenceError {
            return (.badRequest, APIError.invalid(error.description, parameter: "input").body)
        } catch let error as SchedulerError {
            // The model was unloaded (the server is stopping) while the request waited.
            return (.serviceUnavailable, APIError(status: .serviceUnavailable, message: error.description, type: "server_error").body)
        } catch {
            return (.internalServerError, APIError(status: .internalServerError, message: "\(error)", type: "server_error").body)
        }
    }

    /// Each input's tokens; a 400 naming the input for one over the context
    /// or with a token outside the vocabulary.
    static func tokens(of input: EmbeddingsRequest.Input, tokenizer: Tokenizer, contextLength: Int) throws(APIError) -> [[Int32]] {
        let lists: [[Int]]
        switch input {
        // Control tokens in the text are honoured, as llama-server's embeddings do: the
        // client writes the whole input (as a raw completion prompt), there is no turn to forge.
        case .texts(let texts): lists = texts.map { tokenizer.encode($0, parseSpecialTokens: true) }
        case .tokens(let given): lists = given
        }
        for (index, list) in lists.enumerated() {
            guard list.count <= contextLength else {
                throw .invalid(
                    "input \(index) has \(list.count) tokens; this model's context is \(contextLength) tokens", parameter: "input",
                    code: "context_length_exceeded")
            }
            if let bad = list.first(where: { $0 >= tokenizer.vocabularySize }) {
                throw .invalid("token id \(bad) in input \(index) is outside the vocabulary of \(tokenizer.vocabularySize) tokens", parameter: "input")
            }
        }
        return lists.map { $0.map(Int32.init) }
    }

    /// A vector as JSON numbers, or as base64 of its little-endian `float32`s (OpenAI's `encoding_format`).
    static func encoded(_ vector: [Float], as format: EmbeddingsRequest.EncodingFormat) -> JSONValue {
        switch format {
        case .float:
            return .array(vector.map { .number(Double($0)) })
        case .base64:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(vector.count * 4)
            for value in vector {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
            return .string(Data(bytes).base64EncodedString())
        }
    }
}
