import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches small documents from lmgate's own loopback endpoints (the
/// backend's `/v1/models` and `/metrics`, the proxy's admin listener) for
/// `lmgate status`.
public enum LoopbackFetch {
    /// The body of a `GET`, or `nil` if the server did not answer 200 within `timeout`.
    /// - Parameter key: sent as `Authorization: Bearer …` (the backend under `serve` wants its ``BackendKey``).
    public static func get(_ url: String, key: BackendKey? = nil, timeout: TimeInterval = 3) async -> Data? {
        guard let address = URL(string: url) else { return nil }
        var request = URLRequest(url: address, timeoutInterval: timeout)
        request.httpMethod = "GET"
        if let key { request.setValue("Bearer \(key.value)", forHTTPHeaderField: "Authorization") }
        guard let (data, response) = try? await URLSession.shared.data(for: request),
            (response as? HTTPURLResponse)?.statusCode == 200
        else { return nil }
        return data
    }
}
