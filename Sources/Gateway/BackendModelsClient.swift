import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Talks to a running backend's model endpoints over loopback, for
/// `lmgate models` and `lmgate status`: the listing (`GET /v1/models`) and the
/// admin endpoints (`POST /api/v1/models/load|unload|unpin`), with the backend key
/// when the backend wants one.
public struct BackendModelsClient: Sendable {
    /// One model as the backend lists it.
    public struct Model: Sendable, Equatable {
        public let id: String
        public let loaded: Bool
        public let architecture: String?
        public let quantization: String?
        public let contextLength: Int?
        public let sizeBytes: Int?
        /// Whether the model is pinned: never unloaded by an idle TTL or an eviction.
        public let pinned: Bool
        /// The idle seconds after which the model is unloaded, when a TTL applies (not pinned).
        public let idleTTL: Double?
        /// Why the file cannot be served, when it cannot.
        public let problem: String?
    }

    /// The backend's base URL, `http://127.0.0.1:PORT`.
    public let base: String
    private let key: BackendKey?

    public init(port: Int, key: BackendKey?) {
        base = "http://127.0.0.1:\(port)"
        self.key = key
    }

    /// The models the backend serves.
    /// - Throws: ``BackendModelsClientError`` when the backend does not answer or answers with an error.
    public func list() async throws(BackendModelsClientError) -> [Model] {
        let json = try await send("GET", "/v1/models", body: nil, timeout: 10)
        guard let entries = json["data"] as? [[String: Any]] else { throw BackendModelsClientError("the backend's /v1/models has no 'data' list") }
        return entries.map { entry in
            Model(
                id: entry["id"] as? String ?? "?", loaded: entry["state"] as? String == "loaded",
                architecture: entry["arch"] as? String, quantization: entry["quantization"] as? String,
                contextLength: entry["max_context_length"] as? Int, sizeBytes: entry["size_bytes"] as? Int,
                pinned: entry["pinned"] as? Bool ?? false, idleTTL: (entry["ttl"] as? NSNumber)?.doubleValue, problem: entry["error"] as? String)
        }
    }

    /// Loads the model `name` names (waiting for the load, up to ten
    /// minutes); returns its id. With `pin`, the model is pinned once loaded;
    /// with `idleTTL`, that is its idle TTL in seconds from now on.
    public func load(_ name: String, pin: Bool = false, idleTTL: Double? = nil) async throws(BackendModelsClientError) -> String {
        var fields: [String: Any] = [:]
        if pin { fields["pin"] = true }
        if let idleTTL { fields["ttl"] = idleTTL }
        return try await admin("/api/v1/models/load", name, fields: fields, timeout: 600)
    }

    /// Unpins the model `name` names (its idle TTL applies again, from now); returns its id.
    public func unpin(_ name: String) async throws(BackendModelsClientError) -> String {
        try await admin("/api/v1/models/unpin", name, timeout: 30)
    }

    /// Unloads the model `name` names; returns its id.
    public func unload(_ name: String) async throws(BackendModelsClientError) -> String {
        try await admin("/api/v1/models/unload", name, timeout: 30)
    }

    private func admin(
        _ path: String, _ name: String, fields: [String: Any] = [:], timeout: TimeInterval
    ) async throws(BackendModelsClientError) -> String {
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: fields.merging(["model": name]) { $1 })
        } catch {
            throw BackendModelsClientError("cannot encode the model name")
        }
        let json = try await send("POST", path, body: body, timeout: timeout)
        return json["model"] as? String ?? name
    }

    private func send(_ method: String, _ path: String, body: Data?, timeout: TimeInterval) async throws(BackendModelsClientError) -> [String: Any] {
        guard let url = URL(string: base + path) else { throw BackendModelsClientError("bad backend address \(base)") }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key.value)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw BackendModelsClientError("the backend at \(base) does not answer (is `lmgate serve` or `lmgate backend` running?)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard status == 200, let json else {
            let message = ((json?["error"] as? [String: Any])?["message"] as? String) ?? "HTTP \(status)"
            throw BackendModelsClientError(status == 401 ? "the backend refused the key (\(message))" : message)
        }
        return json
    }
}

/// What went wrong talking to the backend, as a sentence.
public struct BackendModelsClientError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
