import Testing
@testable import Proxy

@Suite("TLSStateMachine")
struct TLSStateMachineTests {
    private static let failure = TLSError(.handshakeFailed, "test")

    /// A machine walked to `state` through the public transitions.
    private func machine(in state: TLSStateMachine.State) -> TLSStateMachine {
        var machine = TLSStateMachine()
        switch state {
        case .idle:
            break
        case .handshaking:
            _ = machine.channelActive()
        case .active:
            _ = machine.channelActive()
            _ = machine.handshakeStepped(.complete)
        case .closing:
            _ = machine.channelActive()
            _ = machine.handshakeStepped(.complete)
            _ = machine.closeRequested()
        case .closed:
            _ = machine.channelInactive()
        }
        #expect(machine.state == state)
        return machine
    }

    @Test func channelActiveStartsTheHandshakeOnce() {
        var machine = TLSStateMachine()
        #expect(machine.channelActive() == .startHandshake)
        #expect(machine.state == .handshaking)
        #expect(machine.channelActive() == .none)
        var active = self.machine(in: .active)
        #expect(active.channelActive() == .none)
        #expect(active.state == .active)
    }

    @Test func handshakeStepsWaitCompleteOrFail() {
        var waiting = machine(in: .handshaking)
        #expect(waiting.handshakeStepped(.needsPeerData) == .sendAndWait)
        #expect(waiting.state == .handshaking)
        #expect(waiting.handshakeStepped(.complete) == .complete)
        #expect(waiting.state == .active)

        var failing = machine(in: .handshaking)
        #expect(failing.handshakeStepped(.failed(Self.failure)) == .fail(Self.failure))
        #expect(failing.state == .closed)
    }

    @Test func handshakeResultsOutsideTheHandshakeAreIgnored() {
        for state in [TLSStateMachine.State.idle, .active, .closing, .closed] {
            var machine = self.machine(in: state)
            #expect(machine.handshakeStepped(.complete) == .none)
            #expect(machine.state == state)
        }
    }

    @Test func receivedBytesGoWhereTheStateSays() {
        var idle = machine(in: .idle)
        #expect(idle.bytesReceived() == .continueHandshake)
        #expect(idle.state == .handshaking)
        var handshaking = machine(in: .handshaking)
        #expect(handshaking.bytesReceived() == .continueHandshake)
        var active = machine(in: .active)
        #expect(active.bytesReceived() == .decrypt)
        var closing = machine(in: .closing)
        #expect(closing.bytesReceived() == .discard)
        var closed = machine(in: .closed)
        #expect(closed.bytesReceived() == .discard)
    }

    @Test func closeBeforeTheSessionClosesAtOnce() {
        for state in [TLSStateMachine.State.idle, .handshaking, .closed] {
            var machine = self.machine(in: state)
            #expect(machine.closeRequested() == .closeChannel)
            #expect(machine.state == .closed)
        }
    }

    @Test func closeInSessionSendsCloseNotifyAndLaterClosesJoin() {
        var machine = machine(in: .active)
        #expect(machine.closeRequested() == .sendCloseNotifyThenClose)
        #expect(machine.state == .closing)
        #expect(machine.closeRequested() == .joinPendingClose)
        #expect(machine.closeNotifyReceived() == .joinPendingClose)
        #expect(machine.state == .closing)
    }

    @Test func peerCloseNotifyIsAnsweredLikeALocalClose() {
        var machine = machine(in: .active)
        #expect(machine.closeNotifyReceived() == .sendCloseNotifyThenClose)
        #expect(machine.state == .closing)
    }

    @Test func flushIsHeldDuringTheHandshakeAndFailedAfterClose() {
        #expect(machine(in: .idle).flushRequested() == .holdUntilHandshake)
        #expect(machine(in: .handshaking).flushRequested() == .holdUntilHandshake)
        #expect(machine(in: .active).flushRequested() == .encrypt)
        #expect(machine(in: .closing).flushRequested() == .fail)
        #expect(machine(in: .closed).flushRequested() == .fail)
    }

    @Test func handshakeTimeoutClosesOnlyUnfinishedHandshakes() {
        for state in [TLSStateMachine.State.idle, .handshaking] {
            var machine = self.machine(in: state)
            #expect(machine.handshakeTimedOut() == .closeWithTimeout)
            #expect(machine.state == .closed)
        }
        for state in [TLSStateMachine.State.active, .closing, .closed] {
            var machine = self.machine(in: state)
            #expect(machine.handshakeTimedOut() == .none)
            #expect(machine.state == state)
        }
    }

    @Test func failureCloses() {
        var machine = machine(in: .active)
        machine.failed()
        #expect(machine.state == .closed)
    }

    @Test func tcpCloseInSessionIsUnclean() {
        var active = machine(in: .active)
        #expect(active.channelInactive() == .reportUncleanShutdown)
        #expect(active.state == .closed)
        for state in [TLSStateMachine.State.idle, .handshaking, .closing, .closed] {
            var machine = self.machine(in: state)
            #expect(machine.channelInactive() == .none)
            #expect(machine.state == .closed)
        }
    }
}

@Suite("ALPNSelection")
struct TLSALPNSelectionTests {
    private func choose(_ server: [String], _ client: [UInt8]) -> String? {
        client.withUnsafeBufferPointer { list in
            ALPNSelection.choose(serverPreference: server, clientWireList: list).map {
                String(decoding: list[$0], as: UTF8.self)
            }
        }
    }

    @Test func serverPreferenceWinsAmongOfferedProtocols() {
        let offered = ALPNSelection.wireFormat(["h2", "http/1.1"])
        #expect(offered == [2] + Array("h2".utf8) + [8] + Array("http/1.1".utf8))
        #expect(choose(["http/1.1"], offered) == "http/1.1")
        #expect(choose(["h2", "http/1.1"], offered) == "h2")
        #expect(choose(["http/1.1", "h2"], offered) == "http/1.1")
    }

    @Test func noOverlapOrMalformedListsChooseNothing() {
        #expect(choose(["http/1.1"], ALPNSelection.wireFormat(["h2"])) == nil)
        #expect(choose(["http/1.1"], [9] + Array("http/1.1".utf8)) == nil)  // length runs past the end
        #expect(choose(["http/1.1"], [0]) == nil)  // empty name
        #expect(choose(["http/1.1"], []) == nil)
    }
}
