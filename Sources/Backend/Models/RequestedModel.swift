import Foundation
import NIOCore

/// The `model` a generation request names, read before the request is
/// prepared: the model must be known (and perhaps loaded) before its
/// tokenizer can run. The body is parsed again by ``PreparedGeneration``;
/// parsing is cheap beside tokenizing, and this keeps the request types free
/// of model selection.
struct RequestedModel: Sendable {
    /// The `model` string, or `nil` when there is none (or not a string:
    /// the request's parser then says what is wrong with it).
    let name: String?

    init(body: ByteBuffer) throws(APIError) {
        guard let json = JSONValue.parse(Data(body.readableBytesView)) else { throw APIError.invalid("the request body is not valid JSON") }
        guard let object = json.objectValue else { throw APIError.invalid("the request body must be a JSON object") }
        if case .string(let name)? = object["model"] { self.name = name } else { name = nil }
    }
}

/// A request prepared for the model it holds a lease on.
struct LeasedGeneration: Sendable {
    let prepared: PreparedGeneration
    let lease: ModelLease

    var parts: (PreparedGeneration, ModelLease) { (prepared, lease) }
}
