import RegCore
import RegTransforms

/// The landmark term of a B-spline stage: `λ · (1/N) Σ |A(xₖ + u(xₖ)) + t − yₖ|²`, the mean
/// squared distance (mm², in moving space) between each fixed point carried through the stage's
/// map and its moving partner, as the linear stages weigh it (`RegistrationPlan.landmarkWeight`).
/// Its gradient with respect to `u(xₖ)` is `λ · (2/N) Aᵀ dₖ`, carried onto the control points by
/// the B-spline adjoint.
///
/// ```swift
/// let term = BSplineLandmarkTerm(fixed: f, moving: m, affine: linear.map, weight: 0.05)
/// var gradient = VectorField(geometry: grid.lattice)
/// let cost = term.add(grid, to: &gradient)
/// ```
struct BSplineLandmarkTerm: Sendable {
    let fixed: [SIMD3<Double>]
    let moving: [SIMD3<Double>]
    let affine: AffineMap
    let weight: Double

    init(fixed: [SIMD3<Double>], moving: [SIMD3<Double>], affine: AffineMap, weight: Double) {
        precondition(fixed.count == moving.count && !fixed.isEmpty)
        (self.fixed, self.moving, self.affine, self.weight) = (fixed, moving, affine, weight)
    }

    /// The pairs of `landmarks` when `weight` is above 0 (nil otherwise).
    init?(_ landmarks: LandmarkPairs?, affine: AffineMap, weight: Double) throws {
        guard let landmarks, weight > 0 else { return nil }
        let (f, m) = try landmarks.fixed.paired(with: landmarks.moving)
        guard f.count > 0 else { return nil }
        self.init(fixed: f.points, moving: m.points, affine: affine, weight: weight)
    }

    /// The term's value for `grid`; its gradient with respect to the coefficients is added to
    /// `gradient` (a field on the lattice).
    func add(_ grid: BSplineGrid, to gradient: inout VectorField) -> Double {
        let scale = weight / Double(fixed.count), back = affine.matrix.transposed
        var cost = 0.0
        for (x, y) in zip(fixed, moving) {
            let d = affine.apply(x + grid.displacement(at: x)) - y
            cost += scale * (d * d).sum()
            var g = back * (2 * scale * d)
            if grid.lattice.dimension == 2 { g.z = 0 }
            grid.addAdjoint(of: g, at: x, to: &gradient)
        }
        return cost
    }
}
