/// A dense field of 3-vectors on a grid: displacements `u(x)` in physical LPS mm, or image
/// gradients. Components are interleaved, x fastest (`vectors[3 * offset + c]`).
///
/// A transform given by a displacement field maps a point `x` of its grid to `x + u(x)`.
/// For a 2-D grid the third component is 0 and files hold two components.
///
/// ```swift
/// var u = VectorField(geometry: fixed.geometry)
/// u[10, 20, 30] = SIMD3(0.5, 0, -1)     // mm, LPS
/// ```
public struct VectorField: Sendable, Equatable {
    public var geometry: Geometry
    /// 3 × voxelCount values.
    public var vectors: VoxelBuffer<Float>

    /// A zero field on `geometry`.
    public init(geometry: Geometry) {
        self.geometry = geometry
        self.vectors = VoxelBuffer(repeating: 0, count: 3 * geometry.voxelCount)
    }

    /// A field whose 3 × voxelCount values `fill` writes, every one of them (no zero fill first),
    /// through a pointer it may hand to parallel workers.
    ///
    /// ```swift
    /// let u = VectorField(geometry: g) { p in for i in 0..<(3 * g.voxelCount) { p[i] = 0.5 } }
    /// ```
    public init(geometry: Geometry, writingEveryValue fill: (UnsafeMutablePointer<Float>) -> Void) {
        self.geometry = geometry
        let count = 3 * geometry.voxelCount
        self.vectors = VoxelBuffer(unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer.baseAddress!)
            initialized = count
        }
    }

    /// A field from an image with 2 or 3 components per voxel (a displacement file).
    public init(image: Image<Float>) throws {
        let n = image.geometry.voxelCount
        switch image.components {
        case 3:
            geometry = image.geometry
            vectors = image.voxels
        case 2:
            geometry = image.geometry
            vectors = VoxelBuffer(repeating: 0, count: 3 * n)
            for i in 0..<n {
                vectors[3 * i] = image.voxels[2 * i]
                vectors[3 * i + 1] = image.voxels[2 * i + 1]
            }
        default:
            throw RegError.geometryMismatch("a vector field needs 2 or 3 components per voxel, found \(image.components)")
        }
    }

    /// The vector at voxel `(x, y, z)`.
    public subscript(x: Int, y: Int, z: Int) -> SIMD3<Float> {
        get {
            let o = 3 * geometry.offset(x, y, z)
            return SIMD3(vectors[o], vectors[o + 1], vectors[o + 2])
        }
        set {
            let o = 3 * geometry.offset(x, y, z)
            vectors[o] = newValue.x; vectors[o + 1] = newValue.y; vectors[o + 2] = newValue.z
        }
    }

    /// The field as an image with `geometry.dimension` components per voxel, ready to write.
    public var image: Image<Float> {
        if geometry.dimension == 3 {
            return try! Image(geometry: geometry, components: 3, voxels: vectors)
        }
        var out = Image<Float>(geometry: geometry, components: 2)
        for i in 0..<geometry.voxelCount {
            out.voxels[2 * i] = vectors[3 * i]
            out.voxels[2 * i + 1] = vectors[3 * i + 1]
        }
        return out
    }
}
