import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import Proxy

/// Every reload re-checks that no non-loopback listener is left without
/// authentication (``ExposureCheck``), as `lmgate serve` checks at start.
@Suite struct ReloadExposureTests {
    private let exposed = [ListenerConfiguration(address: HostAndPort(host: "0.0.0.0", port: 8443), security: .plain)]
    private let loopback = [ListenerConfiguration(address: HostAndPort(host: "127.0.0.1", port: 8443), security: .plain)]

    private func keyed() -> AccessConfiguration {
        var configuration = AccessConfiguration()
        configuration.apiKey = "made-at-test-time-\(UUID().uuidString)"
        return configuration
    }

    /// A control whose reload reads `source`, as `serve` re-reads its file.
    private func control(
        _ initial: AccessConfiguration, listeners: [ListenerConfiguration], source: NIOLockedValueBox<AccessConfiguration>,
        logger: Logger = quietLogger
    ) throws -> AccessControl {
        try AccessControl(
            configuration: initial, logger: logger, configurationSource: { source.withLockedValue { $0 } },
            listeners: listeners)
    }

    @Test func aReloadThatWouldOpenAnExposedListenerIsRefused() async throws {
        let initial = self.keyed()
        let source = NIOLockedValueBox(initial)
        let log = CapturedLog()
        let access = try self.control(initial, listeners: self.exposed, source: source, logger: log.logger())
        #expect(try await access.decide([]).status == .unauthorized)

        // `auth:` removed from the file (or an empty, half-written save): all defaults.
        source.withLockedValue { $0 = AccessConfiguration() }
        #expect(!access.reload())
        #expect(try await access.decide([]).status == .unauthorized)
        #expect(try await access.decide([("x-api-key", initial.apiKey!)]).status == .ok)
        #expect(log.text.contains("access.reload_refused") && log.text.contains("0.0.0.0:8443 would be reachable"))

        // Credentials still configured, but every path made public: just as open.
        source.withLockedValue { $0 = initial; $0.publicPaths = ["/"] }
        #expect(!access.reload())
        #expect(try await access.decide([]).status == .unauthorized)

        // A reload that keeps authentication goes through.
        let replacement = self.keyed()
        source.withLockedValue { $0 = replacement }
        #expect(access.reload())
        #expect(try await access.decide([("x-api-key", replacement.apiKey!)]).status == .ok)
        #expect(try await access.decide([("x-api-key", initial.apiKey!)]).status == .unauthorized)
    }

    @Test func loopbackListenersAndDeliberatelyOpenProxiesReloadAsBefore() async throws {
        // Only loopback listeners: turning authentication off is allowed.
        let initial = self.keyed()
        let source = NIOLockedValueBox(initial)
        let local = try self.control(initial, listeners: self.loopback, source: source)
        source.withLockedValue { $0 = AccessConfiguration() }
        #expect(local.reload())
        #expect(try await local.decide([]).status == .ok)

        // `lmgate proxy` started open on a LAN address on purpose: it may
        // reload (its allowlist, say) and stays open; once it authenticates, it stays so.
        let open = NIOLockedValueBox(AccessConfiguration())
        let lan = try self.control(AccessConfiguration(), listeners: self.exposed, source: open)
        open.withLockedValue { $0.deny = [CIDRRange("198.51.100.0/24")!] }
        #expect(lan.reload())
        #expect(try await lan.decide([], client: "198.51.100.7").code == "address_not_allowed")
        let keyed = self.keyed()
        open.withLockedValue { $0 = keyed }
        #expect(lan.reload())
        open.withLockedValue { $0 = AccessConfiguration() }
        #expect(!lan.reload())
        #expect(try await lan.decide([]).status == .unauthorized)
    }

    @Test func theStartRuleSeesAPublicRootAsNoAuthentication() throws {
        var configuration = self.keyed()
        #expect(ExposureCheck.problem(access: configuration, listeners: self.exposed) == nil)
        configuration.publicPaths = ["/health", "/"]
        #expect(ExposureCheck.problem(access: configuration, listeners: self.exposed)?.contains("without authentication") == true)
        #expect(ExposureCheck.problem(access: configuration, listeners: self.loopback) == nil)
    }
}
