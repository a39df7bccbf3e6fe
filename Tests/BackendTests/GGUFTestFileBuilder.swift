import Foundation

/// Writes GGUF bytes field by field, so that tests can build well-formed
/// files and then break them in exactly one place.
struct GGUFTestFileBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ value: Float) { u32(value.bitPattern) }
    mutating func string(_ value: String) {
        u64(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// One tensor directory entry.
    struct Tensor {
        var name: String
        var dimensions: [UInt64]
        var type: UInt32
        var offset: UInt64
    }

    /// Offsets of each section of a file made by ``wellFormed(version:)``, for truncation tests.
    struct Sections {
        var header: Range<Int>
        var metadata: Range<Int>
        var tensorDirectory: Range<Int>
        var data: Range<Int>
    }

    /// A small valid file: a string, a uint32, a float32 array, a string
    /// array and an int32 array of metadata, and two tensors (F32 4×2, Q8_0 32×1).
    static func wellFormed(version: UInt32 = 3, tensors: [Tensor]? = nil, alignment: UInt32? = nil) -> (bytes: [UInt8], sections: Sections) {
        var b = GGUFTestFileBuilder()
        let tensors = tensors ?? [
            Tensor(name: "a.weight", dimensions: [4, 2], type: 0, offset: 0),
            Tensor(name: "b.weight", dimensions: [32, 1], type: 8, offset: 32),
        ]
        b.bytes += Array("GGUF".utf8)
        b.u32(version)
        b.u64(UInt64(tensors.count))
        b.u64(alignment == nil ? 5 : 6)
        let header = 0..<b.bytes.count

        b.string("general.architecture"); b.u32(8); b.string("llama")
        b.string("llama.context_length"); b.u32(4); b.u32(128)
        b.string("tokenizer.ggml.scores"); b.u32(9); b.u32(6); b.u64(3); b.f32(0.5); b.f32(-1); b.f32(2)
        b.string("tokenizer.ggml.tokens"); b.u32(9); b.u32(8); b.u64(2); b.string("<s>"); b.string("é")
        b.string("tokenizer.ggml.token_type"); b.u32(9); b.u32(5); b.u64(2); b.u32(3); b.u32(1)
        if let alignment {
            b.string("general.alignment"); b.u32(4); b.u32(alignment)
        }
        let metadata = header.upperBound..<b.bytes.count

        for tensor in tensors {
            b.string(tensor.name)
            b.u32(UInt32(tensor.dimensions.count))
            for extent in tensor.dimensions { b.u64(extent) }
            b.u32(tensor.type)
            b.u64(tensor.offset)
        }
        let directory = metadata.upperBound..<b.bytes.count
        b.pad(to: Int(alignment ?? 32))
        let dataStart = b.bytes.count
        // a.weight: 8 floats (32 bytes); b.weight: one Q8_0 block (34 bytes).
        for value in 0..<8 { b.f32(Float(value)) }
        b.bytes += [0x00, 0x3C] + (0..<32).map { UInt8($0) }
        return (b.bytes, Sections(header: header, metadata: metadata, tensorDirectory: directory, data: dataStart..<b.bytes.count))
    }
}

/// A temporary file holding `bytes`, removed when the test ends.
struct TemporaryFile: ~Copyable {
    let path: String

    init(_ bytes: [UInt8]) throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("lmgate-test-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
