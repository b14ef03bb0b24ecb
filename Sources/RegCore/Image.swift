/// An image: voxels of one scalar type on a `Geometry`, with one or more components per voxel.
///
/// Voxels are stored x-fastest, then y, then z; components of one voxel are adjacent
/// (`voxels[c + components * offset]`). The storage is a `VoxelBuffer`, so copies share memory
/// until one of them is written (copy-on-write), and it may borrow a caller's memory.
/// Registration works on `Image<Float>`; label images keep an integer type (`Image<Int32>`,
/// `Image<UInt8>`, …).
///
/// ```swift
/// let g = try Geometry(size: [64, 64, 32], spacing: [1, 1, 2])
/// var img = Image<Float>(geometry: g)
/// img[3, 4, 5] = 1
/// let labels = img.converted(to: Int32.self)
/// ```
public struct Image<Voxel: VoxelScalar>: Sendable, Equatable {
    public var geometry: Geometry
    /// Components per voxel (1 for scalar images, 3 for a 3-D displacement field).
    public let components: Int
    /// Voxel values, component-interleaved, x fastest.
    public var voxels: VoxelBuffer<Voxel>

    /// An image filled with `value`.
    public init(geometry: Geometry, components: Int = 1, filledWith value: Voxel = .zero) {
        precondition(components >= 1)
        self.geometry = geometry
        self.components = components
        self.voxels = VoxelBuffer(repeating: value, count: geometry.voxelCount * components)
    }

    /// An image from existing voxels (copied).
    /// - Throws: `RegError.geometryMismatch` when the count does not match the geometry.
    public init(geometry: Geometry, components: Int = 1, voxels: [Voxel]) throws {
        try self.init(geometry: geometry, components: components, voxels: VoxelBuffer(voxels))
    }

    /// An image on existing voxel storage (shared, not copied).
    /// - Throws: `RegError.geometryMismatch` when the count does not match the geometry.
    public init(geometry: Geometry, components: Int = 1, voxels: VoxelBuffer<Voxel>) throws {
        guard components >= 1, voxels.count == geometry.voxelCount * components else {
            throw RegError.geometryMismatch("\(voxels.count) values for \(geometry.voxelCount) voxels × \(components) components")
        }
        self.geometry = geometry
        self.components = components
        self.voxels = voxels
    }

    /// The voxel at `(x, y, z)`, component 0.
    @inlinable public subscript(x: Int, y: Int, z: Int) -> Voxel {
        get { voxels[components * geometry.offset(x, y, z)] }
        set { voxels[components * geometry.offset(x, y, z)] = newValue }
    }

    /// The same voxels converted to another scalar type (rounded and clamped for integers).
    public func converted<T: VoxelScalar>(to type: T.Type) -> Image<T> {
        if let same = self as? Image<T> { return same }
        // Every value is written below: no zero fill first.
        let values = voxels.withUnsafeBufferPointer { src in
            VoxelBuffer<T>(unsafeUninitializedCapacity: src.count) { dst, n in
                let s = UnsafeSendable(src.baseAddress!), d = UnsafeSendable(dst.baseAddress!)
                parallelFor(count: src.count, chunkSize: 1 << 16) { r in
                    for i in r { (d.value + i).initialize(to: T(clampingDouble: s.value[i].doubleValue)) }
                }
                n = src.count
            }
        }
        return try! Image<T>(geometry: geometry, components: components, voxels: values)
    }

    /// Component `c` as a scalar image.
    public func component(_ c: Int) -> Image<Voxel> {
        precondition(c >= 0 && c < components)
        if components == 1 { return self }
        var out = Image(geometry: geometry)
        for i in 0..<geometry.voxelCount { out.voxels[i] = voxels[i * components + c] }
        return out
    }

    /// Smallest and largest value (NaNs skipped), or nil when there are no finite values.
    public var valueRange: ClosedRange<Double>? {
        var lo = Double.infinity, hi = -Double.infinity
        for v in voxels {
            let d = v.doubleValue
            if d < lo { lo = d }
            if d > hi { hi = d }
        }
        return lo <= hi ? lo...hi : nil
    }
}
