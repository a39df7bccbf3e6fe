/// A GGUF file (format versions 2 and 3), memory-mapped and validated.
///
/// Opening a file reads its header, metadata and tensor directory, and checks
/// every count, length, offset, shape and alignment against the file's size
/// before using it: a truncated, corrupted or hostile file yields a
/// ``GGUFError`` naming what is wrong, never a crash or an allocation larger
/// than the file. Tensor data is not copied; ``GGUFTensorInfo/data`` points
/// into the mapping, which lives as long as this object.
///
/// ```swift
/// let file = try GGUFFile(path: "model.gguf")
/// let architecture = try file.metadata.requiredString("general.architecture")
/// let embeddings = try file.tensor("token_embd.weight")
/// ```
public final class GGUFFile: Sendable {
    /// The format version (2 or 3).
    public let version: UInt32
    /// The metadata key–value pairs.
    public let metadata: GGUFMetadata
    /// The tensors by name.
    public let tensors: [String: GGUFTensorInfo]
    /// The tensor names in the order the file lists them.
    public let tensorNames: [String]
    /// The alignment of tensor data (`general.alignment`, 32 by default).
    public let alignment: Int
    /// The offset of the tensor data section from the start of the file.
    public let dataOffset: Int
    /// The file's size in bytes.
    public let fileSize: Int

    private let mapping: MemoryMappedFile

    /// The magic number: `GGUF` read as a little-endian `UInt32`.
    static let magic: UInt32 = 0x4655_4747
    /// The alignment used when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// GGML tensors have at most four dimensions.
    static let maximumDimensions = 4
    /// Nested metadata arrays deeper than this are refused (no real file nests at all).
    static let maximumArrayDepth = 4

    /// The types lmgate computes with, for error messages.
    static var supportedTypeNames: String {
        GGMLType.allCases.filter { $0.layout != nil }.map(\.name).joined(separator: ", ")
    }

    /// Memory-maps and validates the GGUF file at `path`.
    public init(path: String) throws(GGUFError) {
        mapping = try MemoryMappedFile(path: path)
        let bytes = mapping.bytes
        fileSize = bytes.count
        var reader = GGUFByteReader(bytes)

        let magic = try reader.read(UInt32.self, "magic number")
        guard magic == Self.magic else {
            throw GGUFError(.badMagic, "'\(path)' is not a GGUF file (magic 0x\(String(magic, radix: 16)), expected 'GGUF')")
        }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw GGUFError(.unsupportedVersion, "unsupported GGUF version \(version) (lmgate reads versions 2 and 3)")
        }
        // The smallest tensor entry: empty name (8), dimension count (4), type (4), offset (8).
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let metadataCount = try reader.readCount(minimumSize: 8 + 4 + 1, "metadata count")
        guard tensorCount <= UInt64(reader.remaining / 24) else {
            throw GGUFError(
                .invalidCount,
                "tensor count is \(tensorCount), but the \(reader.remaining) remaining bytes hold at most \(reader.remaining / 24)")
        }

        var values: [String: GGUFValue] = [:]
        for index in 0..<metadataCount {
            let key = try reader.readString("metadata key #\(index)")
            let value = try Self.readValue(&reader, depth: 0, what: "metadata value '\(key)'")
            guard values.updateValue(value, forKey: key) == nil else {
                throw GGUFError(.duplicateKey, "metadata key '\(key)' occurs twice")
            }
        }
        metadata = GGUFMetadata(values)

        if let value = values["general.alignment"] {
            guard let alignment = value.integer, alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 20 else {
                throw GGUFError(.invalidAlignment, "general.alignment must be a power of two, found \(value)")
            }
            self.alignment = alignment
        } else {
            alignment = Self.defaultAlignment
        }

        struct Entry {
            let name: String
            let dimensions: [Int]
            let type: GGMLType
            let offset: UInt64
        }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(tensorCount))
        for index in 0..<Int(tensorCount) {
            let name = try reader.readString("name of tensor #\(index)")
            let dimensionCount = try reader.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard (1...UInt32(Self.maximumDimensions)).contains(dimensionCount) else {
                throw GGUFError(.invalidTensor, "tensor '\(name)' has \(dimensionCount) dimensions (1 to \(Self.maximumDimensions) allowed)")
            }
            var dimensions: [Int] = []
            for axis in 0..<Int(dimensionCount) {
                let extent = try reader.read(UInt64.self, "dimension \(axis) of tensor '\(name)'")
                guard extent <= UInt64(Int.max) else {
                    throw GGUFError(.invalidTensor, "tensor '\(name)' has dimension \(axis) of \(extent)")
                }
                dimensions.append(Int(extent))
            }
            let rawType = try reader.read(UInt32.self, "type of tensor '\(name)'")
            let offset = try reader.read(UInt64.self, "data offset of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError(.unsupportedTensorType, "tensor '\(name)' has unknown type id \(rawType)")
            }
            entries.append(Entry(name: name, dimensions: dimensions, type: type, offset: offset))
        }

        reader.align(to: alignment)
        dataOffset = reader.offset
        let dataSize = fileSize - dataOffset
        guard let base = bytes.baseAddress else {
            // Only an empty file has no base address, and it failed at the magic number.
            tensors = [:]
            tensorNames = []
            return
        }

        var tensors: [String: GGUFTensorInfo] = [:]
        var names: [String] = []
        for entry in entries {
            let name = entry.name
            guard let layout = entry.type.layout else {
                throw GGUFError(.unsupportedTensorType, "tensor '\(name)' has type \(entry.type.name), which lmgate does not support (supported: \(Self.supportedTypeNames))")
            }
            var elementCount = 1
            for extent in entry.dimensions {
                let (product, overflow) = elementCount.multipliedReportingOverflow(by: extent)
                guard !overflow else {
                    throw GGUFError(.invalidTensor, "tensor '\(name)' has shape \(entry.dimensions), too many elements")
                }
                elementCount = product
            }
            guard entry.dimensions[0] % layout.elementsPerBlock == 0 else {
                throw GGUFError(.invalidTensor, "tensor '\(name)' has rows of \(entry.dimensions[0]) elements, not a multiple of the \(entry.type.name) block size \(layout.elementsPerBlock)")
            }
            let (byteCount, overflow) = (elementCount / layout.elementsPerBlock).multipliedReportingOverflow(by: layout.bytesPerBlock)
            guard !overflow else {
                throw GGUFError(.invalidTensor, "tensor '\(name)' has shape \(entry.dimensions), too many bytes")
            }
            guard entry.offset % UInt64(alignment) == 0 else {
                throw GGUFError(.invalidAlignment, "tensor '\(name)' data offset \(entry.offset) is not a multiple of the alignment \(alignment)")
            }
            guard entry.offset <= UInt64(dataSize), byteCount <= dataSize - Int(entry.offset) else {
                throw GGUFError(.tensorOutOfBounds, "tensor '\(name)' data (\(byteCount) bytes at data offset \(entry.offset)) lies beyond the end of the file (\(dataSize) bytes of tensor data)")
            }
            let fileOffset = dataOffset + Int(entry.offset)
            let info = GGUFTensorInfo(
                name: name, type: entry.type, dimensions: entry.dimensions, elementCount: elementCount,
                byteCount: byteCount, fileOffset: fileOffset, data: base + fileOffset)
            guard tensors.updateValue(info, forKey: name) == nil else {
                throw GGUFError(.duplicateKey, "tensor '\(name)' occurs twice")
            }
            names.append(name)
        }
        self.tensors = tensors
        tensorNames = names
    }

    /// The tensor named `name`, or ``GGUFError/Code/missingTensor``.
    public func tensor(_ name: String) throws(GGUFError) -> GGUFTensorInfo {
        guard let tensor = tensors[name] else {
            throw GGUFError(.missingTensor, "tensor '\(name)' is missing")
        }
        return tensor
    }

    private static func readValue(_ reader: inout GGUFByteReader, depth: Int, what: @autoclosure () -> String) throws(GGUFError) -> GGUFValue {
        let rawType = try reader.read(UInt32.self, "type of \(what())")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError(.invalidValue, "\(what()) has unknown value type \(rawType)")
        }
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, what()))
        case .int8: return .int8(try reader.read(Int8.self, what()))
        case .uint16: return .uint16(try reader.read(UInt16.self, what()))
        case .int16: return .int16(try reader.read(Int16.self, what()))
        case .uint32: return .uint32(try reader.read(UInt32.self, what()))
        case .int32: return .int32(try reader.read(Int32.self, what()))
        case .uint64: return .uint64(try reader.read(UInt64.self, what()))
        case .int64: return .int64(try reader.read(Int64.self, what()))
        case .float32: return .float32(try reader.readFloat(what()))
        case .float64: return .float64(try reader.readDouble(what()))
        case .bool: return .bool(try readBool(&reader, what()))
        case .string: return .string(try reader.readString(what()))
        case .array: return .array(try readArray(&reader, depth: depth, what: what()))
        }
    }

    private static func readBool(_ reader: inout GGUFByteReader, _ what: @autoclosure () -> String) throws(GGUFError) -> Bool {
        let byte = try reader.read(UInt8.self, what())
        guard byte <= 1 else {
            throw GGUFError(.invalidValue, "\(what()) is a bool stored as \(byte), expected 0 or 1")
        }
        return byte == 1
    }

    private static func readArray(_ reader: inout GGUFByteReader, depth: Int, what: @autoclosure () -> String) throws(GGUFError) -> GGUFArray {
        guard depth < maximumArrayDepth else {
            throw GGUFError(.invalidValue, "\(what()) nests arrays deeper than \(maximumArrayDepth)")
        }
        let rawType = try reader.read(UInt32.self, "element type of \(what())")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError(.invalidValue, "\(what()) is an array of unknown value type \(rawType)")
        }
        let count = try reader.readCount(minimumSize: type.minimumEncodedSize, "element count of \(what())")
        func elements<T>(_ read: (inout GGUFByteReader, Int) throws(GGUFError) -> T) throws(GGUFError) -> [T] {
            var result: [T] = []
            result.reserveCapacity(count)
            for index in 0..<count {
                result.append(try read(&reader, index))
            }
            return result
        }
        switch type {
        case .uint8: return .uint8(try elements { (r, i) throws(GGUFError) in try r.read(UInt8.self, "\(what())[\(i)]") })
        case .int8: return .int8(try elements { (r, i) throws(GGUFError) in try r.read(Int8.self, "\(what())[\(i)]") })
        case .uint16: return .uint16(try elements { (r, i) throws(GGUFError) in try r.read(UInt16.self, "\(what())[\(i)]") })
        case .int16: return .int16(try elements { (r, i) throws(GGUFError) in try r.read(Int16.self, "\(what())[\(i)]") })
        case .uint32: return .uint32(try elements { (r, i) throws(GGUFError) in try r.read(UInt32.self, "\(what())[\(i)]") })
        case .int32: return .int32(try elements { (r, i) throws(GGUFError) in try r.read(Int32.self, "\(what())[\(i)]") })
        case .uint64: return .uint64(try elements { (r, i) throws(GGUFError) in try r.read(UInt64.self, "\(what())[\(i)]") })
        case .int64: return .int64(try elements { (r, i) throws(GGUFError) in try r.read(Int64.self, "\(what())[\(i)]") })
        case .float32: return .float32(try elements { (r, i) throws(GGUFError) in try r.readFloat("\(what())[\(i)]") })
        case .float64: return .float64(try elements { (r, i) throws(GGUFError) in try r.readDouble("\(what())[\(i)]") })
        case .bool: return .bool(try elements { (r, i) throws(GGUFError) in try readBool(&r, "\(what())[\(i)]") })
        case .string: return .string(try elements { (r, i) throws(GGUFError) in try r.readString("\(what())[\(i)]") })
        case .array:
            return .array(try elements { (r, i) throws(GGUFError) in try readArray(&r, depth: depth + 1, what: "\(what())[\(i)]") })
        }
    }
}
