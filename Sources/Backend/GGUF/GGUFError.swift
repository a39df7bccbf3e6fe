/// Why a GGUF file could not be read, or why a model could not be built from it.
///
/// The ``code`` says what kind of problem it is (so callers and tests can match
/// on it, and new codes can be added without breaking them); the
/// ``description`` names exactly what is wrong and where.
public struct GGUFError: Error, Sendable, CustomStringConvertible {
    /// A kind of GGUF problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case cannotOpen
            case truncated
            case badMagic
            case unsupportedVersion
            case invalidCount
            case invalidValue
            case duplicateKey
            case invalidAlignment
            case invalidTensor
            case unsupportedTensorType
            case tensorOutOfBounds
            case missingMetadata
            case metadataTypeMismatch
            case missingTensor
            case invalidModel
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// The file could not be opened, read or memory-mapped.
        public static let cannotOpen = Code(.cannotOpen)
        /// A section needs more bytes than the file has.
        public static let truncated = Code(.truncated)
        /// The file does not start with `GGUF`.
        public static let badMagic = Code(.badMagic)
        /// The format version is not 2 or 3.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A count or length is larger than the rest of the file could hold.
        public static let invalidCount = Code(.invalidCount)
        /// A metadata value has an unknown type or is malformed.
        public static let invalidValue = Code(.invalidValue)
        /// A metadata key or tensor name occurs twice.
        public static let duplicateKey = Code(.duplicateKey)
        /// `general.alignment` is not a power of two, or an offset is not aligned.
        public static let invalidAlignment = Code(.invalidAlignment)
        /// A tensor's shape is malformed.
        public static let invalidTensor = Code(.invalidTensor)
        /// A tensor has an element type lmgate does not compute with.
        public static let unsupportedTensorType = Code(.unsupportedTensorType)
        /// A tensor's data lies (partly) outside the file.
        public static let tensorOutOfBounds = Code(.tensorOutOfBounds)
        /// A required metadata key is absent.
        public static let missingMetadata = Code(.missingMetadata)
        /// A metadata value has another type than the one asked for.
        public static let metadataTypeMismatch = Code(.metadataTypeMismatch)
        /// A tensor the model needs is absent.
        public static let missingTensor = Code(.missingTensor)
        /// The metadata and tensors do not describe a model lmgate can run.
        public static let invalidModel = Code(.invalidModel)

        public var description: String { String(describing: backing) }
    }

    /// What kind of problem this is.
    public let code: Code
    /// A sentence naming what is wrong.
    public let message: String

    /// Makes an error of the given kind; `message` names what is wrong.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "GGUF: \(message)" }
}
