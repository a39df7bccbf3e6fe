import Foundation
import Testing
@testable import Proxy

/// Everything a client or an admin chose is shown as text: hostile user
/// names, identities, models and messages add no markup to a page.
@Suite struct ConsoleEscapingTests {
    static let hostile = [
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' onmouseover='alert(1)", "&lt;b&gt;", "</td></tr></table>",
        "{{csrf}}", "<svg/onload=alert(1)>",
    ]

    /// The markup of a page: its tags, as `<name`.
    static func tags(_ html: String) -> [Substring] {
        html.split(separator: "<").dropFirst().map { $0.prefix { $0.isLetter || $0 == "/" } }
    }

    @Test func hostileNamesAddNoMarkup() throws {
        let pages = ConsolePages()
        let context = ConsolePages.Context(identity: .user("admin"), csrfToken: "token")
        let now = Date()
        let hour = UsageRow.hour(of: now)
        func configuration(_ name: String) -> AccessConfiguration {
            var configuration = AccessConfiguration()
            configuration.htpasswdPath = "/tmp/\(name)"
            configuration.userLimitsPath = "/tmp/\(name)-limits"
            return configuration
        }
        func rendered(_ name: String) -> [String] {
            var hostileContext = context
            hostileContext.error = name
            hostileContext.notice = name
            let rows = [UsageRow(hour: hour, identity: name, model: name, requests: 2, promptTokens: 5, completionTokens: 7)]
            return [
                pages.users(
                    context: hostileContext, users: [name, "bob"], admins: [name], limits: [name: IdentityLimits(maxConcurrent: 2)],
                    configuration: configuration(name)),
                pages.usage(context: hostileContext, rows: rows, selected: name, now: now),
                pages.dashboard(
                    context: hostileContext, upstreams: [("http://127.0.0.1:1", true, 0)], statuses: [200: 1], openConnections: 1,
                    rows: rows, keyCount: 0, userCount: 1, now: now),
            ]
        }
        let benign = rendered("alice")
        var randomNames = Self.hostile
        // Each random name ends in a letter the alphabet lacks: a name ending in `&` is a prefix of its
        // own escaped form (`&amp;`), which the unescaped-name check below would take for the name itself.
        for _ in 0..<50 { randomNames.append(String((0..<12).map { _ in "<>\"'&/= ab{}".randomElement()! }) + "X") }
        for name in randomNames {
            for (index, page) in rendered(name).enumerated() {
                #expect(Self.tags(page) == Self.tags(benign[index]), "page \(index) with \(name)")
                #expect(!page.contains(name) || !name.contains(where: { "<>\"'&".contains($0) }), "\(name) shown unescaped")
            }
        }
        let page = rendered("<script>alert(1)</script>")[0]
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }
}
