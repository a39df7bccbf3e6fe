import NIOConcurrencyHelpers
import NIOCore

/// The open client connections: enforces the connection limits at accept
/// (in all, and per client address) and lets shutdown ask each connection
/// to finish and close.
///
/// Per address, IPv4 addresses count one by one and IPv6 addresses by /64
/// prefix: a single host usually holds a whole /64 and could otherwise open
/// connections from as many addresses as it likes.
final class ConnectionRegistry: Sendable {
    /// What ``admit(_:)`` decided.
    enum Admission: Equatable {
        case admitted
        /// The proxy holds its most connections.
        case overLimit
        /// The client's address (or /64) holds its most connections.
        case overAddressLimit
    }

    private let maxConnections: Int
    private let maxConnectionsPerAddress: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        /// Open connections per counting key (see ``ConnectionRegistry/countingKey(of:)``).
        var perAddress: [IPAddress: Int] = [:]
        var whenEmpty: [EventLoopPromise<Void>] = []
    }

    init(maxConnections: Int, maxConnectionsPerAddress: Int = .max) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// Registers a new connection, unless a limit is reached.
    func admit(_ channel: any Channel) -> Admission {
        let key = channel.remoteAddress.flatMap(Self.countingKey(of:))
        let admission = self.state.withLockedValue { state -> Admission in
            guard state.channels.count < self.maxConnections else { return .overLimit }
            if let key {
                let open = state.perAddress[key, default: 0]
                guard open < self.maxConnectionsPerAddress else { return .overAddressLimit }
                state.perAddress[key] = open + 1
            }
            state.channels[ObjectIdentifier(channel)] = channel
            return .admitted
        }
        if admission == .admitted {
            channel.closeFuture.whenComplete { _ in self.remove(channel, key: key) }
        }
        return admission
    }

    var count: Int { self.state.withLockedValue { $0.channels.count } }

    /// Open connections counted against `address`'s limit.
    func count(from address: SocketAddress) -> Int {
        guard let key = Self.countingKey(of: address) else { return 0 }
        return self.state.withLockedValue { $0.perAddress[key, default: 0] }
    }

    /// The key a peer's connections are counted under: an IPv4 address
    /// itself (also when IPv4-mapped), an IPv6 address's /64; `nil` for
    /// peers without an IP address (Unix sockets), which are not limited.
    static func countingKey(of address: SocketAddress) -> IPAddress? {
        guard let ip = IPAddress(address) else { return nil }
        return ip.isIPv4 ? ip : IPAddress(high: ip.high, low: 0)
    }

    /// Asks every connection to close once its current request is answered.
    func quiesceAll() {
        for channel in self.state.withLockedValue({ Array($0.channels.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    /// Closes every connection now.
    func closeAll() {
        for channel in self.state.withLockedValue({ Array($0.channels.values) }) {
            channel.close(promise: nil)
        }
    }

    /// Completes when no connection is left.
    func waitUntilEmpty(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let isEmpty = self.state.withLockedValue { state in
            if state.channels.isEmpty { return true }
            state.whenEmpty.append(promise)
            return false
        }
        if isEmpty { promise.succeed() }
        return promise.futureResult
    }

    private func remove(_ channel: any Channel, key: IPAddress?) {
        let waiting = self.state.withLockedValue { state -> [EventLoopPromise<Void>] in
            state.channels[ObjectIdentifier(channel)] = nil
            if let key {
                let open = state.perAddress[key, default: 1] - 1
                state.perAddress[key] = open > 0 ? open : nil
            }
            guard state.channels.isEmpty else { return [] }
            defer { state.whenEmpty = [] }
            return state.whenEmpty
        }
        for promise in waiting { promise.succeed() }
    }
}
