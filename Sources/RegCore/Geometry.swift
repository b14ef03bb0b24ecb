/// Where every voxel of an image lies in the patient: size, spacing, origin and direction cosines.
///
/// Physical points are LPS millimetres, as in ITK, ANTs and DICOM:
/// `physical = origin + direction · (spacing ⊙ index)`. A 2-D image is a 3-D image with one
/// slice and `dimension == 2`.
///
/// ```swift
/// let g = try Geometry(size: [160, 192, 144], spacing: [1, 1, 1.2], origin: [-80, -96, -70])
/// let p = g.physicalPoint(ofIndex: SIMD3(10, 20, 30))
/// let i = g.continuousIndex(ofPhysicalPoint: p)   // (10, 20, 30)
/// ```
public struct Geometry: Equatable, Hashable, Sendable, Codable {
    /// Number of voxels along each axis (z is 1 for 2-D images).
    public let size: SIMD3<Int>
    /// Voxel spacing in mm along each index axis.
    public let spacing: SIMD3<Double>
    /// Physical position (LPS mm) of the centre of voxel (0, 0, 0).
    public let origin: SIMD3<Double>
    /// Direction cosines: column `j` is the LPS unit vector of index axis `j`.
    public let direction: Matrix3
    /// 2 or 3.
    public let dimension: Int

    /// Creates a validated geometry.
    /// - Throws: `RegError.invalidGeometry` for a non-positive size, a zero, negative or non-finite
    ///   spacing or origin, a singular direction, or a voxel count that overflows.
    public init(size: SIMD3<Int>, spacing: SIMD3<Double> = SIMD3(1, 1, 1), origin: SIMD3<Double> = .zero,
                direction: Matrix3 = .identity, dimension: Int? = nil) throws {
        let dim = dimension ?? (size.z == 1 ? 2 : 3)
        guard dim == 2 || dim == 3 else { throw RegError.invalidGeometry(field: "dimension", reason: "must be 2 or 3, found \(dim)") }
        for a in 0..<3 where size[a] < 1 {
            throw RegError.invalidGeometry(field: "size[\(a)]", reason: "must be ≥ 1, found \(size[a])")
        }
        if dim == 2, size.z != 1 { throw RegError.invalidGeometry(field: "size[2]", reason: "a 2-D image has one slice, found \(size.z)") }
        let (xy, o1) = size.x.multipliedReportingOverflow(by: size.y)
        let (xyz, o2) = xy.multipliedReportingOverflow(by: size.z)
        let (_, o3) = xyz.multipliedReportingOverflow(by: 8)
        if o1 || o2 || o3 { throw RegError.invalidGeometry(field: "size", reason: "voxel count \(size.x)×\(size.y)×\(size.z) overflows") }
        guard xyz <= Geometry.largestVoxelCount else {
            throw RegError.invalidGeometry(field: "size", reason: "\(size.x)×\(size.y)×\(size.z) is \(xyz) voxels, more than the 2³¹ a grid may hold (8 GiB of Float voxels)")
        }
        for a in 0..<3 where !(spacing[a] > 0) || !spacing[a].isFinite {
            throw RegError.invalidGeometry(field: "spacing[\(a)]", reason: "must be positive and finite, found \(spacing[a])")
        }
        for a in 0..<3 where !origin[a].isFinite {
            throw RegError.invalidGeometry(field: "origin[\(a)]", reason: "must be finite, found \(origin[a])")
        }
        let det = direction.determinant
        guard det.isFinite, abs(det) > 1e-6 else {
            throw RegError.invalidGeometry(field: "direction", reason: "singular direction matrix \(direction)")
        }
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
        self.dimension = dim
    }

    /// The most voxels a grid may have (2³¹): a header, an option or a spacing that asks for more
    /// is refused before anything is allocated.
    public static let largestVoxelCount = 1 << 31

    /// Total number of voxels.
    public var voxelCount: Int { size.x * size.y * size.z }

    /// The volume of one voxel: mm³, or mm² on a 2-D grid.
    ///
    /// ```swift
    /// let mm3 = Double(count) * geometry.voxelVolume
    /// ```
    public var voxelVolume: Double { dimension == 2 ? spacing.x * spacing.y : spacing.x * spacing.y * spacing.z }

    /// The linear map from index to physical offset: `direction · diag(spacing)`.
    public var indexToPhysical: Matrix3 { direction * Matrix3.diagonal(spacing) }

    /// The linear map from physical offset to index: `diag(1/spacing) · direction⁻¹`.
    public var physicalToIndex: Matrix3 {
        Matrix3.diagonal(1 / spacing) * (direction.inverse ?? .identity)
    }

    /// Physical point (LPS mm) of a (continuous) index.
    @inlinable public func physicalPoint(ofIndex index: SIMD3<Double>) -> SIMD3<Double> {
        origin + direction * (spacing * index)
    }

    /// Continuous index of a physical point (LPS mm).
    @inlinable public func continuousIndex(ofPhysicalPoint p: SIMD3<Double>) -> SIMD3<Double> {
        physicalToIndex * (p - origin)
    }

    /// Linear offset of voxel `(x, y, z)` in the x-fastest storage order.
    @inlinable public func offset(_ x: Int, _ y: Int, _ z: Int) -> Int { x + size.x * (y + size.y * z) }

    /// True when both geometries describe the same voxel grid, within `tolerance` (mm or cosine).
    public func sameGrid(as other: Geometry, tolerance: Double = 1e-4) -> Bool {
        size == other.size && dimension == other.dimension
            && (spacing - other.spacing).magnitudes.max() <= tolerance * max(1, spacing.max())
            && (origin - other.origin).magnitudes.max() <= tolerance * max(1, origin.magnitudes.max())
            && direction.maxAbsDifference(other.direction) <= tolerance
    }

    /// The same geometry with some fields replaced.
    public func with(size: SIMD3<Int>? = nil, spacing: SIMD3<Double>? = nil, origin: SIMD3<Double>? = nil,
                     direction: Matrix3? = nil) throws -> Geometry {
        try Geometry(size: size ?? self.size, spacing: spacing ?? self.spacing, origin: origin ?? self.origin,
                     direction: direction ?? self.direction, dimension: dimension)
    }

    /// The grid covering the same field of view with a new spacing: voxel edges stay where they
    /// were, so the image does not shift by half a voxel.
    public func resampled(toSpacing newSpacing: SIMD3<Double>) throws -> Geometry {
        var s = newSpacing
        if dimension == 2 { s.z = spacing.z }
        let extent = spacing * SIMD3<Double>(size)
        var n = SIMD3<Int>(1, 1, 1)
        for a in 0..<3 { n[a] = Swift.max(1, Int((extent[a] / s[a]).rounded())) }
        if dimension == 2 { n.z = 1 }
        let shift = (s - spacing) * 0.5
        return try Geometry(size: n, spacing: s, origin: origin + direction * shift, direction: direction, dimension: dimension)
    }

    /// Physical coordinates (LPS mm) of the eight corners of the voxel-centre box.
    public var cornerPoints: [SIMD3<Double>] {
        var out: [SIMD3<Double>] = []
        for k in [0, size.z - 1] { for j in [0, size.y - 1] { for i in [0, size.x - 1] {
            out.append(physicalPoint(ofIndex: SIMD3(Double(i), Double(j), Double(k))))
        } } }
        return out
    }
}
