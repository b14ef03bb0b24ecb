// DeformableStage (the settings of SyN and demons), WeightedMetric, DeformableLevelReport and DeformableResult.
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
public struct DeformableStage: Equatable, Sendable {
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
    /// SyN only: the share of each landmark pair's remaining gap that an update closes (0…1;
    /// see `LandmarkPull`), when the registration has landmarks. 0 leaves the deformable stage
    /// to the images alone.
    public var landmarkWeight = 0.0
    /// The masks this stage samples through (default: the registration's).
    public var masks = StageMasks()
    /// Where on the fixed grid the stage iterates: the box around the fixed image's content
    /// (default) or the whole grid.
    public var domain = StageDomain.content

    public init(metric: Metric, levels: [Level] = DeformableStage.defaultLevels, step: Double = 0.25,
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

    public static let defaultLevels = Level.pyramid(iterations: [100, 70, 20])
}

/// What happened at one level of a deformable stage.
public struct DeformableLevelReport: Sendable, Codable {
    /// The deformable stage the level belongs to (0 is the first), in a plan of several; nil
    /// with one.
    public var stage: Int?
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
    /// Where the level's time went (SyN and demons).
    public var phases: PhaseTimes?
}

/// Seconds spent in each phase of a dense level's iterations, as greedy reports them: warping the
/// images, the metric and its voxel-wise derivative, the update (force and its smoothing), and
/// composing it into the field (with the field's smoothing and, for SyN, the volume penalty).
///
/// ```swift
/// var times = PhaseTimes()
/// let warped = try times.measure(\.warp) { try Resampler.resample(moving, onto: grid, mapping: mapping) }
/// ```
public struct PhaseTimes: Sendable, Codable, Equatable {
    public var warp = 0.0, metric = 0.0, update = 0.0, composition = 0.0

    public init() {}

    /// Runs `body`, adding its wall time to `phase`.
    public mutating func measure<T>(_ phase: WritableKeyPath<PhaseTimes, Double>, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { self[keyPath: phase] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try body()
    }

    /// `warp 0.52 s, metric 0.81 s, update 0.60 s, composition 0.44 s`.
    public var line: String {
        String(format: "warp %.2f s, metric %.2f s, update %.2f s, composition %.2f s", warp, metric, update, composition)
    }
}

/// A deformable result: `forward` carries fixed-space points to (affinely aligned) moving space,
/// `inverse` the other way, both on the fixed grid; apply as `-t forward -t affine`.
public struct DeformableResult: Sendable {
    public var forward: DisplacementField
    public var inverse: DisplacementField
    public var levels: [DeformableLevelReport]
    public var seconds: Double
}
