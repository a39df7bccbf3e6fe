import Foundation
import Testing

@testable import Backend

/// Broken and hostile templates end in errors, quickly, never in a crash or a hang.
@Suite("ChatTemplate limits and errors")
struct ChatTemplateLimitsTests {
    let tokens = ChatTemplateTokens(beginningOfSequence: "<s>", endOfSequence: "</s>")
    let messages = [ChatMessage(role: "user", content: "Hi")]

    private func renderError(_ source: String) throws -> ChatTemplateError {
        let template = try ChatTemplate(jinja: source)
        return try #require(throws: ChatTemplateError.self) {
            try template.render(messages, addGenerationPrompt: true, tokens: tokens)
        }
    }

    @Test("syntax errors name line and column")
    func syntaxErrorLocation() throws {
        let cases: [(source: String, location: String)] = [
            ("ok\n{{ 1 + }}", "line 2, column 8"),  // at '}}'
            ("{% for m in messages %}\n  {{ m.role ]] }}\n{% endfor %}", "line 2, column 13"),  // the stray ']'
            ("{% if true %}\n{% endfor %}", "line 2, column 4"),  // 'endfor' inside 'if'
            ("{{ 'é' ~ @ }}", "line 1, column 10"),  // columns count characters, not bytes
            ("a\n{% if x %}", "line 2, column 4"),  // the unclosed 'if'
        ]
        for (source, location) in cases {
            let error = try #require(throws: ChatTemplateError.self) { try ChatTemplate(jinja: source) }
            #expect(error.description.contains(location), "\(source.debugDescription): \(error)")
        }
    }

    @Test("runaway loops stop at the step budget")
    func runawayLoop() throws {
        let source = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
        // A small budget keeps the test fast in debug builds; the mechanism is the same.
        var limits = JinjaLimits.standard
        limits.maximumSteps = 20_000
        let error = try #require(throws: JinjaError.self) { try JinjaTemplate(source, limits: limits).render([:]) }
        #expect(error.description.contains("20000 steps"), "\(error)")
        #expect(JinjaLimits.standard.maximumSteps >= 1_000_000)
    }

    @Test("huge values and output are refused")
    func hugeValues() throws {
        #expect(try renderError("{{ range(1000000000)|length }}").description.contains("exceeds"))
        #expect(try renderError("{{ ([0] * 10000000)|length }}").description.contains("exceeds"))
        #expect(try renderError("{{ 'x' * 1000000000 }}").description.contains("exceeds"))
        #expect(try renderError("{% set s = 'abcdefgh' * 1000000 %}{% for i in range(10) %}{{ s }}{% endfor %}").description.contains("exceeds"))
        #expect(try renderError("{{ 9223372036854775807 + 1 }}").description.contains("overflow"))
        #expect(try renderError("{{ 2 ** 100 }}").description.contains("overflow"))
        // One long string repeated by reference, then printed, joined or replaced into.
        let long = "{% set s = 'x' * 1000000 %}{% set l = [s] * 20 %}"
        #expect(try renderError(long + "{{ l }}").description.contains("exceeds"))
        #expect(try renderError(long + "{{ l|join }}").description.contains("exceeds"))
        #expect(try renderError(long + "{{ l|tojson }}").description.contains("exceeds"))
        #expect(try renderError(long + "{{ s.replace('', s) }}").description.contains("exceeds"))
        #expect(try renderError("{{ range(-9223372036854775807, 9223372036854775807)|length }}").description.contains("large"))
        let extremes = try ChatTemplate(jinja: "{{ [1, 2, 3][::-9223372036854775807] }}{{ [1, 2][1::9223372036854775807] }}{{ ''.join([]) * 9999999999 }}")
        #expect(try extremes.render(messages, addGenerationPrompt: false, tokens: tokens) == "[3][2]")
    }

    @Test("unbounded recursion is an error, not a stack overflow")
    func recursion() throws {
        let error = try renderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        #expect(error.description.contains("deeper than"), "\(error)")
        let deep = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        let parseError = try #require(throws: ChatTemplateError.self) { try ChatTemplate(jinja: "{{ \(deep) }}") }
        #expect(parseError.description.contains("deeper than"), "\(parseError)")
        let blocks = String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000)
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(jinja: blocks) }
    }

    @Test("raise_exception gives the template's message, other runtime errors their place")
    func runtimeErrors() throws {
        #expect(try renderError("{{ raise_exception('No system role') }}").description == "No system role")
        let error = try renderError("x\n  {{ messages[0].role.nope.deeper }}")
        #expect(error.description.contains("line 2"), "\(error)")
    }

    @Test("the generation tag of Hugging Face templates renders its content")
    func generationTag() throws {
        let tagged = try ChatTemplate(jinja: "{% for m in messages %}{% generation %}[{{ m.content }}]{% endgeneration %}{% endfor %}")
        let plain = try ChatTemplate(jinja: "{% for m in messages %}[{{ m.content }}]{% endfor %}")
        let rendered = try tagged.render(messages, addGenerationPrompt: false, tokens: tokens)
        #expect(rendered == (try plain.render(messages, addGenerationPrompt: false, tokens: tokens)))
        #expect(rendered == "[Hi]")
    }

    @Test("ChatML fallback and the ChatML-style Jinja template agree")
    func chatMLMatchesJinja() throws {
        let source = """
            {% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
            """
        let conversation = [
            ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "U"),
            ChatMessage(role: "assistant", content: "A"),
        ]
        for addGenerationPrompt in [true, false] {
            #expect(
                try ChatTemplate(jinja: source).render(conversation, addGenerationPrompt: addGenerationPrompt, tokens: tokens)
                    == ChatTemplate.chatML.render(conversation, addGenerationPrompt: addGenerationPrompt, tokens: tokens))
        }
    }
}
