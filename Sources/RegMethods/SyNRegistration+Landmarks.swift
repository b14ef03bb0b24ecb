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
/// let steps = pull.steps(fixedField: fields[0], movingField: fields[1], sigma: 3)
/// pull.add(steps.fixed, of: steps, to: &update, scale: scale, sigma: 3)
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

    /// One iteration's pull: each pair's midpoint `c` in the middle space (LPS mm, and as a
    /// continuous index of the fields' grid), the step each side takes there, and each pair's
    /// share: 1 over the Gaussian-weighted count of pairs near it.
    struct Steps {
        var centres: [SIMD3<Double>] = []
        var fixed: [SIMD3<Double>] = []
        var moving: [SIMD3<Double>] = []
        var indices: [SIMD3<Double>] = []
        var shares: [Double] = []
    }

    /// The steps of this iteration, the pairs spread by a Gaussian of `sigma` voxels (at least 1).
    func steps(fixedField: VectorField, movingField: VectorField, sigma: Double = 1) -> Steps {
        let f = DisplacementField(fixedField), m = DisplacementField(movingField), g = fixedField.geometry
        var out = Steps()
        for (p, q) in zip(fixedPoints, movingPoints) {
            let mF = Self.middle(of: p, under: f), mM = Self.middle(of: q, under: m)
            let c = (mF + mM) / 2
            out.centres.append(c)
            out.fixed.append(mF - c)
            out.moving.append(mM - c)
            var index = g.continuousIndex(ofPhysicalPoint: c)
            if g.dimension == 2 { index.z = 0 }
            out.indices.append(index)
        }
        let s = max(sigma, 1), reach = 3 * s
        out.shares = out.indices.map { a in
            1 / out.indices.reduce(0.0) { total, b in
                let d = b - a
                return all(SIMD3(abs(d.x), abs(d.y), abs(d.z)) .<= SIMD3(repeating: reach)) ? total + exp(-(d * d).sum() / (2 * s * s)) : total
            }
        }
        return out
    }

    /// Adds `weight · share · step` about each pair's centre, spread by the Gaussian of
    /// `steps(…, sigma:)` (peak 1, separable: one weight per axis and offset), to an update that
    /// the caller will multiply by `scale`.
    func add(_ side: [SIMD3<Double>], of pairs: Steps, to update: inout VectorField, scale: Float, sigma: Double) {
        let g = update.geometry
        let s = max(sigma, 1), reach = Int((3 * s).rounded(.up))
        let planar = g.dimension == 2
        let factor = weight / Double(scale > 0 ? scale : 1)
        update.vectors.withUnsafeMutableBufferPointer { v in
            for (k, c) in pairs.indices.enumerated() {
                let lo = SIMD3(Int(c.x.rounded(.down)) - reach, Int(c.y.rounded(.down)) - reach, planar ? 0 : Int(c.z.rounded(.down)) - reach)
                let first = pointwiseMax(lo, .zero)
                let last = pointwiseMin(SIMD3(lo.x + 2 * reach + 1, lo.y + 2 * reach + 1, planar ? 0 : lo.z + 2 * reach + 1), g.size &- 1)
                guard all(first .<= last) else { continue }   // the pair's window lies beyond the grid
                func weights(_ axis: Int) -> [Double] {
                    (first[axis]...last[axis]).map { i in exp(-(Double(i) - c[axis]) * (Double(i) - c[axis]) / (2 * s * s)) }
                }
                let wx = weights(0), wy = weights(1), wz = planar ? [1.0] : weights(2)
                let step = side[k] * (factor * pairs.shares[k])
                for (dz, z) in (first.z...last.z).enumerated() {
                    for (dy, y) in (first.y...last.y).enumerated() {
                        let wyz = wy[dy] * wz[dz]
                        for (dx, x) in (first.x...last.x).enumerated() {
                            let w = SIMD3<Float>(step * (wx[dx] * wyz))
                            let o = 3 * g.offset(x, y, z)
                            v[o] += w.x
                            v[o + 1] += w.y
                            v[o + 2] += w.z
                        }
                    }
                }
            }
        }
    }
}
