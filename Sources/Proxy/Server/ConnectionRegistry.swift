import NIOConcurrencyHelpers
import NIOCore

/// The open client connections: enforces the connection limit at accept and
/// lets shutdown ask each connection to finish and close.
final class ConnectionRegistry: Sendable {
    private let maxConnections: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var whenEmpty: [EventLoopPromise<Void>] = []
    }

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Registers a new connection; `false` if the limit is reached.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = self.state.withLockedValue { state in
            guard state.channels.count < self.maxConnections else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in self.remove(channel) }
        }
        return admitted
    }

    var count: Int { self.state.withLockedValue { $0.channels.count } }

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

    private func remove(_ channel: any Channel) {
        let waiting = self.state.withLockedValue { state -> [EventLoopPromise<Void>] in
            state.channels[ObjectIdentifier(channel)] = nil
            guard state.channels.isEmpty else { return [] }
            defer { state.whenEmpty = [] }
            return state.whenEmpty
        }
        for promise in waiting { promise.succeed() }
    }
}
