import Foundation

/// A `POST /v1/embeddings` body, parsed and checked (OpenAI's shape).
struct EmbeddingsRequest: Sendable, Equatable {
    /// What to embed: texts (tokenized with the model's tokenizer, `[CLS]`
    /// and `[SEP]` added) or token ids (used as given).
    enum Input: Sendable, Equatable {
        case texts([String])
        case tokens([[Int]])

        var count: Int {
            switch self {
            case .texts(let texts): texts.count
            case .tokens(let lists): lists.count
            }
        }
    }

    /// How the vectors are written: JSON numbers, or base64 of little-endian `float32`s.
    enum EncodingFormat: String, Sendable, Equatable {
        case float
        case base64
    }

    /// The most inputs one request may hold (OpenAI allows 2048; each input
    /// here is a forward pass, so the bound is lower).
    static let maxInputs = 256

    /// The `model` named, if any (a one-model server serves any name, or none).
    let model: String?
    let input: Input
    let encodingFormat: EncodingFormat
    /// The vector length the client asked for, if it did.
    let dimensions: Int?

    init(members: [String: JSONValue]) throws(APIError) {
        let fields = RequestFields(members)
        model = try fields.string("model")
        guard let value = members["input"], value != .null else {
            throw .invalid("'input' is required: a string, a list of strings, a list of token ids or a list of lists of token ids", parameter: "input")
        }
        input = try Self.input(value)
        guard input.count <= Self.maxInputs else {
            throw .invalid("'input' holds \(input.count) inputs; at most \(Self.maxInputs) are accepted in one request", parameter: "input")
        }
        let format = try fields.string("encoding_format") ?? "float"
        guard let encodingFormat = EncodingFormat(rawValue: format) else {
            throw .invalid("'encoding_format' must be \"float\" or \"base64\"", parameter: "encoding_format")
        }
        self.encodingFormat = encodingFormat
        dimensions = try fields.integer("dimensions", in: 1...(1 << 20))
    }

    private static func input(_ value: JSONValue) throws(APIError) -> Input {
        let shape = "'input' must be a non-empty string, a list of them, a list of token ids or a list of non-empty lists of token ids"
        switch value {
        case .string(let text):
            guard !text.isEmpty else { throw .invalid("'input' is empty: " + shape, parameter: "input") }
            return .texts([text])
        case .array(let items):
            guard let first = items.first else { throw .invalid("'input' is an empty list: " + shape, parameter: "input") }
            switch first {
            case .string:
                var texts: [String] = []
                for item in items {
                    guard case .string(let text) = item, !text.isEmpty else { throw .invalid(shape, parameter: "input") }
                    texts.append(text)
                }
                return .texts(texts)
            case .integer:
                return .tokens([try tokenIDs(items, shape: shape)])
            case .array:
                var lists: [[Int]] = []
                for item in items {
                    guard case .array(let ids) = item, !ids.isEmpty else { throw .invalid(shape, parameter: "input") }
                    lists.append(try tokenIDs(ids, shape: shape))
                }
                return .tokens(lists)
            default:
                throw .invalid(shape, parameter: "input")
            }
        default:
            throw .invalid(shape, parameter: "input")
        }
    }

    private static func tokenIDs(_ items: [JSONValue], shape: String) throws(APIError) -> [Int] {
        var ids: [Int] = []
        for item in items {
            guard case .integer(let id) = item else { throw .invalid(shape, parameter: "input") }
            guard id >= 0 else { throw .invalid("token id \(id) in 'input' is negative", parameter: "input") }
            ids.append(id)
        }
        return ids
    }
}
