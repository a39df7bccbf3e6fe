/// The life of one TLS connection, as pure state: each event returns the
/// action ``TLSHandler`` must take, so every transition can be unit-tested
/// without OpenSSL or a channel.
///
/// ```
/// idle ──active──▶ handshaking ──complete──▶ active ──close / close_notify──▶ closing ──▶ closed
///                    │ failed, timeout, close          │ read/write failure              ▲
///                    └─────────────────────────────────┴─────────────────────────────────┘
/// ```
struct TLSStateMachine {
    enum State: Equatable {
        /// The TCP connection is not yet active.
        case idle
        /// The handshake has started and not finished.
        case handshaking
        /// Application data flows both ways.
        case active
        /// Our close_notify is on its way; the channel closes once it is written.
        case closing
        /// Nothing more is done on this connection.
        case closed
    }

    private(set) var state: State = .idle

    enum StartAction: Equatable {
        /// Run the first handshake step and arm the handshake timeout.
        case startHandshake
        case none
    }

    /// The channel became active (or the handler was added to an active channel).
    mutating func channelActive() -> StartAction {
        guard state == .idle else { return .none }
        state = .handshaking
        return .startHandshake
    }

    enum HandshakeAction: Equatable {
        /// Send what OpenSSL wrote and wait for the peer.
        case sendAndWait
        /// Send what OpenSSL wrote, cancel the timeout, announce completion,
        /// then encrypt writes buffered during the handshake.
        case complete
        /// Send OpenSSL's alert, report the error and close the channel.
        case fail(TLSError)
        /// The connection is no longer handshaking: ignore the result.
        case none
    }

    /// One handshake step ran with `outcome`.
    mutating func handshakeStepped(_ outcome: TLSStepOutcome) -> HandshakeAction {
        guard state == .handshaking else { return .none }
        switch outcome {
        case .needsPeerData:
            return .sendAndWait
        case .complete:
            state = .active
            return .complete
        case .failed(let error):
            state = .closed
            return .fail(error)
        }
    }

    enum ReadAction: Equatable {
        /// Feed the bytes to OpenSSL and run a handshake step.
        case continueHandshake
        /// Feed the bytes to OpenSSL and decrypt application data.
        case decrypt
        /// The connection is closing: drop the bytes.
        case discard
    }

    /// Ciphertext arrived from the peer.
    mutating func bytesReceived() -> ReadAction {
        switch state {
        case .idle:
            // Bytes before channelActive cannot happen on a real socket; treat
            // them as the start of the handshake rather than lose them.
            state = .handshaking
            return .continueHandshake
        case .handshaking: return .continueHandshake
        case .active: return .decrypt
        case .closing, .closed: return .discard
        }
    }

    enum CloseAction: Equatable {
        /// No TLS session to end: close the channel now, failing buffered writes.
        case closeChannel
        /// Encrypt what was flushed, send close_notify, close once it is written.
        case sendCloseNotifyThenClose
        /// A close is already under way: attach this request's promise to it.
        case joinPendingClose
    }

    /// The application asked to close the channel.
    mutating func closeRequested() -> CloseAction {
        switch state {
        case .idle, .handshaking, .closed:
            state = .closed
            return .closeChannel
        case .active:
            state = .closing
            return .sendCloseNotifyThenClose
        case .closing:
            return .joinPendingClose
        }
    }

    /// The peer sent close_notify. Returns the same actions as a local close:
    /// we answer with our own close_notify and close.
    mutating func closeNotifyReceived() -> CloseAction {
        closeRequested()
    }

    enum FlushAction: Equatable {
        /// Encrypt the flushed writes and send them.
        case encrypt
        /// Keep them until the handshake completes.
        case holdUntilHandshake
        /// The connection is closing or closed: fail them.
        case fail
    }

    /// The application flushed its writes.
    func flushRequested() -> FlushAction {
        switch state {
        case .idle, .handshaking: return .holdUntilHandshake
        case .active: return .encrypt
        case .closing, .closed: return .fail
        }
    }

    enum TimeoutAction: Equatable {
        /// Report ``TLSError/Code/handshakeTimedOut`` and close the channel.
        case closeWithTimeout
        case none
    }

    /// The handshake timeout fired.
    mutating func handshakeTimedOut() -> TimeoutAction {
        guard state == .idle || state == .handshaking else { return .none }
        state = .closed
        return .closeWithTimeout
    }

    /// Decrypting or encrypting failed: the connection is unusable.
    mutating func failed() {
        state = .closed
    }

    enum InactiveAction: Equatable {
        /// The peer dropped TCP without close_notify in the middle of a
        /// session: report ``TLSError/Code/uncleanShutdown``.
        case reportUncleanShutdown
        case none
    }

    /// The TCP connection is gone.
    mutating func channelInactive() -> InactiveAction {
        let wasActive = state == .active
        state = .closed
        return wasActive ? .reportUncleanShutdown : .none
    }
}
