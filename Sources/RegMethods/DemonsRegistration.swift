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
    public var progress: (@Sendable (String) -> Void)?

    public init(stage: DeformableStage) { self.stage = stage }

    public func run(fixed: Image<Float>, moving: Image<Float>, affine: AffineMap = .identity,
                    fixedMask: Image<UInt8>? = nil, movingMask: Image<UInt8>? = nil) throws -> DeformableResult {
        let start = DispatchTime.now().uptimeNanoseconds
        try DenseSetup.validate(stage, fixed: fixed, moving: moving, fixedMask: fixedMask, movingMask: movingMask)
        let f = DenseSetup.unitRange(fixed), m = DenseSetup.unitRange(moving)
        var field = VectorField(geometry: fixed.geometry)
        var reports: [DeformableLevelReport] = []
        for (index, level) in stage.levels.enumerated() {
            let levelStart = DispatchTime.now().uptimeNanoseconds
            let fl = try Pyramid.image(f, at: level), ml = try Pyramid.image(m, at: level)
            let grid = fl.geometry
            field = FieldKernels.resampled(field, onto: grid)
            let maskF = try fixedMask.map { try Pyramid.mask($0, onto: grid) }
            let maskM = try movingMask.map { try Pyramid.mask($0, onto: ml.geometry) }
            // σₓ in mm: the largest demons step is σₓ/2.
            let sigmaX = Float(2 * stage.step * grid.spacing.min())
            var monitor = stage.convergence
            var curve: [Double] = []
            var reason = "iterations"
            for _ in 0..<level.iterations {
                let mapping = PointMapping(matrix: affine.matrix, translation: affine.translation, displacement: field)
                let warped = try Resampler.resample(ml, onto: grid, mapping: mapping)
                let mask = try DenseSetup.middleMask(fixed: maskF, moving: maskM, grid: grid, movingMapping: mapping)
                var difference = [Float](repeating: 0, count: grid.voxelCount)
                var sum = 0.0, count = 0
                for i in difference.indices where mask.map({ $0.voxels[i] != 0 }) ?? true {
                    let d = fl.voxels[i] - warped.voxels[i]
                    difference[i] = d; sum += Double(d * d); count += 1
                }
                let similarity = -sum / Double(max(1, count))
                curve.append(similarity)
                if monitor.record(-similarity) { reason = "converged"; break }
                var update = FieldKernels.force(weights: difference, image: warped)   // (F − J)∇J
                Self.normalise(&update, difference: difference, sigmaX: sigmaX)
                if stage.updateSigma > 0 { update = GaussianSmoothing.smooth(update, sigma: .voxels(stage.updateSigma)) }
                let step = VelocityField(update).exponential()
                field = DenseSetup.smoothTotal(FieldKernels.compose(field, after: step.field), stage: stage)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - levelStart) / 1e9
            reports.append(DeformableLevelReport(level: index + 1, shrink: level.shrink, size: [grid.size.x, grid.size.y, grid.size.z],
                                                 iterations: curve.count, initialSimilarity: curve.first ?? 0,
                                                 finalSimilarity: curve.last ?? 0, stopReason: reason, seconds: seconds, curve: curve))
            progress?(String(format: "demons level %d/%d (shrink %d): -mse %.5f → %.5f in %d iterations, %.2f s", index + 1,
                             stage.levels.count, level.shrink, curve.first ?? 0, curve.last ?? 0, curve.count, seconds))
        }
        field = FieldKernels.resampled(field, onto: fixed.geometry)
        let forward = DisplacementField(field)
        return DeformableResult(forward: forward, inverse: forward.inverse(), levels: reports,
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
