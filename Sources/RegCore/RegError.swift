/// Errors raised by SwiftReg. Each case names the file (when there is one) and the field or reason.
///
/// ```swift
/// do { _ = try ImageFile.read("brain.nii.gz") }
/// catch let error as RegError { print(error) }   // "brain.nii.gz: dim[1]: must be ≥ 1, found 0"
/// ```
public enum RegError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot be opened or read at all.
    case unreadableFile(path: String, reason: String)
    /// The file was read, but a header field is wrong.
    case invalidHeader(path: String, field: String, reason: String)
    /// The file's voxel data are shorter than the header promises, or corrupt.
    case truncatedData(path: String, expectedBytes: Int, foundBytes: Int)
    /// A voxel value the file's kind of data cannot hold (a displacement that is not finite).
    case invalidVoxel(path: String, voxel: SIMD3<Int>, reason: String)
    /// A datatype the format allows but SwiftReg does not handle.
    case unsupportedDatatype(path: String, field: String, value: String)
    /// The extension names no supported format.
    case unsupportedFormat(path: String, supported: [String])
    /// Two images or fields that must share a grid do not.
    case geometryMismatch(String)
    /// A geometry that is not usable (zero spacing, singular direction, …).
    case invalidGeometry(field: String, reason: String)
    /// An output cannot be written.
    case unwritableFile(path: String, reason: String)
    /// A parameter or option value outside its domain.
    case invalidArgument(name: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "\(path): cannot read: \(reason)"
        case let .invalidHeader(path, field, reason): return "\(path): \(field): \(reason)"
        case let .truncatedData(path, expected, found):
            return "\(path): voxel data truncated: expected \(expected) bytes, found \(found)"
        case let .invalidVoxel(path, voxel, reason): return "\(path): voxel (\(voxel.x), \(voxel.y), \(voxel.z)): \(reason)"
        case let .unsupportedDatatype(path, field, value): return "\(path): \(field): unsupported datatype \(value)"
        case let .unsupportedFormat(path, supported):
            return "\(path): unknown image format; supported extensions: \(supported.joined(separator: ", "))"
        case let .geometryMismatch(reason): return "geometry mismatch: \(reason)"
        case let .invalidGeometry(field, reason): return "invalid geometry: \(field): \(reason)"
        case let .unwritableFile(path, reason): return "\(path): cannot write: \(reason)"
        case let .invalidArgument(name, reason): return "\(name): \(reason)"
        }
    }

    /// The same error with `field` errors re-attributed to `path` (used when geometry is validated
    /// while a file is read).
    public func attributed(to path: String) -> RegError {
        if case let .invalidGeometry(field, reason) = self { return .invalidHeader(path: path, field: field, reason: reason) }
        return self
    }
}
