import Foundation
import Logging
import NIOCore

/// Writes one structured line per finished request through swift-log.
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
                "request.method": .string(exchange.clientHead.method.rawValue),
                "request.path": .string(exchange.clientHead.uri),
                "response.status": .stringConvertible(status),
                "response.bytes": .stringConvertible(exchange.responseBytes),
                "request.bytes": .stringConvertible(exchange.requestBodyBytes),
                "duration.seconds": .string(String(format: "%.6f", duration)),
                "upstream": .string(upstream.map { $0.description } ?? "-"),
            ]
        )
    }
}
