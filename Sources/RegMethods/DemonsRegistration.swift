import Dispatch
import Foundation
import RegCore
import RegKernels
import RegMetrics
import RegTransforms

/// Diffeomorphic demons (Vercauteren et al. 2009) for mono-modal pairs: each iteration takes
/// the demons force `u = (F − J)∇J / (‖∇J‖² + (F − J)²/σₓ²)` on the fixed grid (`J` the moving
/// image through the current transform, `σₓ = 2·step` voxels so no update exceeds `step`),
/// smooths it (`updateSigma`, fluid-like), composes its exponential `exp(u)` into the transform
/// and smooths the transform (`totalSigma`, diffusion-like). The inverse is computed at the end.
///
/// ```swift
/// let demons = DemonsRegistration(stage: .demons)
/// let result = try demons.run(fixed: fixed, moving: moving, affine: linear.map)
/// ```
public struct DemonsRegistration: Sendable {
    public var stage: DeformableStage
    public var progress: ProgressHandler?

    public init(stage: DeformableStage) { self.stage = stage }

    public func run(fixed: Image<Float>, moving: Image<Float>, affine: AffineMap = .identity,
                    fixedMask: Image<UInt8>? = nil, movingMask: Image<UInt8>? = nil) throws -> DeformableResult {
        let start = DispatchTime.now().uptimeNanoseconds
        guard stage.volumePenalty == 0 else {
            throw RegError.invalidArgument(name: "volume penalty", reason: "applies to SyN; demons regularises with its sigmas")
        }
        var fields = [VectorField(geometry: fixed.geometry)]
        let reports = try DenseSetup.runLevels(stage, name: "demons", fixed: fixed, moving: moving, fixedMask: fixedMask,
                                               movingMask: movingMask, fields: &fields, progress: progress) { level, fields, times in
            let mapping = PointMapping(matrix: affine.matrix, translation: affine.translation, displacement: fields[0])
            let (warped, mask) = try times.measure(\.warp) {
                (try Resampler.resample(level.moving, onto: level.grid, mapping: mapping), try level.middleMask(moving: mapping))
            }
            let (difference, sum, count) = times.measure(\.metric) {
                var difference = [Float](repeating: 0, count: level.grid.voxelCount)
                var sum = 0.0, count = 0
                let inside = mask?.voxels ?? []
                for i in difference.indices where inside.isEmpty || inside[i] != 0 {
                    let d = level.fixed.voxels[i] - warped.voxels[i]
                    difference[i] = d; sum += Double(d * d); count += 1
                }
                return (difference, sum, count)
            }
            // σₓ in mm: the largest demons step is σₓ/2.
            let sigmaX = Float(2 * stage.step(atLevel: level.index) * level.grid.spacing.min())
            let step = times.measure(\.update) {
                var update = FieldKernels.force(weights: difference, image: warped)   // (F − J)∇J
                Self.normalise(&update, difference: difference, sigmaX: sigmaX)
                if stage.updateSigma > 0 { update = GaussianSmoothing.smooth(update, sigma: .voxels(stage.updateSigma)) }
                return VelocityField(update).exponential()
            }
            let field = fields[0]
            fields[0] = times.measure(\.composition) { FieldKernels.compose(field, after: step.field, smoothing: DenseSetup.totalSmoothing(stage)) }
            return -sum / Double(max(1, count))
        }
        // Inverted on the last level's grid, then carried onto the whole grid.
        let inverse = DisplacementField(fields[0]).inverse().field
        return DeformableResult(forward: DisplacementField(FieldKernels.resampled(fields[0], onto: fixed.geometry)),
                                inverse: DisplacementField(FieldKernels.resampled(inverse, onto: fixed.geometry)), levels: reports,
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// `(F − J)∇J ↦ (F − J)∇J / (‖∇J‖² + (F − J)²/σₓ²)`, written with `f = (F − J)∇J` and
    /// `d = F − J` as `f·d² / (‖f‖² + d⁴/σₓ²)`.
    static func normalise(_ force: inout VectorField, difference: [Float], sigmaX: Float) {
        let inverseSigma2 = 1 / (sigmaX * sigmaX)
        force.vectors.withUnsafeMutableBufferPointer { v in
            for i in difference.indices {
                let d = difference[i]
                let fx = v[3 * i], fy = v[3 * i + 1], fz = v[3 * i + 2]
                let d2 = d * d
                let denominator = fx * fx + fy * fy + fz * fz + d2 * d2 * inverseSigma2
                let scale: Float = denominator > 1e-12 ? d2 / denominator : 0
                v[3 * i] = fx * scale; v[3 * i + 1] = fy * scale; v[3 * i + 2] = fz * scale
            }
        }
    }
}
