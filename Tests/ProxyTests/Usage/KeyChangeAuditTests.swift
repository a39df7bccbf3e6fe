import Foundation
import Testing
@testable import Proxy

/// The audit lines of a keys-file reload: each key added, revoked or
/// changed is named, and nothing of any key's secret is logged.
@Suite struct KeyChangeAuditTests {
    @Test func addedRevokedAndChangedKeysAreNamedWithoutTheirSecrets() {
        let kept = APIKey.generate(name: "kept", scope: .inference, expires: nil)
        let changed = APIKey.generate(name: "ci", scope: .inference, expires: nil)
        let revoked = APIKey.generate(name: "old", scope: .admin, expires: nil)
        let added = APIKey.generate(name: "new", scope: .admin, expires: nil)
        var narrowed = changed.stored
        narrowed.limits = IdentityLimits(tokenQuotas: [.day: 100])
        narrowed.expires = Date(timeIntervalSince1970: 2_000_000_000)
        let before = Dictionary(uniqueKeysWithValues: [kept.stored, changed.stored, revoked.stored].map { ($0.digest, $0) })
        let after = Dictionary(uniqueKeysWithValues: [kept.stored, narrowed, added.stored].map { ($0.digest, $0) })

        let audit = KeyChangeAudit(from: before, to: after)
        #expect(Set(audit.changes.map { "\($0)" }) == [
            "\(KeyChangeAudit.Change.added(name: "new", scope: "admin"))",
            "\(KeyChangeAudit.Change.revoked(name: "old"))",
            "\(KeyChangeAudit.Change.changed(name: "ci", fields: ["expires", "limits"]))",
        ])
        let log = CapturedLog()
        audit.log(to: log.logger())
        #expect(log.text.contains("access.key_added") && log.text.contains("auth.key=new") && log.text.contains("auth.scope=admin"))
        #expect(log.text.contains("access.key_revoked") && log.text.contains("auth.key=old"))
        #expect(log.text.contains("access.key_changed") && log.text.contains("changed=expires,limits"))
        for key in [kept, changed, revoked, added] {
            #expect(!log.text.contains(key.key.dropFirst(APIKey.keyPrefix.count).prefix(6)), "a key's secret part was logged")
        }
        #expect(KeyChangeAudit(from: before, to: before).changes.isEmpty)
    }
}
