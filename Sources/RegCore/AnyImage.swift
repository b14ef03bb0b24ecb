/// The operations every `Image<T>` offers whatever its scalar type; lets `AnyImage` work on
/// the image inside without a switch per operation.
public protocol TypedImage: Sendable {
    associatedtype Voxel: VoxelScalar
    var geometry: Geometry { get }
    var components: Int { get }
    var valueRange: ClosedRange<Double>? { get }
    /// The raw voxel bytes (host order, component-interleaved).
    func withVoxelBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// The same voxels on another grid with the same voxel count.
    func replacingGeometry(_ geometry: Geometry) -> AnyImage
}

extension Image: TypedImage {
    public func withVoxelBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try voxels.withUnsafeBytes(body)
    }

    public func replacingGeometry(_ geometry: Geometry) -> AnyImage {
        precondition(geometry.voxelCount == self.geometry.voxelCount)
        var copy = self
        copy.geometry = geometry
        return AnyImage(copy)
    }
}

/// An image whose scalar type is known only at run time, as read from a file.
///
/// File readers return it so that `convert` keeps the datatype on disk; registration code takes
/// `floatImage()` and label code `labelImage()`.
///
/// ```swift
/// let any: AnyImage = try ImageFile.read("seg.nii.gz").image
/// let labels = any.labelImage()          // Image<Int32>
/// let intensities = any.floatImage()     // Image<Float>
/// ```
public enum AnyImage: Sendable, Equatable {
    case uint8(Image<UInt8>)
    case int8(Image<Int8>)
    case int16(Image<Int16>)
    case uint16(Image<UInt16>)
    case int32(Image<Int32>)
    case uint32(Image<UInt32>)
    case float32(Image<Float>)
    case float64(Image<Double>)

    /// Wraps a typed image.
    public init<T: VoxelScalar>(_ image: Image<T>) {
        switch image {
        case let i as Image<UInt8>: self = .uint8(i)
        case let i as Image<Int8>: self = .int8(i)
        case let i as Image<Int16>: self = .int16(i)
        case let i as Image<UInt16>: self = .uint16(i)
        case let i as Image<Int32>: self = .int32(i)
        case let i as Image<UInt32>: self = .uint32(i)
        case let i as Image<Float>: self = .float32(i)
        case let i as Image<Double>: self = .float64(i)
        default: fatalError("unreachable: every VoxelScalar has a case")
        }
    }

    /// The typed image inside.
    public var typed: any TypedImage {
        switch self {
        case let .uint8(i): return i
        case let .int8(i): return i
        case let .int16(i): return i
        case let .uint16(i): return i
        case let .int32(i): return i
        case let .uint32(i): return i
        case let .float32(i): return i
        case let .float64(i): return i
        }
    }

    public var geometry: Geometry { typed.geometry }
    public var components: Int { typed.components }
    public var valueRange: ClosedRange<Double>? { typed.valueRange }
    public var voxelType: VoxelType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .int16: return .int16
        case .uint16: return .uint16
        case .int32: return .int32
        case .uint32: return .uint32
        case .float32: return .float32
        case .float64: return .float64
        }
    }

    /// The voxels as `Float`.
    public func floatImage() -> Image<Float> { converted(to: Float.self) }
    /// The voxels as `Int32` labels (rounded).
    public func labelImage() -> Image<Int32> { converted(to: Int32.self) }

    /// The voxels converted to `T` (rounded and clamped for integer types). Each stored type is
    /// a case of its own, so the conversion loop is specialised for both types (a call through
    /// `typed` would convert every voxel through protocol witnesses).
    ///
    /// ```swift
    /// let doubles = try ImageFile.read("t1.nii.gz").image.converted(to: Double.self)
    /// ```
    public func converted<T: VoxelScalar>(to type: T.Type) -> Image<T> {
        switch self {
        case let .uint8(i): return i.converted(to: type)
        case let .int8(i): return i.converted(to: type)
        case let .int16(i): return i.converted(to: type)
        case let .uint16(i): return i.converted(to: type)
        case let .int32(i): return i.converted(to: type)
        case let .uint32(i): return i.converted(to: type)
        case let .float32(i): return i.converted(to: type)
        case let .float64(i): return i.converted(to: type)
        }
    }

    /// The same voxels converted to `type` (rounded and clamped for integer types).
    public func converted(to type: VoxelType) -> AnyImage {
        switch type {
        case .uint8: return .uint8(converted(to: UInt8.self))
        case .int8: return .int8(converted(to: Int8.self))
        case .int16: return .int16(converted(to: Int16.self))
        case .uint16: return .uint16(converted(to: UInt16.self))
        case .int32: return .int32(converted(to: Int32.self))
        case .uint32: return .uint32(converted(to: UInt32.self))
        case .float32: return .float32(converted(to: Float.self))
        case .float64: return .float64(converted(to: Double.self))
        }
    }

    /// The same image on another geometry with the same voxel count (e.g. after a header fix).
    public func with(geometry: Geometry) -> AnyImage { typed.replacingGeometry(geometry) }
}

extension AnyImage {
    /// The image as a 0/1 mask: 1 where a voxel is non-zero.
    ///
    /// ```swift
    /// let mask = try ImageFile.read("brain.nii.gz").image.mask
    /// ```
    public var mask: Image<UInt8> { floatImage().foreground }
}

extension Image<Float> {
    /// 1 where a voxel is non-zero.
    ///
    /// ```swift
    /// let mask = image.foreground
    /// ```
    public var foreground: Image<UInt8> {
        try! Image<UInt8>(geometry: geometry, voxels: voxels.map { $0 != 0 ? 1 : 0 })
    }

    /// The value of every voxel when they are all the same, else nil.
    ///
    /// ```swift
    /// if let v = image.constantValue { print("flat image of \(v)") }
    /// ```
    public var constantValue: Float? {
        guard let first = voxels.first, !voxels.contains(where: { $0 != first }) else { return nil }
        return first
    }
}
