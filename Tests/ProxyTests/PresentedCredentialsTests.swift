import NIOHTTP1
import Testing
@testable import Proxy

/// ``PresentedCredentials``: which credential a request carries, read by
/// bytes (scheme in any case, spaces and tabs around the key, non-ASCII
/// text kept whole).
@Suite struct PresentedCredentialsTests {
    private func presented(_ fields: [(String, String)], methods: AccessConfiguration.Methods = .either) -> PresentedCredentials {
        PresentedCredentials(HTTPHeaders(fields), methods: methods)
    }

    private func key(_ credentials: PresentedCredentials) -> String? {
        if case .key(let text) = credentials { return String(text) }
        return nil
    }

    @Test func aKeyIsReadFromBearerOrXAPIKeyWithoutTheSpacesAroundIt() {
        #expect(self.key(self.presented([("Authorization", "Bearer k3y")])) == "k3y")
        #expect(self.key(self.presented([("authorization", "bEaReR    k3y \t")])) == "k3y")
        #expect(self.key(self.presented([("x-api-key", " \tk 3y\t ")])) == "k 3y")
        // Non-ASCII text is kept whole (its digest is looked up, never matched here).
        #expect(self.key(self.presented([("Authorization", "Bearer  clé-ü ")])) == "clé-ü")
        #expect(self.key(self.presented([("x-api-key", "é")])) == "é")
    }

    @Test func emptyDuplicateOrUnacceptedCredentialsAreNoKey() {
        guard case .malformed("key") = self.presented([("Authorization", "Bearer  \t ")]) else {
            Issue.record("an empty bearer key was taken")
            return
        }
        guard case .malformed("duplicate") = self.presented([("x-api-key", "a"), ("X-API-Key", "b")]) else {
            Issue.record("a repeated x-api-key was taken")
            return
        }
        guard case .none = self.presented([("Authorization", "Bearer k3y")], methods: .basic) else {
            Issue.record("a key was taken on a Basic-only listener")
            return
        }
        guard case .none = self.presented([("Authorization", "Bearerk3y")]) else {
            Issue.record("a scheme without its space was read as Bearer")
            return
        }
    }

    @Test func basicCredentialsAreDecodedAfterTheScheme() {
        // "alice:pa ss" in base64, after a lower-case scheme and two spaces.
        guard case .basic(let credentials) = self.presented([("Authorization", "basic  YWxpY2U6cGEgc3M=")]) else {
            Issue.record("Basic credentials were not read")
            return
        }
        #expect(credentials.user == "alice" && credentials.password == Array("pa ss".utf8))
        guard case .malformed("basic") = self.presented([("Authorization", "Basic !!!")]) else {
            Issue.record("bad base64 was taken")
            return
        }
    }
}
