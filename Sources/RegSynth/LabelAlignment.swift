import RegCore
import RegKernels
import RegTransforms

/// Affine alignment of two label maps of the same labelling protocol from the centroids of the
/// labels they share: a least-squares affine between matching centroids, which needs no image
/// contrast and cannot fall into a wrong local optimum. Used to bring label maps of different
/// subjects into one space before planes are cut from them, and as the affine-only baseline.
///
/// ```swift
/// let alignment = try LabelAlignment(moving: map05, fixed: map01)
/// let aligned = try alignment.resampled(map05, onto: map01.geometry)   // nearest neighbour
/// ```
public struct LabelAlignment: Sendable {
    /// Fixed-space points to moving space.
    public let transform: LinearTransform
    /// The labels whose centroids were matched.
    public let labels: [Int32]

    /// - Parameter labels: the labels to match (default: every non-zero label present in both maps).
    public init(moving: Image<Int32>, fixed: Image<Int32>, labels wanted: [Int32]? = nil) throws {
        let (cm, cf) = (Self.centroids(moving), Self.centroids(fixed))
        labels = (wanted ?? Array(cf.keys)).filter { $0 != 0 && cm[$0] != nil && cf[$0] != nil }.sorted()
        let dimension = fixed.geometry.dimension
        transform = try LandmarkFit.fit(.affine, dimension: dimension, fixed: labels.map { cf[$0]! }, moving: labels.map { cm[$0]! })
    }

    /// `map` carried onto `grid` through the transform, nearest neighbour.
    public func resampled(_ map: Image<Int32>, onto grid: Geometry) throws -> Image<Int32> {
        try Resampler.resample(map, onto: grid, mapping: PointMapping(transform.affineMap), interpolation: .nearest)
    }

    /// The physical centroid of each label.
    static func centroids(_ map: Image<Int32>) -> [Int32: SIMD3<Double>] {
        var sums = [Int32: (SIMD3<Double>, Double)]()
        let g = map.geometry
        for z in 0..<g.size.z {
            for y in 0..<g.size.y {
                for x in 0..<g.size.x {
                    let v = map.voxels[g.offset(x, y, z)]
                    guard v != 0 else { continue }
                    let s = sums[v] ?? (.zero, 0)
                    sums[v] = (s.0 + SIMD3(Double(x), Double(y), Double(z)), s.1 + 1)
                }
            }
        }
        return sums.mapValues { g.physicalPoint(ofIndex: $0.0 / $0.1) }
    }
}
