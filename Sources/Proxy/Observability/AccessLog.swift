import Foundation
import Logging
import NIOCore

/// Writes one structured line per finished request through swift-log.
///
/// The method and path are the client's, so they go through ``LogField``:
/// control characters escaped, and the path without its query (which may
/// carry a key, `?api_key=…`).
enum AccessLog {
    static func record(
        _ exchange: Exchange,
        status: Int,
        client: String,
        upstream: UpstreamAddress?,
        logger: Logger,
        now: NIODeadline
    ) {
        let duration = Double((now - exchange.started).nanoseconds) / 1e9
        logger.info(
            "request",
            metadata: [
                "client.address": .string(client),
                "request.id": .string(exchange.requestID),
                "request.method": .string(LogField.escaped(exchange.clientHead.method.rawValue, limit: 32)),
                "request.path": .string(LogField.path(of: exchange.clientHead.uri)),
                "response.status": .stringConvertible(status),
                "response.bytes": .stringConvertible(exchange.responseBytes),
                "request.bytes": .stringConvertible(exchange.requestBodyBytes),
                "duration.seconds": .string(String(format: "%.6f", duration)),
                "upstream": .string(upstream.map { $0.description } ?? "-"),
            ]
        )
    }
}
