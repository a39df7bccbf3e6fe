import Logging
import NIOConcurrencyHelpers

/// Holds the server ``TLSContext`` in force and replaces it on ``reload()``.
///
/// New connections take ``current``; open connections keep the context they
/// were made with. A reload that fails (a file missing or unreadable, not
/// PEM, a key that does not match its certificate) keeps the previous
/// context and reports why.
public final class TLSCertificateStore: Sendable {
    /// Where the certificates and keys are read from.
    public let configuration: TLSServerConfiguration
    private let context: NIOLockedValueBox<TLSContext>
    private let logger: Logger

    /// Loads the certificates for the first time.
    /// - Throws: ``TLSError`` if they cannot be loaded: a server must not
    ///   start without a usable certificate.
    public init(configuration: TLSServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let first = try TLSContext(server: configuration)
        self.context = NIOLockedValueBox(first)
        logger.info("tls.certificates.loaded", metadata: Self.metadata(first))
    }

    /// The context for new connections.
    public var current: TLSContext {
        context.withLockedValue { $0 }
    }

    /// Re-reads the certificates and keys and, if they load, makes them the
    /// context for new connections.
    ///
    /// - Returns: the new context.
    /// - Throws: ``TLSError`` saying what is wrong; the previous context stays.
    @discardableResult
    public func reload() throws -> TLSContext {
        let fresh: TLSContext
        do {
            // Built outside the lock: reading files and keys takes a while.
            fresh = try TLSContext(server: configuration)
        } catch {
            logger.error("tls.certificates.reload_failed: keeping the previous certificates", metadata: [
                "tls.error": "\(error)",
            ])
            throw error
        }
        context.withLockedValue { $0 = fresh }
        logger.info("tls.certificates.reloaded", metadata: Self.metadata(fresh))
        return fresh
    }

    private static func metadata(_ context: TLSContext) -> Logger.Metadata {
        ["tls.certificate.sha256": .array(context.certificateFingerprints.map { .string($0) })]
    }
}
