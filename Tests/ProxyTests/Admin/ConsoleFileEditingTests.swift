import Foundation
import Testing
@testable import Proxy

/// The edits behind the console's key and user forms, on text and files:
/// what changes is the one line asked for; comments, blank lines and other
/// lines stay byte for byte; bad input changes nothing.
@Suite struct ConsoleFileEditingTests {
    static let limitsText = """
        # USER [admin] LIMITS — kept by hand, then by the console
        root admin

        # the team
        alice models=qwen3-* max_concurrent=2
        carol admin
        dave\ttokens_per_day=1000

        """

    @Test func aUsersLineIsChangedInPlaceAndEveryOtherLineKept() throws {
        let alice = try IdentityLimits(fields: ["max_concurrent=4", "priority=low"])
        let edited = try UserLimitsFile.edited(Self.limitsText, user: "alice", admin: true, limits: alice)
        var expected = Self.limitsText.components(separatedBy: "\n")
        expected[4] = "alice admin max_concurrent=4 priority=low"
        #expect(edited == expected.joined(separator: "\n"))
        let file = try UserLimitsFile(text: edited)
        #expect(file.admins == ["root", "alice", "carol"] && file.limits["alice"] == alice)

        // Only the right given: the line keeps its limits; only limits given: the line keeps its right.
        let right = try UserLimitsFile.edited(Self.limitsText, user: "dave", admin: true)
        #expect(right.components(separatedBy: "\n")[6] == "dave admin tokens_per_day=1000")
        let limited = try UserLimitsFile.edited(Self.limitsText, user: "carol", limits: IdentityLimits(maxConcurrent: 1))
        #expect(limited.components(separatedBy: "\n")[5] == "carol admin max_concurrent=1")
    }

    @Test func aNewUserIsAddedAtTheEndAndAUserLeftWithNothingLosesTheLine() throws {
        let added = try UserLimitsFile.edited(Self.limitsText, user: "bob", admin: true)
        #expect(added == Self.limitsText + "bob admin\n")
        // Without a final line break the file still gets one after the new line.
        #expect(try UserLimitsFile.edited("root admin", user: "bob", admin: true) == "root admin\nbob admin\n")
        #expect(try UserLimitsFile.edited("", user: "bob", limits: IdentityLimits(maxConcurrent: 3)) == "bob max_concurrent=3\n")

        let removed = try UserLimitsFile.edited(Self.limitsText, user: "carol", admin: false)
        #expect(removed == Self.limitsText.replacingOccurrences(of: "carol admin\n", with: ""))
        let unlimited = try UserLimitsFile.edited(Self.limitsText, user: "dave", limits: IdentityLimits())
        #expect(!unlimited.contains("dave") && unlimited.contains("# the team\n"))
        // Taking what a user does not have changes nothing.
        #expect(try UserLimitsFile.edited(Self.limitsText, user: "erin", admin: false) == Self.limitsText)
    }

    @Test func windowsLineBreaksStayWindowsLineBreaks() throws {
        let text = "# limits\r\nroot admin\r\nalice max_concurrent=2\r\n"
        let edited = try UserLimitsFile.edited(text, user: "alice", admin: true)
        #expect(edited == "# limits\r\nroot admin\r\nalice admin max_concurrent=2\r\n")
        #expect(try UserLimitsFile.edited(text, user: "bob", admin: true) == text + "bob admin\r\n")
    }

    @Test(arguments: ["has space", "#hash", "tab\there", "colon:name", ""])
    func namesTheFileCannotHoldAreRefused(name: String) {
        #expect(throws: IdentityLimits.Problem.self) { try UserLimitsFile.edited(Self.limitsText, user: name, admin: true) }
    }

    @Test func aFileThatDoesNotParseIsNotEdited() {
        for text in ["alice max_concurency=1\n", "alice admin\nalice admin\n", "alice admin admin\n"] {
            #expect(throws: IdentityLimits.Problem.self) { try UserLimitsFile.edited(text, user: "bob", admin: true) }
        }
    }

    // MARK: Keys

    @Test func aKeysScopeAndExpiryChangeAndTheRestStays() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var file = APIKeyFile()
        _ = try file.addKey(named: "ci", scope: .inference, expires: nil, limits: IdentityLimits(maxConcurrent: 2), now: now)
        _ = try file.addKey(named: "ops", scope: .admin, expires: "30d", limits: IdentityLimits(), now: now)
        let before = file.keys

        try file.updateKey(named: "ci", scope: .admin, now: now)
        #expect(file.keys[0].scope == .admin && file.keys[0].expires == nil && file.keys[0].limits == before[0].limits)
        try file.updateKey(named: "ci", expires: "12h", now: now)
        #expect(file.keys[0].expires == now.addingTimeInterval(12 * 3600) && file.keys[0].scope == .admin)
        try file.updateKey(named: "ci", expires: "2027-01-31", now: now.addingTimeInterval(-86_400 * 365))
        #expect(file.keys[0].expires.map(APIKeyFile.text) == "2027-01-31T00:00:00Z")
        try file.updateKey(named: "ci", expires: "never", now: now)
        #expect(file.keys[0].expires == nil)
        // What identifies the key never changes, nor does the other key.
        #expect(file.keys[0].digest == before[0].digest && file.keys[0].prefix == before[0].prefix)
        #expect(file.keys[0].created == before[0].created && file.keys[1] == before[1])

        // Bad input: nothing changes, not even the part that was good.
        let good = file
        for expires in ["2020-01-01", "yesterday", "-5d", "0s"] {
            #expect(throws: APIKeyFile.Problem.self) { try file.updateKey(named: "ci", scope: .inference, expires: expires, now: now) }
        }
        #expect(throws: APIKeyFile.Problem.self) { try file.updateKey(named: "nobody", scope: .admin, now: now) }
        #expect(file == good)
        // The written file reads back the same.
        #expect(try APIKeyFile(text: file.serialized()) == file)
    }
}
