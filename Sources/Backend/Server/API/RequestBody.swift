import Foundation
import NIOCore

/// A request body read as the JSON object every API's body must be.
enum RequestBody {
    static func object(_ body: ByteBuffer) throws(APIError) -> [String: JSONValue] {
        guard let json = JSONValue.parse(Data(body.readableBytesView)) else { throw APIError.invalid("the request body is not valid JSON") }
        guard let object = json.objectValue else { throw APIError.invalid("the request body must be a JSON object") }
        return object
    }
}
