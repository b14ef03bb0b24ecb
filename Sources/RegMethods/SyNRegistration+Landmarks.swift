import Foundation
import RegCore
import RegTransforms

/// SyN's landmark term: each iteration pulls the two half fields so that the middle-space
/// images of each landmark pair meet. With `φ_F`, `φ_M` the half fields (middle → fixed, middle
/// → pre-aligned moving), a pair (p, q) has middle points `m_F = φ_F⁻¹(p)` and
/// `m_M = φ_M⁻¹(A⁻¹ q)` (each by fixed-point iteration); the gradient of `½‖m_F − m_M‖²` asks
/// the fixed side to sample `m_F` at their midpoint `c` and the moving side `m_M`. Each side's
/// update gets `weight · (m_side − c)` at `c`, spread by a Gaussian of the update's sigma (peak
/// 1) and divided by the Gaussian-weighted count of pairs near `c`, so a cluster of pairs pulls
/// as one: `weight` is the share of the remaining gap closed per iteration (0…1).
///
/// ```swift
/// let pull = LandmarkPull(fixed: pairs.fixed.points, moving: pairs.moving.points, affine: linear.map, weight: 0.2)
/// let steps = pull.steps(fixedField: fields[0], movingField: fields[1])
/// pull.add(steps.fixed, at: steps.centres, to: &update, scale: scale, sigma: 3)
/// ```
struct LandmarkPull: Sendable {
    let fixedPoints: [SIMD3<Double>]
    /// The moving points carried back through the affine (the moving half field's space).
    let movingPoints: [SIMD3<Double>]
    let weight: Double

    init(fixed: [SIMD3<Double>], moving: [SIMD3<Double>], affine: AffineMap, weight: Double) throws {
        guard let back = affine.inverse else {
            throw RegError.invalidArgument(name: "landmarks", reason: "the linear stages' transform is singular: the landmarks cannot be carried back")
        }
        fixedPoints = fixed
        movingPoints = moving.map { back.apply($0) }
        self.weight = weight
    }

    /// The middle point whose image under `id + u` is `target`: `m ← target − u(m)`.
    static func middle(of target: SIMD3<Double>, under field: DisplacementField) -> SIMD3<Double> {
        var m = target
        for _ in 0..<20 {
            let next = target - field.displacement(at: m)
            if (next - m).length < 1e-4 { return next }
            m = next
        }
        return m
    }

    /// Each pair's midpoint `c` in the middle space, and the step each side takes there.
    func steps(fixedField: VectorField, movingField: VectorField) -> (centres: [SIMD3<Double>], fixed: [SIMD3<Double>], moving: [SIMD3<Double>]) {
        let f = DisplacementField(fixedField), m = DisplacementField(movingField)
        var centres: [SIMD3<Double>] = [], fixedSteps: [SIMD3<Double>] = [], movingSteps: [SIMD3<Double>] = []
        for (p, q) in zip(fixedPoints, movingPoints) {
            let mF = Self.middle(of: p, under: f), mM = Self.middle(of: q, under: m)
            let c = (mF + mM) / 2
            centres.append(c)
            fixedSteps.append(mF - c)
            movingSteps.append(mM - c)
        }
        return (centres, fixedSteps, movingSteps)
    }

    /// Adds `weight · step` at each centre, spread by a Gaussian of `sigma` voxels and shared
    /// among nearby pairs, to an update that the caller will multiply by `scale`.
    func add(_ steps: [SIMD3<Double>], at centres: [SIMD3<Double>], to update: inout VectorField, scale: Float, sigma: Double) {
        let g = update.geometry
        let s = max(sigma, 1), reach = Int((3 * s).rounded(.up))
        let indices = centres.map { g.continuousIndex(ofPhysicalPoint: $0) }
        let planar = g.dimension == 2
        func kernel(_ d: SIMD3<Double>) -> Double { exp(-((d * d).sum() - (planar ? d.z * d.z : 0)) / (2 * s * s)) }
        let crowd = indices.map { a in indices.reduce(0.0) { $0 + kernel($1 - a) } }
        let factor = weight / Double(scale > 0 ? scale : 1)
        update.vectors.withUnsafeMutableBufferPointer { v in
            for (k, c) in indices.enumerated() {
                let share = factor / crowd[k]
                let lo = SIMD3(Int(c.x.rounded(.down)) - reach, Int(c.y.rounded(.down)) - reach, planar ? 0 : Int(c.z.rounded(.down)) - reach)
                let first = pointwiseMax(lo, .zero)
                let last = pointwiseMin(SIMD3(lo.x + 2 * reach + 1, lo.y + 2 * reach + 1, planar ? 0 : lo.z + 2 * reach + 1), g.size &- 1)
                guard all(first .<= last) else { continue }   // the pair's window lies beyond the grid
                for z in first.z...last.z {
                    for y in first.y...last.y {
                        for x in first.x...last.x {
                            let w = Float(share * kernel(SIMD3<Double>(Double(x), Double(y), Double(z)) - c))
                            let o = 3 * g.offset(x, y, z)
                            v[o] += w * Float(steps[k].x)
                            v[o + 1] += w * Float(steps[k].y)
                            v[o + 2] += w * Float(steps[k].z)
                        }
                    }
                }
            }
        }
    }
}
