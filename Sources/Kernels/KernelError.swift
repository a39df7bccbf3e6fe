/// Why a weight matrix cannot be used by the kernels.
///
/// An error struct over a private code, so that new cases can be added
/// without breaking callers that switch on it.
public struct KernelError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case unsupportedType(GGMLType)
        case columnsNotMultipleOfBlock(type: GGMLType, columns: Int, blockSize: Int)
        case invalidShape(rows: Int, columns: Int)
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The tensor type has no kernel in lmgate.
    public static func unsupportedType(_ type: GGMLType) -> KernelError {
        KernelError(.unsupportedType(type))
    }

    /// A row's length is not a whole number of the type's blocks.
    public static func columnsNotMultipleOfBlock(type: GGMLType, columns: Int, blockSize: Int) -> KernelError {
        KernelError(.columnsNotMultipleOfBlock(type: type, columns: columns, blockSize: blockSize))
    }

    /// A dimension is zero or negative.
    public static func invalidShape(rows: Int, columns: Int) -> KernelError {
        KernelError(.invalidShape(rows: rows, columns: columns))
    }

    public var description: String {
        switch code {
        case .unsupportedType(let type):
            "tensor type \(type.name) is not supported by lmgate's kernels"
        case .columnsNotMultipleOfBlock(let type, let columns, let blockSize):
            "a \(type.name) row of \(columns) columns is not a multiple of the block size \(blockSize)"
        case .invalidShape(let rows, let columns):
            "invalid matrix shape \(rows)×\(columns)"
        }
    }
}
