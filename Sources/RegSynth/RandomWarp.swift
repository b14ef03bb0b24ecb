import RegCore
import RegKernels
import RegTransforms

/// Smooth random diffeomorphisms for known-warp experiments and training: the exponential of a
/// stationary velocity field drawn as a cubic B-spline with standard-normal control values on a
/// lattice of `controlSpacing` mm, scaled so the largest displacement is `maxDisplacement` mm.
/// Its inverse is exactly `exp(−v)`.
///
/// ```swift
/// let truth = try RandomWarp(on: fixed.geometry, maxDisplacement: 15, seed: 3)
/// // moving(truth.forward(x)) = fixed(x):
/// let moving = try Resampler.resample(fixed, onto: fixed.geometry, mapping: PointMapping(displacement: truth.inverse.field))
/// ```
public struct RandomWarp: Sendable {
    /// `x ↦ x + u(x)`, carrying fixed-space points to moving space.
    public let forward: DisplacementField
    /// The inverse, `exp(−v)`.
    public let inverse: DisplacementField
    /// The velocity whose exponential is `forward`.
    public let velocity: VelocityField

    public init(on grid: Geometry, maxDisplacement: Double, controlSpacing: Double = 24, seed: UInt64) throws {
        guard maxDisplacement > 0 else {
            throw RegError.invalidArgument(name: "maxDisplacement", reason: "must be > 0 mm, found \(maxDisplacement)")
        }
        var rng = SplitMix64(seed: seed)
        let unit = try RandomWarp.velocity(on: grid, standardDeviation: 1, controlSpacing: controlSpacing, using: &rng).field
        // The largest displacement grows monotonically with the velocity's scale: a few secant steps find it.
        func largest(_ scale: Double) -> Double {
            VelocityField(unit.scaled(by: Float(scale))).exponential().field.meanAndMaxNorm.max
        }
        var (lo, hi) = (0.0, maxDisplacement / max(largest(1), 1e-9))
        while largest(hi) < maxDisplacement { (lo, hi) = (hi, 2 * hi) }
        for _ in 0..<12 {
            let mid = (lo + hi) / 2
            if largest(mid) < maxDisplacement { lo = mid } else { hi = mid }
            if hi - lo < 0.01 * hi { break }
        }
        velocity = VelocityField(unit.scaled(by: Float(hi)))
        forward = velocity.exponential()
        inverse = velocity.negated.exponential()
    }
}

extension RandomWarp {
    /// A smooth random stationary velocity: a cubic B-spline whose control values (mm, `controlSpacing`
    /// mm apart) are normal with standard deviation `standardDeviation`, drawn from `rng`. A 2-D grid,
    /// or a volume one slice deep (a plane stored as 3-D, in any orientation), gets no component
    /// across its plane, so the warp stays in it.
    ///
    /// ```swift
    /// var rng = SplitMix64(seed: 1)
    /// let v = try RandomWarp.velocity(on: grid, standardDeviation: 2, controlSpacing: 16, using: &rng)
    /// let u = v.exponential()   // a random diffeomorphism
    /// ```
    public static func velocity(on grid: Geometry, standardDeviation: Double, controlSpacing: Double,
                                using rng: inout SplitMix64) throws -> VelocityField {
        var lattice = try BSplineGrid(covering: grid, spacing: SIMD3(repeating: controlSpacing))
        for i in lattice.coefficients.vectors.indices {
            let draw = Float(standardDeviation * rng.nextGaussian())
            lattice.coefficients.vectors[i] = grid.dimension == 2 && i % 3 == 2 ? 0 : draw
        }
        // The field is linear in the lattice: removing the normal component from every control value
        // removes it everywhere (a no-op for a 2-D grid whose normal is the z axis).
        if grid.size.z == 1 {
            let n = grid.direction.column(2)
            let vectors = lattice.coefficients.vectors
            for c in stride(from: 0, to: vectors.count, by: 3) {
                let v = SIMD3<Double>(Double(vectors[c]), Double(vectors[c + 1]), Double(vectors[c + 2]))
                let inPlane = v - (v * n).sum() * n
                for k in 0..<3 { lattice.coefficients.vectors[c + k] = Float(inPlane[k]) }
            }
        }
        return VelocityField(try lattice.field(on: grid))
    }
}
