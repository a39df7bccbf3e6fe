import Foundation
import Testing

@testable import Backend

/// `Fixtures/chat_templates`: real models' templates and their renderings by
/// the reference Jinja (Python jinja2, configured as transformers does), made
/// by `generate_expected.py` there.
enum ChatTemplateFixture {
    struct Message: Decodable, Sendable {
        let role: String
        let content: String

        var chatMessage: ChatMessage { ChatMessage(role: role, content: content) }
    }

    /// What the reference gave: text, or an error (for `raise_exception`, its
    /// message; for a syntax error, its line).
    struct Outcome: Decodable, Sendable {
        let output: String?
        let error: String?
        let raised: Bool?
        let line: Int?
    }

    /// One template rendered for one conversation.
    struct TemplateCase: Decodable, Sendable, CustomTestStringConvertible {
        let template: String
        let conversation: String
        let messages: [Message]
        let addGenerationPrompt: Bool
        let bosToken: String
        let eosToken: String
        let outcome: Outcome

        var testDescription: String { "\(template) \(conversation)\(addGenerationPrompt ? " +prompt" : "")" }

        enum CodingKeys: String, CodingKey {
            case template, conversation, messages
            case addGenerationPrompt = "add_generation_prompt"
            case bosToken = "bos_token"
            case eosToken = "eos_token"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            template = try container.decode(String.self, forKey: .template)
            conversation = try container.decode(String.self, forKey: .conversation)
            messages = try container.decode([Message].self, forKey: .messages)
            addGenerationPrompt = try container.decode(Bool.self, forKey: .addGenerationPrompt)
            bosToken = try container.decode(String.self, forKey: .bosToken)
            eosToken = try container.decode(String.self, forKey: .eosToken)
            outcome = try Outcome(from: decoder)
        }
    }

    /// A small template exercising one feature, rendered with `featureMessages`.
    struct FeatureCase: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let template: String
        let outcome: Outcome

        var testDescription: String { name }

        enum CodingKeys: String, CodingKey { case name, template }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            template = try container.decode(String.self, forKey: .template)
            outcome = try Outcome(from: decoder)
        }
    }

    struct Expected: Decodable, Sendable {
        let now: String
        let featureMessages: [Message]
        let templates: [TemplateCase]
        let features: [FeatureCase]

        enum CodingKeys: String, CodingKey {
            case now, templates, features
            case featureMessages = "feature_messages"
        }
    }

    static func url(_ name: String, _ fileExtension: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: fileExtension, subdirectory: "Fixtures/chat_templates"))
    }

    static let expected: Expected = {
        do {
            return try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url("expected", "json")))
        } catch {
            fatalError("Fixtures/chat_templates/expected.json: \(error)")
        }
    }()

    /// The moment `strftime_now` formats in the reference renderings, in UTC.
    static var clock: ChatTemplateClock {
        get throws {
            let now = try #require(ISO8601DateFormatter().date(from: expected.now))
            return ChatTemplateClock(now: now, timeZone: try #require(TimeZone(identifier: "UTC")))
        }
    }

    static func source(_ template: String) throws -> String {
        try String(contentsOf: url(template, "jinja"), encoding: .utf8)
    }

    /// The context the reference rendered features with.
    static var featureContext: [String: JinjaValue] {
        [
            "messages": .list(expected.featureMessages.map {
                .dictionary(JinjaDictionary([("role", .string($0.role)), ("content", .string($0.content))]))
            }),
            "add_generation_prompt": .boolean(true),
            "bos_token": .string("<s>"),
            "eos_token": .string("</s>"),
        ]
    }
}
