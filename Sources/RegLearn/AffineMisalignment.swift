import Foundation
import RegCore
import RegKernels

/// Random affine misalignment of a moving image, for training and testing an affine network on
/// pre-aligned data: a rotation about the grid centre (in-plane for a 2-D model), a scale per axis
/// and a translation, drawn uniformly within the given bounds, applied in voxel space.
///
/// ```swift
/// let misalignment = AffineMisalignment(rotation: 10, scale: 0.1, translation: 8)
/// var rng = SplitMix64(seed: 1)
/// let (moved, movedLabels) = try misalignment.apply(to: image, labels: labels, size: size, planar: true, using: &rng)
/// ```
public struct AffineMisalignment: Codable, Hashable, Sendable {
    /// Largest rotation about each axis, degrees.
    public var rotation: Double
    /// Largest relative change of scale along each axis (0.1: ×0.9 … ×1.1).
    public var scale: Double
    /// Largest shift along each axis, voxels.
    public var translation: Double

    public init(rotation: Double = 10, scale: Double = 0.1, translation: Double = 8) {
        (self.rotation, self.scale, self.translation) = (rotation, scale, translation)
    }

    /// A random map of voxel indices (target → source), about the grid centre.
    public func draw(size: SIMD3<Int>, planar: Bool, using rng: inout SplitMix64) -> AffineMap {
        func uniform(_ bound: Double) -> Double { (2 * rng.nextUnit() - 1) * bound }
        let angles = (0..<3).map { axis -> Double in
            let a = uniform(rotation) * .pi / 180
            return planar && axis != 2 ? 0 : a
        }
        let scales = (0..<3).map { axis -> Double in
            let s = 1 + uniform(scale)
            return planar && axis == 2 ? 1 : s
        }
        let shift = (0..<3).map { axis -> Double in
            let t = uniform(translation)
            return planar && axis == 2 ? 0 : t
        }
        let (cx, sx) = (cos(angles[0]), sin(angles[0])), (cy, sy) = (cos(angles[1]), sin(angles[1]))
        let (cz, sz) = (cos(angles[2]), sin(angles[2]))
        let rx = Matrix3(rows: SIMD3(1, 0, 0), SIMD3(0, cx, -sx), SIMD3(0, sx, cx))
        let ry = Matrix3(rows: SIMD3(cy, 0, sy), SIMD3(0, 1, 0), SIMD3(-sy, 0, cy))
        let rz = Matrix3(rows: SIMD3(cz, -sz, 0), SIMD3(sz, cz, 0), SIMD3(0, 0, 1))
        let s = Matrix3(rows: SIMD3(scales[0], 0, 0), SIMD3(0, scales[1], 0), SIMD3(0, 0, scales[2]))
        let centre = SIMD3<Double>(size &- 1) / 2
        return AffineMap(matrix: rz * ry * rx * s, translation: SIMD3(shift[0], shift[1], shift[2]), center: centre)
    }

    /// The image (linear) and its labels (nearest) resampled through one random draw, zero outside.
    public func apply(to voxels: [Float], labels: [Int32]?, size: SIMD3<Int>, planar: Bool,
                      using rng: inout SplitMix64) throws -> (voxels: [Float], labels: [Int32]?) {
        let grid = try Geometry(size: size)
        let mapping = PointMapping(draw(size: size, planar: planar, using: &rng))
        let image = try Resampler.resample(try Image<Float>(geometry: grid, voxels: voxels), onto: grid, mapping: mapping, interpolation: .linear)
        let moved = try labels.map {
            try Resampler.resample(try Image<Int32>(geometry: grid, voxels: $0), onto: grid, mapping: mapping, interpolation: .nearest).voxels
        }
        return (Array(image.voxels), moved.map(Array.init))
    }
}

extension NetworkImage {
    /// The image (and labels) through one random draw of `misalignment`.
    func misaligned(by misalignment: AffineMisalignment, planar: Bool, using rng: inout SplitMix64) throws -> NetworkImage {
        let moved = try misalignment.apply(to: tensor.values, labels: labels, size: size, planar: planar, using: &rng)
        return NetworkImage(voxels: moved.voxels, size: size, labels: moved.labels)
    }
}

extension ValidationPair {
    /// The pair with its moving image and labels through one random draw of `misalignment`.
    public func misaligned(by misalignment: AffineMisalignment, planar: Bool, using rng: inout SplitMix64) throws -> ValidationPair {
        let moved = try misalignment.apply(to: Array(moving.voxels), labels: Array(movingLabels.voxels), size: moving.geometry.size, planar: planar, using: &rng)
        var pair = self
        pair.moving.voxels = VoxelBuffer(moved.voxels)
        pair.movingLabels.voxels = VoxelBuffer(moved.labels!)
        return pair
    }
}
