import RegCore

extension AnyImage {
    /// The image resampled onto `target` through `mapping`, keeping its voxel type; points
    /// outside the input get `defaultValue` (clamped to the type).
    ///
    /// ```swift
    /// let labels = try AnyImage(seg).resampled(onto: fixed.geometry, mapping: mapping, interpolation: .label)
    /// ```
    public func resampled(onto target: Geometry, mapping: PointMapping = .identity, interpolation: Interpolation,
                          defaultValue: Double = 0) throws -> AnyImage {
        func typed<T: VoxelScalar>(_ img: Image<T>) throws -> AnyImage {
            AnyImage(try Resampler.resample(img, onto: target, mapping: mapping, interpolation: interpolation,
                                            defaultValue: T(clampingDouble: defaultValue)))
        }
        switch self {
        case let .uint8(i): return try typed(i)
        case let .int8(i): return try typed(i)
        case let .int16(i): return try typed(i)
        case let .uint16(i): return try typed(i)
        case let .int32(i): return try typed(i)
        case let .uint32(i): return try typed(i)
        case let .float32(i): return try typed(i)
        case let .float64(i): return try typed(i)
        }
    }
}
