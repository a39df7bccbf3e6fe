import Foundation
import NIOCore
import NIOHTTP1

/// The model endpoints: OpenAI's listing (`GET /v1/models`,
/// `GET /v1/models/{id}`, with LM Studio's fields; the same at LM Studio's
/// `GET /api/v0/models` and `/api/v0/models/{id}`) and the admin endpoints
/// `lmgate models load|unload|unpin` call, named as LM Studio's REST API names them
/// (`POST /api/v1/models/load`, `POST /api/v1/models/unload`, body
/// `{"model": "<id or alias>"}`; a load may add `"pin": true` and `"ttl":
/// <idle seconds>`; `POST /api/v1/models/unpin` undoes a pin). Like every
/// endpoint but health, these are served on loopback only and, under
/// `lmgate serve`, only with the backend key.
///
/// Loading and unloading are for the machine's own tools, not for API
/// clients: a request the proxy forwarded (it always appends
/// `X-Forwarded-For`, which a client cannot remove) is refused them, so that
/// one client holding an API key cannot unload the model others are using.
enum ModelsAPI {
    static let loadPath = "/api/v1/models/load"
    static let unloadPath = "/api/v1/models/unload"
    static let unpinPath = "/api/v1/models/unpin"
    /// The paths that change what is in memory, refused to proxied requests.
    static let adminPaths: Set<String> = [loadPath, unloadPath, unpinPath]
    /// The longest idle TTL a load may set: a year, far beyond any use, and finite.
    static let maxIdleTTL: Double = 365 * 24 * 3600

    /// Whether this type answers `method` on `path`.
    static func handles(method: HTTPMethod, path: String) -> Bool {
        switch (method, path) {
        case (.GET, "/v1/models"), (.GET, "/api/v0/models"): return true
        case (.POST, let path): return adminPaths.contains(path)
        case (.GET, let path): return path.hasPrefix("/v1/models/") || path.hasPrefix("/api/v0/models/")
        default: return false
        }
    }

    /// The label the answer is counted under in ``BackendMetrics``.
    static func endpointLabel(path: String) -> String {
        adminPaths.contains(path) ? path : "/v1/models"
    }

    /// The answer to a request ``handles(method:path:)`` accepted.
    /// - Parameter forwarded: whether the request came through a proxy (it has `X-Forwarded-For`).
    static func answer(
        method: HTTPMethod, path: String, body: ByteBuffer, forwarded: Bool, host: ModelHost
    ) async -> (HTTPResponseStatus, JSONValue) {
        do throws(APIError) {
            if forwarded && adminPaths.contains(path) {
                throw APIError(
                    status: .forbidden, message: "models are loaded and unloaded on the server's machine (`lmgate models`), not through the proxy",
                    type: "permission_error", code: "admin_only")
            }
            let registry = try host.readyRegistry()
            switch path {
            case "/v1/models", "/api/v0/models":
                return (.ok, ["object": "list", "data": .array(await registry.listing())])
            case loadPath:
                let fields = RequestFields(try RequestBody.object(body))
                let pin = try fields.bool("pin") ?? false
                let ttl = try fields.number("ttl", in: 1...maxIdleTTL)
                let id = try await registry.load(try modelName(in: fields), pin: pin, idleTTL: ttl)
                return (.ok, [
                    "model": .string(id), "status": "loaded", "pinned": .bool(await registry.isPinned(id)),
                    "loaded": .array(await registry.loadedIDs.map { .string($0) }),
                ])
            case unloadPath:
                let id = try await registry.unload(try modelName(in: RequestFields(RequestBody.object(body))))
                return (.ok, ["model": .string(id), "status": "not-loaded", "loaded": .array(await registry.loadedIDs.map { .string($0) })])
            case unpinPath:
                let id = try await registry.unpin(try modelName(in: RequestFields(RequestBody.object(body))))
                return (.ok, ["model": .string(id), "pinned": false, "loaded": .array(await registry.loadedIDs.map { .string($0) })])
            default:
                // Ids hold slashes (`publisher/model/file`): everything after the prefix is the name.
                let name = String(path.dropFirst(path.hasPrefix("/v1/") ? "/v1/models/".count : "/api/v0/models/".count))
                return (.ok, try await registry.listing(of: name.removingPercentEncoding ?? name))
            }
        } catch {
            return (error.status, error.body)
        }
    }

    private static func modelName(in fields: RequestFields) throws(APIError) -> String {
        guard let name = try fields.string("model"), !name.isEmpty else {
            throw APIError.invalid("'model' is required: the id or alias of the model", parameter: "model")
        }
        return name
    }
}
