// SyNRegistration: greedy symmetric normalisation.
import Dispatch
import Foundation
import RegCore
import RegKernels
import RegMetrics
import RegOptimize
import RegTransforms

/// Greedy symmetric normalisation (Avants et al. 2008, as ANTs' `SyN` and greedy run it): two
/// fields `φ_F`, `φ_M` on the fixed grid carry a middle space to the fixed and to the
/// (affinely pre-aligned) moving image; each iteration warps both images to the middle, takes
/// the voxel-wise metric derivative times the image gradient as the force on each side,
/// smooths it (`updateSigma`), scales it so no voxel moves more than `step` voxels, adds the
/// volume penalty's step (`volumePenalty`), composes it into its field and smooths the field
/// (`totalSigma`). The result is `φ_M ∘ φ_F⁻¹` and its inverse `φ_F ∘ φ_M⁻¹`, the half fields
/// inverted voxel by voxel by Newton's method at the end.
///
/// ```swift
/// let syn = SyNRegistration(stage: DeformableStage(metric: .localCorrelation(radius: 2)))
/// let result = try syn.run(fixed: fixed, moving: moving, affine: linear.map)
/// let warped = try Resampler.resample(moving, onto: fixed.geometry,
///     mapping: TransformChain([.displacement(result.forward), .affine(linear.map)]).mapping(onto: fixed.geometry))
/// ```
public struct SyNRegistration: Sendable {
    public var stage: DeformableStage
    /// Called after each iteration and at the end of each level.
    public var progress: ProgressHandler?

    public init(stage: DeformableStage) { self.stage = stage }

    /// Registers `moving` to `fixed`, starting from `affine` (fixed-space points to moving space).
    /// With `landmarks` and the stage's `landmarkWeight` above 0, each update also pulls the
    /// pairs together (`LandmarkPull`).
    public func run(fixed: Image<Float>, moving: Image<Float>, affine: AffineMap = .identity,
                    fixedMask: Image<UInt8>? = nil, movingMask: Image<UInt8>? = nil, landmarks: LandmarkPairs? = nil) throws -> DeformableResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var pull: LandmarkPull?
        if let landmarks, stage.landmarkWeight > 0 {
            let (f, m) = try landmarks.fixed.paired(with: landmarks.moving)
            pull = try LandmarkPull(fixed: f.points, moving: m.points, affine: affine, weight: stage.landmarkWeight)
        }
        var fields = [VectorField(geometry: fixed.geometry), VectorField(geometry: fixed.geometry)]   // φ_F, φ_M
        let reports = try DenseSetup.runLevels(stage, name: "SyN", fixed: fixed, moving: moving, fixedMask: fixedMask,
                                               movingMask: movingMask, fields: &fields, progress: progress) { level, fields, times in
            let fixedMapping = PointMapping(displacement: fields[0])
            let movingMapping = PointMapping(matrix: affine.matrix, translation: affine.translation, displacement: fields[1])
            let (warpedF, warpedM, mask) = try times.measure(\.warp) {
                (try Resampler.resample(level.fixed, onto: level.grid, mapping: fixedMapping),
                 try Resampler.resample(level.moving, onto: level.grid, mapping: movingMapping),
                 try level.middleMask(fixed: fixedMapping, moving: movingMapping))
            }
            let similarity = times.measure(\.metric) { DenseSetup.similarity(stage.metrics, fixed: warpedF, moving: warpedM, mask: mask) }
            let landmarkSteps = pull?.steps(fixedField: fields[0], movingField: fields[1], sigma: stage.updateSigma)
            // One side after the other, so only one update field is alive at a time.
            for (side, derivative, image) in [(0, similarity.fixedDerivative, warpedF), (1, similarity.movingDerivative, warpedM)] {
                var update = times.measure(\.update) { DenseSetup.update(weights: derivative, image: image, stage: stage, level: level.index) }
                if let pull, let landmarkSteps {
                    pull.add(side == 0 ? landmarkSteps.fixed : landmarkSteps.moving, of: landmarkSteps, to: &update.field,
                             scale: update.scale, sigma: stage.updateSigma)
                    if update.scale == 0 { update.scale = 1 }
                }
                let field = fields[side]
                fields[side] = times.measure(\.composition) { self.step(field, update: update.field, scale: update.scale) }
            }
            return similarity.value
        }
        // Inverted and composed on the last level's grid, then carried onto the whole grid.
        let (fieldF, fieldM) = (fields[0], fields[1])
        let inverseF = FieldKernels.inverse(of: fieldF), inverseM = FieldKernels.inverse(of: fieldM)
        let forward = DisplacementField(FieldKernels.resampled(FieldKernels.compose(fieldM, after: inverseF), onto: fixed.geometry))
        let inverse = DisplacementField(FieldKernels.resampled(FieldKernels.compose(fieldF, after: inverseM), onto: fixed.geometry))
        return DeformableResult(forward: forward, inverse: inverse, levels: reports,
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// A half field after one update: the scaled metric update, plus the volume penalty's step
    /// `κ·∇(G ∗ e)` (`e` the log-Jacobian beyond ±τ) when it is on, composed into the field
    /// (applied first), and the result smoothed by `totalSigma`.
    func step(_ field: VectorField, update: VectorField, scale: Float) -> VectorField {
        let smoothing = DenseSetup.totalSmoothing(stage)
        guard stage.volumePenalty > 0 else { return FieldKernels.compose(field, after: update, scale: scale, smoothing: smoothing) }
        let logJ = FieldKernels.smoothedLogJacobian(of: field, tolerance: Float(stage.volumeTolerance), sigma: .voxels(stage.updateSigma))
        return FieldKernels.compose(field, after: update, scale: scale, plusVoxelGradientOf: logJ, weight: Float(stage.volumePenalty),
                                    smoothing: smoothing)
    }
}
