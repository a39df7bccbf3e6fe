/// Why a tokenizer could not be built from a vocabulary or a GGUF file.
///
/// The ``code`` says what kind of problem it is, so codes can grow without
/// breaking callers; the ``description`` says exactly what is wrong.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    /// A kind of tokenizer problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case unsupportedModel
            case unsupportedPreTokenizer
            case missingVocabulary
            case inconsistentVocabulary
            case invalidSpecialToken
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// `tokenizer.ggml.model` names an algorithm lmgate does not implement.
        public static let unsupportedModel = Code(.unsupportedModel)
        /// `tokenizer.ggml.pre` names a pre-tokenizer lmgate does not implement.
        public static let unsupportedPreTokenizer = Code(.unsupportedPreTokenizer)
        /// The token list (or, for BPE, the merge list) is absent or empty.
        public static let missingVocabulary = Code(.missingVocabulary)
        /// Scores or token types do not match the token list in length.
        public static let inconsistentVocabulary = Code(.inconsistentVocabulary)
        /// A special token id lies outside the vocabulary.
        public static let invalidSpecialToken = Code(.invalidSpecialToken)

        public var description: String { String(describing: backing) }
    }

    /// What kind of problem this is.
    public let code: Code
    /// What exactly is wrong.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "tokenizer: \(message)" }
}
