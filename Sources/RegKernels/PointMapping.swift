import RegCore

/// How a point of the target grid finds its source point, in physical LPS mm:
/// `p = matrix · (x + u(x)) + translation`, where `u` is an optional displacement field on the
/// target grid. This is a dense warp followed by an affine map, the order in which ANTs applies
/// `-t affine -t warp` chains to fixed-space points (the warp's field is looked up first).
///
/// ```swift
/// let shift = PointMapping(translation: SIMD3(2, 0, 0))            // sample 2 mm to the left
/// let warp = PointMapping(displacement: field)                   // x ↦ x + u(x)
/// let linear = PointMapping(result.map)                          // a registration's AffineMap
/// let out = try Resampler.resample(moving, onto: fixed.geometry, mapping: warp)
/// ```
public struct PointMapping: Sendable {
    public var matrix: Matrix3
    public var translation: SIMD3<Double>
    /// A displacement field on the target grid (LPS mm), applied before the affine part.
    public var displacement: VectorField?

    public init(matrix: Matrix3 = .identity, translation: SIMD3<Double> = .zero, displacement: VectorField? = nil) {
        self.matrix = matrix
        self.translation = translation
        self.displacement = displacement
    }

    /// The mapping of a linear transform: each target point `x` samples the source at `map(x)`.
    public init(_ map: AffineMap) {
        self.init(matrix: map.matrix, translation: map.translation)
    }

    /// The identity: each target point samples the source at the same physical point.
    public static let identity = PointMapping()
}

/// How a resampler reads between voxels.
public enum Interpolation: String, Sendable, Codable, CaseIterable {
    /// The closest voxel (ties round up, as ITK does).
    case nearest
    /// Trilinear (bilinear in 2-D).
    case linear
    /// Cubic B-spline on prefiltered coefficients: interpolates the samples exactly.
    case bspline
    /// For label images: the label with the largest summed trilinear weight among the 8
    /// neighbours; never produces a label that is not in the input.
    case label
}
