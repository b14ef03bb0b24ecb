/// The shape of a float tensor laid out as (batch, channels, depth, height, width), width fastest.
/// A 2-D tensor has `depth == 1`; every operation then works in the height–width plane only.
///
/// ```swift
/// let shape = TensorShape(batch: 1, channels: 2, depth: 1, height: 160, width: 192)
/// shape.isPlanar        // true
/// shape.spatialCount    // 30720
/// ```
public struct TensorShape: Hashable, Sendable, Codable, CustomStringConvertible {
    public var batch: Int, channels: Int, depth: Int, height: Int, width: Int

    public init(batch: Int = 1, channels: Int, depth: Int = 1, height: Int, width: Int) {
        precondition(batch > 0 && channels > 0 && depth > 0 && height > 0 && width > 0, "tensor extents must be positive")
        (self.batch, self.channels, self.depth, self.height, self.width) = (batch, channels, depth, height, width)
    }

    /// The spatial extents as (x = width, y = height, z = depth).
    public var spatial: SIMD3<Int> { SIMD3(width, height, depth) }
    /// Voxels per channel.
    public var spatialCount: Int { depth * height * width }
    /// Values per batch item.
    public var itemCount: Int { channels * spatialCount }
    /// All values.
    public var count: Int { batch * itemCount }
    /// A 2-D tensor (one slice): kernels, pooling and fields then act in-plane.
    public var isPlanar: Bool { depth == 1 }
    /// The number of spatial dimensions a field on this grid has components for (2 or 3).
    public var spatialDimension: Int { isPlanar ? 2 : 3 }

    /// The same grid with another channel count.
    public func with(channels c: Int) -> TensorShape {
        TensorShape(batch: batch, channels: c, depth: depth, height: height, width: width)
    }

    /// The same item shape, another batch size.
    public func with(batch n: Int) -> TensorShape {
        TensorShape(batch: n, channels: channels, depth: depth, height: height, width: width)
    }

    /// The same channels on another grid.
    public func with(spatial s: SIMD3<Int>) -> TensorShape {
        TensorShape(batch: batch, channels: channels, depth: s.z, height: s.y, width: s.x)
    }

    public var description: String {
        isPlanar ? "\(batch)×\(channels)×\(height)×\(width)" : "\(batch)×\(channels)×\(depth)×\(height)×\(width)"
    }
}

/// A float tensor: a shape and its values, batch-major then channel-major, width fastest.
///
/// ```swift
/// var t = Tensor(shape: TensorShape(channels: 1, height: 4, width: 4))
/// t.values[5] = 1
/// ```
public struct Tensor: Sendable, Equatable {
    public var shape: TensorShape
    public var values: [Float]

    /// A tensor of zeros.
    public init(shape: TensorShape) {
        self.shape = shape
        values = [Float](repeating: 0, count: shape.count)
    }

    public init(shape: TensorShape, values: [Float]) {
        precondition(values.count == shape.count, "\(values.count) values for a tensor of shape \(shape)")
        self.shape = shape
        self.values = values
    }
}
