import Foundation
import RegCore

/// A random affine transform for affine-recovery experiments: a rotation about a random axis,
/// a symmetric stretch (scaling and shear) and a translation, drawn uniformly up to the given
/// bounds and applied about a centre. On a 2-D grid it stays in the image plane.
///
/// ```swift
/// let c = grid.physicalPoint(ofIndex: (SIMD3<Double>(grid.size) - 1) / 2)
/// let truth = RandomAffine(on: grid, center: c, maxRotationDegrees: 10, seed: 4).map   // fixed → moving
/// let moving = try Resampler.resample(fixed, onto: grid, mapping: PointMapping(truth.inverse!))
/// ```
public struct RandomAffine: Sendable, Equatable {
    /// Fixed → moving physical points.
    public let map: AffineMap

    /// - Parameters:
    ///   - maxRotationDegrees: largest rotation angle.
    ///   - maxStretch: largest entry of the symmetric stretch S in M = R (I + S) (0.1: ±10 % scaling and shear).
    ///   - maxTranslation: largest translation per axis, mm.
    public init(on grid: Geometry, center: SIMD3<Double>, maxRotationDegrees: Double = 10, maxStretch: Double = 0.08,
                maxTranslation: Double = 8, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func uniform(_ bound: Double) -> Double { bound * (2 * rng.nextUnit() - 1) }
        let normal: SIMD3<Double>? = grid.dimension == 2 ? grid.direction.column(2) : nil
        // In 2-D only what keeps the plane: rotation about its normal, stretch and shift within it.
        let plane = normal.map { Matrix3.identity - .outer($0, $0) } ?? .identity
        var axis = normal ?? SIMD3(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian())
        axis /= axis.length
        let rotation = Self.rotation(axis: axis, angle: uniform(maxRotationDegrees) * .pi / 180)
        var stretch = Matrix3.diagonal(.zero)
        for r in 0..<3 { for c in r..<3 {
            let v = uniform(maxStretch)
            stretch = stretch + .unit(row: r, column: c) * v
            if c != r { stretch = stretch + .unit(row: c, column: r) * v }
        } }
        stretch = plane * stretch * plane
        let translation = plane * SIMD3(uniform(maxTranslation), uniform(maxTranslation), uniform(maxTranslation))
        map = AffineMap(matrix: rotation * (.identity + stretch), translation: translation, center: center)
    }

    /// Rodrigues' formula for a unit axis.
    static func rotation(axis k: SIMD3<Double>, angle: Double) -> Matrix3 {
        let cross = Matrix3(rows: SIMD3(0, -k.z, k.y), SIMD3(k.z, 0, -k.x), SIMD3(-k.y, k.x, 0))
        return .identity + cross * sin(angle) + cross * cross * (1 - cos(angle))
    }
}
