import RegCore
import RegKernels
import RegTransforms

extension SyNRegistration {
    /// Instance optimisation from a given displacement (a network's prediction): the moving image
    /// is warped by `initial`, SyN registers the fixed image to that, and its field is composed
    /// with `initial`: x ↦ x + r(x) + u₀(x + r(x)). The inverse composes the other way round,
    /// from `initialInverse` or, when nil, the fixed-point inverse of `initial`.
    ///
    /// ```swift
    /// let syn = SyNRegistration(stage: .refinement(iterations: 30))
    /// let refined = try syn.refine(fixed: fixed, moving: moving, initial: predicted)
    /// ```
    public func refine(fixed: Image<Float>, moving: Image<Float>, initial: VectorField,
                       initialInverse: VectorField? = nil) throws -> DeformableResult {
        let prewarped = try Resampler.resample(moving, onto: fixed.geometry, mapping: PointMapping(displacement: initial))
        var result = try run(fixed: fixed, moving: prewarped)
        let back = initialInverse ?? FieldKernels.inverse(of: initial)
        result.forward = DisplacementField(FieldKernels.compose(initial, after: result.forward.field))
        result.inverse = DisplacementField(FieldKernels.compose(result.inverse.field, after: back))
        return result
    }
}

extension DeformableStage {
    /// The `syn` preset's settings at full resolution only, for `iterations` steps of 0.25 voxels:
    /// refinement of a field that is already close.
    public static func refinement(iterations: Int) -> DeformableStage {
        var stage = DeformableStage.synLocalCorrelation
        stage.levels = [Level(shrink: 1, sigma: .voxels(0), iterations: iterations)]
        (stage.step, stage.steps) = (0.25, nil)
        return stage
    }
}
