// DenseSetup: the steps the dense methods share (validation, unit-range winsorising, the level loop, reports, summed metrics, updates).
import Dispatch
import Foundation
import RegCore
import RegKernels
import RegMetrics
import RegOptimize
import RegTransforms

/// Steps shared by the dense methods.
enum DenseSetup {
    /// Validates, normalises intensities, and runs `iterate` over the stage's levels on its domain
    /// (`StageDomain`): the fields are carried onto each level's grid and left on the last one,
    /// which may be coarser than the fixed image's grid and cover only its content's box (the
    /// callers invert and compose there, then carry the results onto the whole grid with
    /// `FieldKernels.resampled`). `iterate` updates the fields once and returns the similarity it
    /// measured before the update.
    static func runLevels(_ stage: DeformableStage, name: String, fixed: Image<Float>, moving: Image<Float>,
                          fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?, fields: inout [VectorField],
                          progress: ProgressHandler?,
                          iterate: (DenseLevel, inout [VectorField], inout PhaseTimes) throws -> Double) throws -> [DeformableLevelReport] {
        try validate(stage)
        try validate(fixed: fixed, moving: moving, fixedMask: fixedMask, movingMask: movingMask)
        let limit = DeformableStage.volumePenaltyLimit(updateSigma: stage.updateSigma, dimension: fixed.geometry.dimension)
        guard stage.volumePenalty < limit else {
            throw RegError.invalidArgument(name: "volume penalty", reason: String(format:
                "%g is unstable with update sigma %g voxels in %d-D: it must stay below %.2f", stage.volumePenalty,
                stage.updateSigma, fixed.geometry.dimension, limit))
        }
        var f = UnitRange.scaled(fixed), croppedMask = fixedMask
        let m = UnitRange.scaled(moving)
        if let domain = DenseDomain(stage, fixed: f, mask: fixedMask) {
            f = f.cropped(from: domain.low, to: domain.high)
            croppedMask = fixedMask?.cropped(from: domain.low, to: domain.high)
        }
        var reports: [DeformableLevelReport] = []
        for (index, level) in stage.levels.enumerated() {
            let levelStart = DispatchTime.now().uptimeNanoseconds
            let images = try DenseLevel(level, index: index, fixed: f, moving: m, fixedMask: croppedMask, movingMask: movingMask)
            let grid = images.grid
            fields = fields.map { FieldKernels.resampled($0, onto: grid) }
            var monitor = stage.convergence
            var curve: [Double] = []
            var reason = "iterations"
            var phases = PhaseTimes()
            for i in 0..<level.iterations {
                curve.append(try iterate(images, &fields, &phases))
                try progress?(ProgressEvent(kind: .iteration, stage: name, level: index + 1, levels: stage.levels.count,
                                        iteration: i + 1, iterations: level.iterations, value: curve.last!))
                if monitor.record(-curve.last!) { reason = "converged"; break }
            }
            reports.append(try report(index: index, of: stage.levels, grid: grid, curve: curve, stopReason: reason, since: levelStart,
                                  name: name, metrics: stage.metrics, phases: phases, progress: progress))
        }
        return reports
    }

    /// The report of one finished level, also sent to `progress` as a line.
    static func report(index: Int, of levels: [Level], grid: Geometry, curve: [Double], stopReason: String, since start: UInt64,
                       name: String, metrics: [WeightedMetric], phases: PhaseTimes? = nil, progress: ProgressHandler?) throws -> DeformableLevelReport {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let shrink = levels[index].shrink
        let line = String(format: "%@ level %d/%d (shrink %d): %@ %.4f → %.4f in %d iterations, %.2f s", name, index + 1,
                          levels.count, shrink, metricName(metrics), curve.first ?? 0, curve.last ?? 0, curve.count, seconds)
            + (phases.map { " (\($0.line))" } ?? "")
        try progress?(ProgressEvent(kind: .level, stage: name, level: index + 1, levels: levels.count, iteration: curve.count,
                                iterations: levels[index].iterations, value: curve.last ?? 0, message: line))
        return DeformableLevelReport(level: index + 1, shrink: shrink, size: [grid.size.x, grid.size.y, grid.size.z],
                                     iterations: curve.count, initialSimilarity: curve.first ?? 0, finalSimilarity: curve.last ?? 0,
                                     stopReason: stopReason, seconds: seconds, curve: curve, phases: phases)
    }

    static func validate(_ stage: DeformableStage) throws {
        try validate(levels: stage.levels, metrics: stage.metrics)
        guard stage.step > 0 else { throw RegError.invalidArgument(name: "step", reason: "must be > 0, found \(stage.step)") }
        if let steps = stage.steps {
            guard steps.count == stage.levels.count else {
                throw RegError.invalidArgument(name: "steps", reason: "one per level: \(steps.count) steps for \(stage.levels.count) levels")
            }
            if let bad = steps.first(where: { !($0 > 0) }) {
                throw RegError.invalidArgument(name: "steps", reason: "each must be > 0, found \(bad)")
            }
        }
        guard stage.updateSigma >= 0, stage.totalSigma >= 0 else {
            throw RegError.invalidArgument(name: "sigma", reason: "smoothing sigmas must be ≥ 0")
        }
        guard stage.volumePenalty >= 0 else {
            throw RegError.invalidArgument(name: "volume penalty", reason: "must be ≥ 0, found \(stage.volumePenalty)")
        }
        guard stage.volumeTolerance >= 0 else {
            throw RegError.invalidArgument(name: "volume tolerance", reason: "must be ≥ 0, found \(stage.volumeTolerance)")
        }
    }

    static func validate(levels: [Level], metrics: [WeightedMetric]) throws {
        guard !levels.isEmpty else { throw RegError.invalidArgument(name: "levels", reason: "a deformable stage needs at least one level") }
        guard !metrics.isEmpty else { throw RegError.invalidArgument(name: "metric", reason: "a deformable stage needs a metric") }
    }

    static func validate(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?) throws {
        guard fixed.components == 1, moving.components == 1 else {
            throw RegError.invalidArgument(name: "image", reason: "deformable registration takes scalar images")
        }
        guard fixed.geometry.dimension == moving.geometry.dimension else {
            throw RegError.geometryMismatch("the fixed image is \(fixed.geometry.dimension)-D and the moving image \(moving.geometry.dimension)-D")
        }
        if let m = fixedMask, !m.geometry.sameGrid(as: fixed.geometry) {
            throw RegError.geometryMismatch("the fixed mask's grid differs from the fixed image's")
        }
        if let m = movingMask, !m.geometry.sameGrid(as: moving.geometry) {
            throw RegError.geometryMismatch("the moving mask's grid differs from the moving image's")
        }
    }

    /// The weighted sum of the stage's metrics.
    static func similarity(_ metrics: [WeightedMetric], fixed: Image<Float>, moving: Image<Float>,
                           mask: Image<UInt8>?) -> VoxelwiseSimilarity {
        var total: VoxelwiseSimilarity?
        for term in metrics {
            let s = term.metric.evaluate(fixed: fixed, moving: moving, mask: mask)
            let w = Float(term.weight)
            guard var sofar = total else {
                total = term.weight == 1 ? s
                    : VoxelwiseSimilarity(value: term.weight * s.value, fixedDerivative: s.fixedDerivative.map { w * $0 },
                                          movingDerivative: s.movingDerivative.map { w * $0 })
                continue
            }
            sofar.value += term.weight * s.value
            for i in sofar.fixedDerivative.indices {
                sofar.fixedDerivative[i] += w * s.fixedDerivative[i]
                sofar.movingDerivative[i] += w * s.movingDerivative[i]
            }
            total = sofar
        }
        return total!
    }

    static func metricName(_ metrics: [WeightedMetric]) -> String {
        metrics.map { $0.weight == 1 ? "\($0.metric)" : "\($0.weight)·\($0.metric)" }.joined(separator: " + ")
    }

    /// The force field `w·∇I` smoothed by the update sigma, and the factor that makes its
    /// largest vector the level's step long (in voxels).
    static func update(weights: [Float], image: Image<Float>, stage: DeformableStage, level: Int) -> (field: VectorField, scale: Float) {
        let (smoothed, largest) = FieldKernels.smoothedForce(weights: weights, image: image, sigma: .voxels(stage.updateSigma))
        return (smoothed, largest > 0 ? Float(stage.step(atLevel: level) / largest) : 0)
    }

    /// The smoothing of the total field after each update (`totalSigma`), nil when it is off.
    static func totalSmoothing(_ stage: DeformableStage) -> GaussianSmoothing.Sigma? {
        stage.totalSigma > 0 ? .voxels(stage.totalSigma) : nil
    }
}
