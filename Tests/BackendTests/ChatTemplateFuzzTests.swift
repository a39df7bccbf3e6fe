import Foundation
import Testing

@testable import Backend

/// Damaged templates: each real template cut, spliced and sprinkled with
/// Jinja syntax at random (a fixed seed, so failures reproduce). Every
/// variant must parse and render, or fail with a ``ChatTemplateError``;
/// a crash or a hang fails the whole run.
@Suite("ChatTemplate fuzzing")
struct ChatTemplateFuzzTests {
    static let templates = Set(ChatTemplateFixture.expected.templates.map(\.template)).sorted()

    /// Pieces of Jinja syntax to splice in.
    static let fragments = [
        "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{% endif %}", "{% endfor %}", "{% else %}", "(", ")", "[", "]",
        "{", "}", "'", "\"", "|", ".", ",", ":", "~", "-", "*", "**", "//", "==", " not ", " in ", " is ", " if ", "loop",
        "messages", "[::-1]", "|join", "|tojson", "|length", "namespace(", "range(9)", "raise_exception('x')", "\\", "é", "\n",
    ]

    static func mutate(_ source: String, _ random: inout SeededRandomGenerator) -> String {
        var scalars = Array(source.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = Int.random(in: 0...scalars.count, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0:  // delete a stretch
                let end = min(scalars.count, position + Int.random(in: 1...12, using: &random))
                if position < end { scalars.removeSubrange(position..<end) }
            case 1:  // insert syntax
                scalars.insert(contentsOf: fragments.randomElement(using: &random)!.unicodeScalars, at: position)
            default:  // duplicate a stretch elsewhere
                let start = Int.random(in: 0...scalars.count, using: &random)
                let piece = scalars[start..<min(scalars.count, start + Int.random(in: 1...40, using: &random))]
                scalars.insert(contentsOf: Array(piece), at: position)
            }
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    @Test("damaged templates render or throw, never crash", arguments: templates)
    func damagedTemplates(_ name: String) throws {
        let source = try ChatTemplateFixture.source(name)
        let conversation = [
            ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "U"),
            ChatMessage(role: "assistant", content: "A"), ChatMessage(role: "user", content: "V"),
        ]
        let tokens = ChatTemplateTokens(beginningOfSequence: "<s>", endOfSequence: "</s>")
        var random = SeededRandomGenerator(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        var parsed = 0
        var rejected = 0
        for _ in 0..<150 {
            let damaged = Self.mutate(source, &random)
            guard let template = try? ChatTemplate(jinja: damaged) else {
                rejected += 1
                continue
            }
            parsed += 1
            do {
                let prompt = try template.render(conversation, addGenerationPrompt: true, tokens: tokens)
                #expect(prompt.utf8.count <= JinjaLimits.standard.maximumOutputBytes)
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        // Both outcomes occur, so the damage is neither always fatal nor always harmless.
        #expect(parsed > 0 && rejected > 0, "parsed \(parsed), rejected \(rejected)")
    }
}
