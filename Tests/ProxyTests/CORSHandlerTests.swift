import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Proxy

/// What the CORS handler passes on and answers, on an `EmbeddedChannel`.
@Suite struct CORSHandlerTests {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(CORSHandler(allowedOrigins: { ["https://app.example"] }))
        return channel
    }

    private func head(origin: String?) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions")
        head.headers.add(name: "host", value: "gw")
        if let origin { head.headers.add(name: "origin", value: origin) }
        return head
    }

    /// The proxy vouches for an allowed origin, so the upstream (a loopback
    /// backend refusing foreign origins) does not see it; any other origin
    /// is passed on for the upstream to judge.
    @Test func allowedOriginsAreJudgedHereAndOthersPassedOn() throws {
        let channel = try self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(self.head(origin: "https://app.example")))
        guard case .head(let allowed) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("no head passed on")
            return
        }
        #expect(!allowed.headers.contains(name: "origin"))

        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        guard case .head(let response) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(response.headers["access-control-allow-origin"] == ["https://app.example"])

        try channel.writeInbound(HTTPServerRequestPart.head(self.head(origin: "https://evil.example")))
        guard case .head(let foreign) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("no head passed on")
            return
        }
        #expect(foreign.headers["origin"] == ["https://evil.example"])
        #expect(try channel.finish().isClean)
    }
}
