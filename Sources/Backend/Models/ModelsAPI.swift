import Foundation
import NIOCore
import NIOHTTP1

/// The model endpoints: OpenAI's listing (`GET /v1/models`,
/// `GET /v1/models/{id}`, with LM Studio's fields; the same at LM Studio's
/// `GET /api/v0/models` and `/api/v0/models/{id}`) and the admin endpoints
/// `lmgate models load|unload` call, named as LM Studio's REST API names them
/// (`POST /api/v1/models/load`, `POST /api/v1/models/unload`, body
/// `{"model": "<id or alias>"}`). Like every endpoint but health, these are
/// served on loopback only and, under `lmgate serve`, only with the backend key.
///
/// Loading and unloading are for the machine's own tools, not for API
/// clients: a request the proxy forwarded (it always appends
/// `X-Forwarded-For`, which a client cannot remove) is refused them, so that
/// one client holding an API key cannot unload the model others are using.
enum ModelsAPI {
    static let loadPath = "/api/v1/models/load"
    static let unloadPath = "/api/v1/models/unload"

    /// Whether this type answers `method` on `path`.
    static func handles(method: HTTPMethod, path: String) -> Bool {
        switch (method, path) {
        case (.GET, "/v1/models"), (.GET, "/api/v0/models"), (.POST, loadPath), (.POST, unloadPath): return true
        case (.GET, let path): return path.hasPrefix("/v1/models/") || path.hasPrefix("/api/v0/models/")
        default: return false
        }
    }

    /// The label the answer is counted under in ``BackendMetrics``.
    static func endpointLabel(path: String) -> String {
        path == loadPath || path == unloadPath ? path : "/v1/models"
    }

    /// The answer to a request ``handles(method:path:)`` accepted.
    /// - Parameter forwarded: whether the request came through a proxy (it has `X-Forwarded-For`).
    static func answer(
        method: HTTPMethod, path: String, body: ByteBuffer, forwarded: Bool, host: ModelHost
    ) async -> (HTTPResponseStatus, JSONValue) {
        do throws(APIError) {
            if forwarded && (path == loadPath || path == unloadPath) {
                throw APIError(
                    status: .forbidden, message: "models are loaded and unloaded on the server's machine (`lmgate models`), not through the proxy",
                    type: "permission_error", code: "admin_only")
            }
            let registry = try host.readyRegistry()
            switch path {
            case "/v1/models", "/api/v0/models":
                return (.ok, ["object": "list", "data": .array(await registry.listing())])
            case loadPath:
                let id = try await registry.load(try modelName(in: body))
                return (.ok, ["model": .string(id), "status": "loaded", "loaded": .array(await registry.loadedIDs.map { .string($0) })])
            case unloadPath:
                let id = try await registry.unload(try modelName(in: body))
                return (.ok, ["model": .string(id), "status": "not-loaded", "loaded": .array(await registry.loadedIDs.map { .string($0) })])
            default:
                // Ids hold slashes (`publisher/model/file`): everything after the prefix is the name.
                let name = String(path.dropFirst(path.hasPrefix("/v1/") ? "/v1/models/".count : "/api/v0/models/".count))
                return (.ok, try await registry.listing(of: name.removingPercentEncoding ?? name))
            }
        } catch {
            return (error.status, error.body)
        }
    }

    private static func modelName(in body: ByteBuffer) throws(APIError) -> String {
        guard let name = try RequestedModel(body: body).name, !name.isEmpty else {
            throw APIError.invalid("'model' is required: the id or alias of the model", parameter: "model")
        }
        return name
    }
}
