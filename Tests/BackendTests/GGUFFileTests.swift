import Foundation
import Testing

@testable import Backend

@Suite("GGUF reader")
struct GGUFFileTests {
    /// Opens `bytes` as a GGUF file and returns the error it raised.
    private func openError(_ bytes: [UInt8]) throws -> GGUFError {
        let file = try TemporaryFile(bytes)
        do {
            _ = try GGUFFile(path: file.path)
        } catch {
            return error
        }
        Issue.record("file was accepted")
        return GGUFError(.invalidValue, "accepted")
    }

    @Test("reads the metadata and tensors of a well-formed file", arguments: [UInt32(2), 3])
    func readsWellFormedFile(version: UInt32) throws {
        let (bytes, sections) = GGUFTestFileBuilder.wellFormed(version: version)
        let temporary = try TemporaryFile(bytes)
        let file = try GGUFFile(path: temporary.path)
        #expect(file.version == version)
        #expect(try file.metadata.string("general.architecture") == "llama")
        #expect(try file.metadata.uint32("llama.context_length") == 128)
        #expect(try file.metadata.float32Array("tokenizer.ggml.scores") == [0.5, -1, 2])
        #expect(try file.metadata.stringArray("tokenizer.ggml.tokens") == ["<s>", "é"])
        #expect(try file.metadata.int32Array("tokenizer.ggml.token_type") == [3, 1])
        #expect(try file.metadata.string("absent") == nil)
        #expect(file.tensorNames == ["a.weight", "b.weight"])
        #expect(file.dataOffset == sections.data.lowerBound)

        let a = try file.tensor("a.weight")
        #expect(a.type == .f32 && a.columns == 4 && a.rows == 2 && a.byteCount == 32)
        let floats = (0..<8).map { a.data.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        #expect(floats == [0, 1, 2, 3, 4, 5, 6, 7])
        let b = try file.tensor("b.weight")
        #expect(b.type == .q8_0 && b.byteCount == 34 && b.fileOffset == sections.data.lowerBound + 32)
        #expect(b.data.load(fromByteOffset: 33, as: UInt8.self) == 31)
    }

    @Test("a metadata value of the wrong type or a missing key is a clear error")
    func metadataTypeErrors() throws {
        let temporary = try TemporaryFile(GGUFTestFileBuilder.wellFormed().bytes)
        let file = try GGUFFile(path: temporary.path)
        let mismatch = #expect(throws: GGUFError.self) { try file.metadata.uint32("general.architecture") }
        #expect(mismatch?.code == .metadataTypeMismatch)
        #expect(mismatch?.description.contains("'general.architecture' is string, expected uint32") == true)
        let missing = #expect(throws: GGUFError.self) { try file.metadata.requiredString("general.name") }
        #expect(missing?.code == .missingMetadata)
        let tensor = #expect(throws: GGUFError.self) { try file.tensor("output.weight") }
        #expect(tensor?.code == .missingTensor)
    }

    @Test("a file truncated anywhere is refused with a truncation or bounds error")
    func truncatedEverywhere() throws {
        let (bytes, sections) = GGUFTestFileBuilder.wellFormed()
        // Cut inside each section, and at every byte before the data.
        for length in 0..<sections.data.lowerBound {
            let error = try openError(Array(bytes[..<length]))
            let expected: [GGUFError.Code] = [.truncated, .invalidCount, .tensorOutOfBounds]
            #expect(expected.contains(error.code), "cut at \(length): \(error)")
        }
        let cutHeader = try openError(Array(bytes[..<(sections.header.upperBound - 3)]))
        #expect(cutHeader.description.contains("metadata count"))
        let cutMetadata = try openError(Array(bytes[..<(sections.metadata.upperBound - 2)]))
        #expect(cutMetadata.description.contains("'tokenizer.ggml.token_type'"))
        let cutDirectory = try openError(Array(bytes[..<(sections.tensorDirectory.upperBound - 4)]))
        #expect(cutDirectory.description.contains("data offset of tensor 'b.weight'"))
        for length in sections.data.lowerBound..<sections.data.upperBound {
            let error = try openError(Array(bytes[..<length]))
            #expect(error.code == .tensorOutOfBounds, "cut at \(length): \(error)")
        }
        let cutData = try openError(Array(bytes.dropLast()))
        #expect(cutData.description.contains("tensor 'b.weight' data (34 bytes at data offset 32)"))
    }

    @Test("the wrong magic number or version is refused")
    func magicAndVersion() throws {
        var bytes = GGUFTestFileBuilder.wellFormed().bytes
        bytes[0] = UInt8(ascii: "X")
        let magic = try openError(bytes)
        #expect(magic.code == .badMagic && magic.description.contains("not a GGUF file"))
        for version: UInt32 in [1, 4, 0x0300_0000] {
            let versioned = try openError(GGUFTestFileBuilder.wellFormed(version: version).bytes)
            #expect(versioned.code == .unsupportedVersion && versioned.description.contains("version \(version)"))
        }
        let empty = try openError([])
        #expect(empty.code == .truncated && empty.description.contains("magic number"))
    }

    @Test("absurd counts and lengths are refused before any allocation")
    func absurdCounts() throws {
        let (bytes, sections) = GGUFTestFileBuilder.wellFormed()
        func patched(at offset: Int, _ value: UInt64) -> [UInt8] {
            var copy = bytes
            withUnsafeBytes(of: value.littleEndian) { copy.replaceSubrange(offset..<offset + 8, with: $0) }
            return copy
        }
        let tensors = try openError(patched(at: 8, .max))
        #expect(tensors.code == .invalidCount && tensors.description.contains("tensor count"))
        let keys = try openError(patched(at: 16, 1 << 40))
        #expect(keys.code == .invalidCount && keys.description.contains("metadata count"))
        let keyLength = try openError(patched(at: sections.metadata.lowerBound, .max - 3))
        #expect(keyLength.code == .invalidCount && keyLength.description.contains("length of metadata key #0"))
        // The scores array's count follows its key (8 + 21 bytes), value type and element type.
        let scores = sections.metadata.lowerBound + (8 + 20 + 4 + 8 + 5) + (8 + 20 + 4 + 4) + (8 + 21 + 4 + 4)
        let array = try openError(patched(at: scores, 1 << 62))
        #expect(array.code == .invalidCount && array.description.contains("element count of metadata value 'tokenizer.ggml.scores'"))
    }

    @Test("tensor data outside the file or off the alignment is refused")
    func badOffsets() throws {
        typealias T = GGUFTestFileBuilder.Tensor
        let beyond = try openError(GGUFTestFileBuilder.wellFormed(tensors: [T(name: "x", dimensions: [8], type: 0, offset: 1 << 50)]).bytes)
        #expect(beyond.code == .tensorOutOfBounds && beyond.description.contains("tensor 'x'"))
        let overlong = try openError(GGUFTestFileBuilder.wellFormed(tensors: [T(name: "x", dimensions: [1 << 20, 1 << 20], type: 0, offset: 0)]).bytes)
        #expect(overlong.code == .tensorOutOfBounds)
        let overflow = try openError(GGUFTestFileBuilder.wellFormed(tensors: [T(name: "x", dimensions: [1 << 40, 1 << 40], type: 0, offset: 0)]).bytes)
        #expect(overflow.code == .invalidTensor && overflow.description.contains("too many"))
        let misaligned = try openError(GGUFTestFileBuilder.wellFormed(tensors: [T(name: "x", dimensions: [2], type: 0, offset: 4)]).bytes)
        #expect(misaligned.code == .invalidAlignment && misaligned.description.contains("not a multiple of the alignment 32"))
        let badAlignment = try openError(GGUFTestFileBuilder.wellFormed(alignment: 24).bytes)
        #expect(badAlignment.code == .invalidAlignment && badAlignment.description.contains("general.alignment"))
        let fiveDimensions = try openError(GGUFTestFileBuilder.wellFormed(tensors: [T(name: "x", dimensions: [1, 1, 1, 1, 1], type: 0, offset: 0)]).bytes)
        #expect(fiveDimensions.code == .invalidTensor && fiveDimensions.description.contains("5 dimensions"))
        let partialBlock = try openError(GGUFTestFileBuilder.wellFormed(tensors: [T(name: "x", dimensions: [16], type: 8, offset: 0)]).bytes)
        #expect(partialBlock.code == .invalidTensor && partialBlock.description.contains("block size 32"))
        let duplicate = try openError(GGUFTestFileBuilder.wellFormed(tensors: [T(name: "x", dimensions: [2], type: 0, offset: 0), T(name: "x", dimensions: [2], type: 0, offset: 0)]).bytes)
        #expect(duplicate.code == .duplicateKey && duplicate.description.contains("tensor 'x' occurs twice"))
    }

    @Test("a larger alignment is honoured")
    func customAlignment() throws {
        let (bytes, sections) = GGUFTestFileBuilder.wellFormed(tensors: [.init(name: "x", dimensions: [2], type: 0, offset: 0)], alignment: 64)
        let temporary = try TemporaryFile(bytes)
        let file = try GGUFFile(path: temporary.path)
        #expect(file.alignment == 64 && file.dataOffset == sections.data.lowerBound && file.dataOffset % 64 == 0)
    }

    @Test("unsupported and unknown tensor types are named")
    func unsupportedTypes() throws {
        let iq2 = try openError(GGUFTestFileBuilder.wellFormed(tensors: [.init(name: "blk.0.ffn_up.weight", dimensions: [256], type: 16, offset: 0)]).bytes)
        #expect(iq2.code == .unsupportedTensorType)
        #expect(iq2.description.contains("tensor 'blk.0.ffn_up.weight' has type IQ2_XXS"))
        let unknown = try openError(GGUFTestFileBuilder.wellFormed(tensors: [.init(name: "x", dimensions: [2], type: 99, offset: 0)]).bytes)
        #expect(unknown.code == .unsupportedTensorType && unknown.description.contains("unknown type id 99"))
    }

    @Test("unknown metadata value types and bad booleans are refused")
    func badValues() throws {
        var bytes = GGUFTestFileBuilder.wellFormed().bytes
        let typeOffset = 24 + 8 + "general.architecture".utf8.count
        bytes[typeOffset] = 77
        let unknown = try openError(bytes)
        #expect(unknown.code == .invalidValue && unknown.description.contains("'general.architecture' has unknown value type 77"))
        bytes[typeOffset] = 7  // bool, whose byte is then the first of the string length (5)
        let badBool = try openError(bytes)
        #expect(badBool.code == .invalidValue && badBool.description.contains("stored as 5"))
    }

    @Test("a file that does not exist is a clear error")
    func missingFile() {
        let error = #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/lmgate/model.gguf") }
        #expect(error?.code == .cannotOpen && error?.description.contains("/nonexistent/lmgate/model.gguf") == true)
    }

    @Test("reads a llama.cpp-written model")
    func readsFixtureModel() throws {
        let url = try #require(Bundle.module.url(forResource: "compact-llama-spm-q4_k_m", withExtension: "gguf", subdirectory: "Fixtures/models"))
        let file = try GGUFFile(path: url.path)
        #expect(try file.metadata.string("general.architecture") == "llama")
        #expect(try file.metadata.stringArray("tokenizer.ggml.tokens")?.count == 32000)
        let embeddings = try file.tensor("token_embd.weight")
        #expect(embeddings.dimensions == [256, 32000])
        let types = Set(file.tensors.values.map(\.type))
        #expect(types.isSuperset(of: [.q4_K, .q6_K, .f32]))
    }
}
