/// The scalar types a voxel may have on disk and in memory.
public enum VoxelType: String, CaseIterable, Sendable, Codable {
    case uint8, int8, int16, uint16, int32, uint32, float32, float64

    /// Bytes per scalar.
    public var byteSize: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
        }
    }

    public var isInteger: Bool { self != .float32 && self != .float64 }
}

/// A scalar that can be a voxel: the integer and floating types of `VoxelType`.
///
/// Conversions go through `Double`, rounding to nearest and clamping to the type's range for
/// integer types, so that writing a float image as `int16` never wraps around.
public protocol VoxelScalar: Sendable, Equatable, Hashable, Comparable {
    static var voxelType: VoxelType { get }
    /// Converts, rounding to nearest and clamping for integer types; NaN becomes 0.
    init(clampingDouble value: Double)
    var doubleValue: Double { get }
    static var zero: Self { get }
}

extension VoxelScalar where Self: BinaryInteger & FixedWidthInteger {
    @inlinable public init(clampingDouble value: Double) {
        if value.isNaN { self = 0; return }
        let r = value.rounded()
        if r <= Double(Self.min) { self = Self.min } else if r >= Double(Self.max) { self = Self.max } else { self = Self(r) }
    }
    @inlinable public var doubleValue: Double { Double(self) }
}

extension UInt8: VoxelScalar { public static var voxelType: VoxelType { .uint8 } }
extension Int8: VoxelScalar { public static var voxelType: VoxelType { .int8 } }
extension Int16: VoxelScalar { public static var voxelType: VoxelType { .int16 } }
extension UInt16: VoxelScalar { public static var voxelType: VoxelType { .uint16 } }
extension Int32: VoxelScalar { public static var voxelType: VoxelType { .int32 } }
extension UInt32: VoxelScalar { public static var voxelType: VoxelType { .uint32 } }
extension Float: VoxelScalar {
    public static var voxelType: VoxelType { .float32 }
    @inlinable public init(clampingDouble value: Double) { self = Float(value) }
    @inlinable public var doubleValue: Double { Double(self) }
}
extension Double: VoxelScalar {
    public static var voxelType: VoxelType { .float64 }
    @inlinable public init(clampingDouble value: Double) { self = value }
    @inlinable public var doubleValue: Double { self }
}
