import Foundation
import RegCore
import RegKernels
import RegTransforms

/// A lesion with mass effect, for validating abnormality detection: tissue is pushed radially
/// away from `center` by the exponential of the velocity `v(x) = m · f(r) · (x − c)/r`, with
/// `f(r) = r/R` inside the lesion's radius `R` and `(R/r)²` outside it (`R/r` on a 2-D grid):
/// outside the lesion the push is divergence-free, so the tissue is displaced, not compressed
/// away, and the push at the edge is `mass effect` mm. The pushed ball, of radius about R + m, is
/// then filled with the lesion's intensity (a soft edge of a voxel). The image is resampled once,
/// by cubic B-spline, so the pushed tissue is not blurred against the original (linear blur at
/// edges reads as change where nothing changed).
///
/// ```swift
/// let lesion = try SimulatedLesion(on: brain.geometry, center: SIMD3(20, -10, 30), radius: 10, massEffect: 3)
/// let withLesion = try lesion.apply(to: brain, intensity: 0.2)
/// // lesion.mask: the lesion's voxels; lesion.forward: where each original point has moved
/// ```
public struct SimulatedLesion: Sendable {
    public let center: SIMD3<Double>
    public let radius: Double
    public let massEffect: Double
    /// Original → lesioned, `x ↦ x + u(x)`.
    public let forward: DisplacementField
    /// Lesioned → original: resampling the original through it pushes the tissue.
    public let inverse: DisplacementField
    /// The lesion's voxels (the pushed ball) on the grid.
    public let mask: Image<UInt8>

    /// - Throws: `invalidArgument` for a radius that is not positive, a negative mass effect, or a
    ///   centre outside the grid.
    public init(on grid: Geometry, center: SIMD3<Double>, radius: Double, massEffect: Double) throws {
        guard radius > 0, radius.isFinite, massEffect >= 0, massEffect <= radius * 2 else {
            throw RegError.invalidArgument(name: "lesion", reason: "needs a radius > 0 mm and a mass effect of 0 to twice the radius; found \(radius) and \(massEffect)")
        }
        let index = grid.continuousIndex(ofPhysicalPoint: center)
        let size = SIMD3<Double>(grid.size) - 1
        guard (0..<3).allSatisfy({ index[$0] >= -0.5 && index[$0] <= size[$0] + 0.5 }) else {
            throw RegError.invalidArgument(name: "center", reason: "(\(center.x), \(center.y), \(center.z)) mm lies outside the image")
        }
        self.center = center
        self.radius = radius
        self.massEffect = massEffect
        let planar = grid.dimension == 2 || grid.size.z == 1
        let normal = grid.direction.column(2)
        let velocity = VelocityField(VectorField(sampling: grid) { x in
            var d = x - center
            if planar { d -= (d * normal).sum() * normal }
            let r = d.length
            guard r > 1e-9 else { return x }
            let f = r <= radius ? r / radius : (planar ? radius / r : (radius / r) * (radius / r))
            return x + d * (massEffect * f / r)
        })
        forward = velocity.exponential()
        inverse = velocity.negated.exponential()
        mask = try Image<UInt8>(geometry: grid, voxels: Self.ball(on: grid, center: center, radius: radius + massEffect).map { $0 > 0.5 ? 1 : 0 })
    }

    /// The image with its tissue pushed and the lesion filled with `intensity`, blended over a
    /// voxel at the lesion's edge.
    public func apply(to image: Image<Float>, intensity: Float) throws -> Image<Float> {
        var pushed = try Resampler.resample(image, onto: mask.geometry, mapping: PointMapping(displacement: inverse.field), interpolation: .bspline)
        let inside = Self.ball(on: mask.geometry, center: center, radius: radius + massEffect)
        for i in pushed.voxels.indices { pushed.voxels[i] = Float(inside[i]) * intensity + Float(1 - inside[i]) * pushed.voxels[i] }
        return pushed
    }

    /// How much of each voxel lies in the ball (a logistic edge half a voxel wide; in a 2-D grid,
    /// the disc in its plane).
    static func ball(on g: Geometry, center: SIMD3<Double>, radius: Double) -> [Double] {
        let planar = g.dimension == 2 || g.size.z == 1, normal = g.direction.column(2), width = 0.5 * g.spacing.min()
        var values = [Double](repeating: 0, count: g.voxelCount)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            var d = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z))) - center
            if planar { d -= (d * normal).sum() * normal }
            values[g.offset(x, y, z)] = 1 / (1 + Foundation.exp((d.length - radius) / width))
        } } }
        return values
    }
}
