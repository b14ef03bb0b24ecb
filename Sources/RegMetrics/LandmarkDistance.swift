import RegCore
import RegTransforms

/// The mean squared distance (mm²) between transformed fixed landmarks and their moving
/// partners, `(1/n) Σ ‖T(pᵢ) − qᵢ‖²`, with its parameter gradient: a term a registration can add
/// to its image metric with a weight.
///
/// ```swift
/// let term = LandmarkDistance(fixed: f.points, moving: m.points)
/// let r = term.evaluate(transform)      // r.value in mm², r.gradient per parameter
/// ```
public struct LandmarkDistance: Sendable {
    public let fixed: [SIMD3<Double>]
    public let moving: [SIMD3<Double>]

    public init(fixed: [SIMD3<Double>], moving: [SIMD3<Double>]) {
        precondition(fixed.count == moving.count && !fixed.isEmpty)
        self.fixed = fixed
        self.moving = moving
    }

    public func evaluate(_ transform: LinearTransform) -> MetricValue {
        let n = Double(fixed.count)
        var value = 0.0, g = Matrix3.diagonal(.zero), h = SIMD3<Double>.zero
        for (p, q) in zip(fixed, moving) {
            let r = transform.map(p) - q
            value += (r * r).sum()
            g = g + Matrix3.outer(r, p - transform.center) * (2 / n)
            h += r * (2 / n)
        }
        return MetricValue(value: value / n, gradient: transform.parameterGradient(matrixGradient: g, translationGradient: h),
                           validSamples: fixed.count)
    }

    /// The root-mean-square distance (mm), for reports.
    public func rms(_ transform: LinearTransform) -> Double { evaluate(transform).value.squareRoot() }
}
