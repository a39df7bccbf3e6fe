/// Why a forward pass could not run.
public struct InferenceError: Error, Sendable, CustomStringConvertible {
    /// A kind of inference problem.
    public struct Code: Hashable, Sendable {
        private enum Backing: Hashable, Sendable {
            case invalidToken
            case contextFull
            case emptyInput
            case invalidCache
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// A token id outside the vocabulary.
        public static let invalidToken = Code(.invalidToken)
        /// The tokens do not fit in the KV cache (or the model's context).
        public static let contextFull = Code(.contextFull)
        /// No tokens were given.
        public static let emptyInput = Code(.emptyInput)
        /// A cache made for a model of another shape, or one cache given
        /// for two sequences of a batch.
        public static let invalidCache = Code(.invalidCache)
    }

    /// What kind of problem this is.
    public let code: Code
    /// A sentence naming what is wrong.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
