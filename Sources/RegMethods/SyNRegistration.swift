import Dispatch
import Foundation
import RegCore
import RegKernels
import RegMetrics
import RegOptimize
import RegTransforms

/// The settings of a dense deformable stage (SyN or demons), over levels.
///
/// ```swift
/// let syn = DeformableStage(metric: .localCorrelation(radius: 2), step: 0.25, updateSigma: 3, totalSigma: 0.25,
///                            volumePenalty: 2.5, volumeTolerance: 0.15)
/// var coarseFirst = syn
/// coarseFirst.steps = [0.4, 0.4, 0.3]   // one per level, coarsest first
/// ```
public struct DeformableStage: Equatable, Sendable, Codable {
    /// Similarity and its weight; several are summed.
    public var metrics: [WeightedMetric]
    public var levels: [Level]
    /// The largest displacement of one update, in voxels of the level's grid, at every level
    /// that `steps` does not set.
    public var step: Double
    /// The step of each level (coarsest first, one per level), overriding `step`; nil: `step`
    /// at every level. Coarse levels can take longer steps, as the smoothing at their scale
    /// keeps the field regular, and so reach their optimum in fewer iterations.
    public var steps: [Double]?
    /// Gaussian sigma (voxels) for each update: fluid-like regularisation.
    public var updateSigma: Double
    /// Gaussian sigma (voxels) for the accumulated field after each update: elastic-like.
    public var totalSigma: Double
    /// SyN only: the weight κ of a penalty on `½‖(|log det J| − τ)₊‖²` of each half field (τ =
    /// `volumeTolerance`). Every update also moves each voxel by `κ·∇(G ∗ e)` voxels, with `e`
    /// the log-Jacobian beyond ±τ and `G` the update's Gaussian, which diffuses excess local
    /// volume change (κ voxels² per iteration) and leaves rotation and shear free: the Jacobian
    /// becomes far more regular at the same label overlap than with a larger `totalSigma`.
    /// 0 turns it off; `volumePenaltyLimit` bounds it.
    public var volumePenalty: Double
    /// SyN only: the local volume change `|log det J|` of a half field that the volume penalty
    /// leaves free. Without it (0) the penalty also shrinks true volume changes; 0.15 keeps
    /// the recovery of known warps.
    public var volumeTolerance: Double
    public var convergence: ConvergenceMonitor

    public init(metric: VoxelwiseMetric, levels: [Level] = DeformableStage.defaultLevels, step: Double = 0.25,
                steps: [Double]? = nil, updateSigma: Double = 3, totalSigma: Double = 0.5, volumePenalty: Double = 0,
                volumeTolerance: Double = 0, convergence: ConvergenceMonitor = ConvergenceMonitor(window: 10, threshold: 1e-6)) {
        self.init(metrics: [WeightedMetric(metric, weight: 1)], levels: levels, step: step, steps: steps, updateSigma: updateSigma,
                  totalSigma: totalSigma, volumePenalty: volumePenalty, volumeTolerance: volumeTolerance, convergence: convergence)
    }

    public init(metrics: [WeightedMetric], levels: [Level], step: Double, steps: [Double]? = nil, updateSigma: Double,
                totalSigma: Double, volumePenalty: Double = 0, volumeTolerance: Double = 0, convergence: ConvergenceMonitor) {
        self.metrics = metrics
        self.levels = levels
        self.step = step
        self.steps = steps
        self.updateSigma = updateSigma
        self.totalSigma = totalSigma
        self.volumePenalty = volumePenalty
        self.volumeTolerance = volumeTolerance
        self.convergence = convergence
    }

    enum CodingKeys: String, CodingKey { case metrics, levels, step, steps, updateSigma, totalSigma, volumePenalty, volumeTolerance, convergence }

    /// Decodes a stage; plans written before the volume penalty or the per-level steps existed
    /// read the penalty as off and `step` at every level.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(metrics: try c.decode([WeightedMetric].self, forKey: .metrics), levels: try c.decode([Level].self, forKey: .levels),
                  step: try c.decode(Double.self, forKey: .step), steps: try c.decodeIfPresent([Double].self, forKey: .steps),
                  updateSigma: try c.decode(Double.self, forKey: .updateSigma),
                  totalSigma: try c.decode(Double.self, forKey: .totalSigma),
                  volumePenalty: try c.decodeIfPresent(Double.self, forKey: .volumePenalty) ?? 0,
                  volumeTolerance: try c.decodeIfPresent(Double.self, forKey: .volumeTolerance) ?? 0,
                  convergence: try c.decode(ConvergenceMonitor.self, forKey: .convergence))
    }

    /// The step of level `index` (0 is the coarsest): `steps[index]`, or `step` without `steps`.
    public func step(atLevel index: Int) -> Double { steps?[index] ?? step }

    /// The largest stable `volumePenalty` for an update sigma (voxels) in `dimension` dimensions.
    /// The penalty is an explicit diffusion of `G ∗ log det J` through central differences: a
    /// pattern of frequency k along m axes decays by `κ·m·sin²k·exp(−m σ² k²/2)` per iteration,
    /// which must stay below 2. About 0.67 without smoothing, 3.3 at σ 1, 25 at σ 3.
    public static func volumePenaltyLimit(updateSigma sigma: Double, dimension: Int) -> Double {
        var largest = 0.0
        for m in 1...max(1, dimension) {
            for i in 1...1000 {
                let k = Double.pi * Double(i) / 1000, s = sin(k), axes = Double(m)
                let decay: Double = axes * s * s * exp(-axes * sigma * sigma * k * k / 2)
                largest = max(largest, decay)
            }
        }
        return 2 / largest
    }

    public static let defaultLevels = [
        Level(shrink: 4, sigma: .voxels(2), iterations: 100),
        Level(shrink: 2, sigma: .voxels(1), iterations: 70),
        Level(shrink: 1, sigma: .voxels(0), iterations: 20),
    ]
}

/// A voxel-wise metric with a weight in a sum of metrics.
public struct WeightedMetric: Equatable, Sendable, Codable {
    public var metric: VoxelwiseMetric
    public var weight: Double
    public init(_ metric: VoxelwiseMetric, weight: Double = 1) {
        self.metric = metric
        self.weight = weight
    }
}

/// What happened at one level of a deformable stage.
public struct DeformableLevelReport: Sendable, Codable {
    public var level: Int
    public var shrink: Int
    public var size: [Int]
    public var iterations: Int
    public var initialSimilarity: Double
    public var finalSimilarity: Double
    public var stopReason: String
    public var seconds: Double
    /// Similarity after each iteration.
    public var curve: [Double]
}

/// A deformable result: `forward` carries fixed-space points to (affinely aligned) moving space,
/// `inverse` the other way, both on the fixed grid; apply as `-t forward -t affine`.
public struct DeformableResult: Sendable {
    public var forward: DisplacementField
    public var inverse: DisplacementField
    public var levels: [DeformableLevelReport]
    public var seconds: Double
}

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
    public func run(fixed: Image<Float>, moving: Image<Float>, affine: AffineMap = .identity,
                    fixedMask: Image<UInt8>? = nil, movingMask: Image<UInt8>? = nil) throws -> DeformableResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var fields = [VectorField(geometry: fixed.geometry), VectorField(geometry: fixed.geometry)]   // φ_F, φ_M
        let reports = try DenseSetup.runLevels(stage, name: "SyN", fixed: fixed, moving: moving, fixedMask: fixedMask,
                                               movingMask: movingMask, fields: &fields, progress: progress) { level, fields in
            let fixedMapping = PointMapping(displacement: fields[0])
            let movingMapping = PointMapping(matrix: affine.matrix, translation: affine.translation, displacement: fields[1])
            let warpedF = try Resampler.resample(level.fixed, onto: level.grid, mapping: fixedMapping)
            let warpedM = try Resampler.resample(level.moving, onto: level.grid, mapping: movingMapping)
            let mask = try level.middleMask(fixed: fixedMapping, moving: movingMapping)
            let similarity = DenseSetup.similarity(stage.metrics, fixed: warpedF, moving: warpedM, mask: mask)
            // One side after the other, so only one update field is alive at a time.
            for (side, derivative, image) in [(0, similarity.fixedDerivative, warpedF), (1, similarity.movingDerivative, warpedM)] {
                let update = DenseSetup.update(weights: derivative, image: image, stage: stage, level: level.index)
                fields[side] = self.step(fields[side], update: update.field, scale: update.scale)
            }
            return similarity.value
        }
        let (fieldF, fieldM) = (fields[0], fields[1])
        let inverseF = FieldKernels.inverse(of: fieldF), inverseM = FieldKernels.inverse(of: fieldM)
        let forward = DisplacementField(FieldKernels.compose(fieldM, after: inverseF))
        let inverse = DisplacementField(FieldKernels.compose(fieldF, after: inverseM))
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

/// One level's images, masks and grid, for a dense method's iteration.
struct DenseLevel {
    /// Its position in the stage's levels, 0 the coarsest.
    let index: Int
    let fixed: Image<Float>, moving: Image<Float>
    let grid: Geometry
    let fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?

    /// The level's smoothed, shrunk images and masks; the grid is the shrunk fixed image's.
    init(_ level: Level, index: Int, fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?) throws {
        self.index = index
        self.fixed = try Pyramid.image(fixed, at: level)
        self.moving = try Pyramid.image(moving, at: level)
        grid = self.fixed.geometry
        self.fixedMask = try fixedMask.map { [grid] in try Pyramid.mask($0, onto: grid) }
        self.movingMask = try movingMask.map { [geometry = self.moving.geometry] in try Pyramid.mask($0, onto: geometry) }
    }

    /// The mask of middle-space voxels that count: each image's mask carried through its side's
    /// mapping onto the level grid (the fixed side's mapping is the identity for one-sided methods).
    func middleMask(fixed fixedMapping: PointMapping = .identity, moving movingMapping: PointMapping) throws -> Image<UInt8>? {
        let carriedFixed = try fixedMask.map { try Resampler.resample($0, onto: grid, mapping: fixedMapping, interpolation: .nearest) }
        guard let movingMask else { return carriedFixed }
        var carried = try Resampler.resample(movingMask, onto: grid, mapping: movingMapping, interpolation: .nearest)
        if let carriedFixed { for i in carried.voxels.indices where carriedFixed.voxels[i] == 0 { carried.voxels[i] = 0 } }
        return carried
    }
}

/// Steps shared by the dense methods.
enum DenseSetup {
    /// Validates, normalises intensities, and runs `iterate` over the stage's levels: the fields
    /// are carried onto each level's grid and back onto the fixed grid at the end. `iterate`
    /// updates the fields once and returns the similarity it measured before the update.
    static func runLevels(_ stage: DeformableStage, name: String, fixed: Image<Float>, moving: Image<Float>,
                          fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?, fields: inout [VectorField],
                          progress: ProgressHandler?,
                          iterate: (DenseLevel, inout [VectorField]) throws -> Double) throws -> [DeformableLevelReport] {
        try validate(stage)
        try validate(fixed: fixed, moving: moving, fixedMask: fixedMask, movingMask: movingMask)
        let limit = DeformableStage.volumePenaltyLimit(updateSigma: stage.updateSigma, dimension: fixed.geometry.dimension)
        guard stage.volumePenalty < limit else {
            throw RegError.invalidArgument(name: "volume penalty", reason: String(format:
                "%g is unstable with update sigma %g voxels in %d-D: it must stay below %.2f", stage.volumePenalty,
                stage.updateSigma, fixed.geometry.dimension, limit))
        }
        let f = unitRange(fixed), m = unitRange(moving)
        var reports: [DeformableLevelReport] = []
        for (index, level) in stage.levels.enumerated() {
            let levelStart = DispatchTime.now().uptimeNanoseconds
            let images = try DenseLevel(level, index: index, fixed: f, moving: m, fixedMask: fixedMask, movingMask: movingMask)
            let grid = images.grid
            fields = fields.map { FieldKernels.resampled($0, onto: grid) }
            var monitor = stage.convergence
            var curve: [Double] = []
            var reason = "iterations"
            for i in 0..<level.iterations {
                curve.append(try iterate(images, &fields))
                progress?(ProgressEvent(kind: .iteration, stage: name, level: index + 1, levels: stage.levels.count,
                                        iteration: i + 1, iterations: level.iterations, value: curve.last!))
                if monitor.record(-curve.last!) { reason = "converged"; break }
            }
            reports.append(report(index: index, of: stage.levels, grid: grid, curve: curve, stopReason: reason, since: levelStart,
                                  name: name, metrics: stage.metrics, progress: progress))
        }
        fields = fields.map { FieldKernels.resampled($0, onto: fixed.geometry) }
        return reports
    }

    /// The report of one finished level, also sent to `progress` as a line.
    static func report(index: Int, of levels: [Level], grid: Geometry, curve: [Double], stopReason: String, since start: UInt64,
                       name: String, metrics: [WeightedMetric], progress: ProgressHandler?) -> DeformableLevelReport {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let shrink = levels[index].shrink
        let line = String(format: "%@ level %d/%d (shrink %d): %@ %.4f → %.4f in %d iterations, %.2f s", name, index + 1,
                          levels.count, shrink, metricName(metrics), curve.first ?? 0, curve.last ?? 0, curve.count, seconds)
        progress?(ProgressEvent(kind: .level, stage: name, level: index + 1, levels: levels.count, iteration: curve.count,
                                iterations: levels[index].iterations, value: curve.last ?? 0, message: line))
        return DeformableLevelReport(level: index + 1, shrink: shrink, size: [grid.size.x, grid.size.y, grid.size.z],
                                     iterations: curve.count, initialSimilarity: curve.first ?? 0, finalSimilarity: curve.last ?? 0,
                                     stopReason: stopReason, seconds: seconds, curve: curve)
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

    /// Intensities clamped to the 0.5 and 99.5 percentiles and mapped to 0…1, as ANTs' SyN
    /// scripts winsorise; local sums stay well conditioned in `Float`.
    static func unitRange(_ image: Image<Float>) -> Image<Float> {
        var sample = stride(from: 0, to: image.voxels.count, by: max(1, image.voxels.count / 200_000)).map { image.voxels[$0] }
        sample.sort()
        guard let first = sample.first else { return image }
        let lo = sample[Int(0.005 * Double(sample.count - 1))], hi = sample[Int(0.995 * Double(sample.count - 1))]
        let scale: Float = hi > lo ? 1 / (hi - lo) : 1
        let low = hi > lo ? lo : first
        let values = image.voxels.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: src.count) { dst, n in
                let s = UnsafeSendable(src.baseAddress!), d = UnsafeSendable(dst.baseAddress!)
                parallelFor(count: src.count, chunkSize: 1 << 16) { r in
                    for i in r { (d.value + i).initialize(to: min(max((s.value[i] - low) * scale, 0), 1)) }
                }
                n = src.count
            }
        }
        return try! Image(geometry: image.geometry, components: image.components, voxels: values)
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
        metrics.map { $0.weight == 1 ? $0.metric.name : "\($0.weight)·\($0.metric.name)" }.joined(separator: " + ")
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
