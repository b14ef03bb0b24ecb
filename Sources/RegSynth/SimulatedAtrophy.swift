import RegCore
import RegKernels
import RegTransforms

/// A known volume change of one region, for validating longitudinal measurements: the exponential
/// of the velocity `v = c · ∇(G_σ ∗ χ)`, where `χ` is the region's indicator, smoothed by a
/// Gaussian of `sigma` mm. The velocity lies across the region's edge and vanishes a few σ away,
/// so det J departs from 1 only near the edge; `c` is found (by bisection) so that the region's
/// volume after the warp, `∫_region det J`, changes by the requested percentage. Being an
/// exponential, the warp is a diffeomorphism, and `exp(−v)` is its exact inverse.
///
/// ```swift
/// let hippocampus = Image<UInt8>(geometry: seg.geometry, voxels: seg.voxels.map { $0 == 17 ? 1 : 0 })
/// let truth = try SimulatedAtrophy(region: hippocampus, percentChange: -5)
/// // the follow-up: the baseline seen through the inverse
/// let followup = try Resampler.resample(baseline, onto: baseline.geometry, mapping: PointMapping(displacement: truth.inverse.field))
/// print(truth.percentVolumeChange)        // −5.000
/// ```
public struct SimulatedAtrophy: Sendable {
    /// Baseline → follow-up, `x ↦ x + u(x)`: where each baseline point has moved to.
    public let forward: DisplacementField
    /// Follow-up → baseline: resampling the baseline through it gives the follow-up.
    public let inverse: DisplacementField
    /// The change reached, `100 · (∫_region det J / |region| − 1)`, on the region's grid.
    public let percentVolumeChange: Double
    /// The velocity's scale `c`, mm².
    public let scale: Double

    /// - Parameters:
    ///   - percentChange: the change to reach, between −50 and +100 %.
    ///   - sigma: the smoothing of the region's indicator, mm: the width of the band in which
    ///     the tissue moves.
    /// - Throws: `invalidArgument` for an empty region, a change out of range or a sigma that is
    ///   not positive.
    public init(region: Image<UInt8>, percentChange: Double, sigma: Double = 2) throws {
        guard (-50...100).contains(percentChange), percentChange.isFinite else {
            throw RegError.invalidArgument(name: "change", reason: "takes −50 to +100 %, found \(percentChange)")
        }
        guard sigma > 0, sigma.isFinite, sigma <= 50 else {
            throw RegError.invalidArgument(name: "sigma", reason: "takes (0, 50] mm, found \(sigma)")
        }
        let inside = region.voxels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        guard inside > 0 else { throw RegError.invalidArgument(name: "region", reason: "is empty: there is nothing to shrink or grow") }
        let indicator = try Image<Float>(geometry: region.geometry, voxels: region.voxels.map { $0 != 0 ? 1 : 0 })
        let direction = ImageGradient.gradient(of: GaussianSmoothing.smooth(indicator, sigma: .mm(sigma)))
        func change(_ c: Double) -> Double {
            guard c != 0 else { return 0 }
            let detJ = VelocityField(direction.scaled(by: Float(c))).exponential().jacobianDeterminant
            var sum = 0.0
            for (j, m) in zip(detJ.voxels, region.voxels) where m != 0 { sum += Double(j) }
            return 100 * (sum / Double(inside) - 1)
        }
        // Change falls as c grows (c > 0 moves the edge inwards); bracket the target, then bisect.
        var c = 0.0
        if percentChange != 0 {
            let sign = percentChange < 0 ? 1.0 : -1.0
            var (near, far) = (0.0, sign)
            while abs(change(far)) < abs(percentChange) {
                near = far
                far *= 2
                guard abs(far) < 1e6 else { throw RegError.invalidArgument(name: "change", reason: "\(percentChange) % is out of reach of a smooth warp of this region") }
            }
            for _ in 0..<40 {
                c = (near + far) / 2
                let reached = change(c)
                if abs(reached - percentChange) < 1e-4 { break }
                if abs(reached) < abs(percentChange) { near = c } else { far = c }
            }
        }
        let velocity = VelocityField(direction.scaled(by: Float(c)))
        forward = velocity.exponential()
        inverse = velocity.negated.exponential()
        percentVolumeChange = change(c)
        scale = c
    }
}
