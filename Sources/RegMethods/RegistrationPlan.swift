import Dispatch
import RegCore
import RegMetrics
import RegOptimize
import RegTransforms

/// A whole registration as data: an initial alignment, linear stages, then at most one
/// deformable stage. Plans are `Codable` (`--plan plan.yaml`, `--print-plan`).
///
/// ```swift
/// var plan = RegistrationPlan.preset("syn")!
/// plan.deformable = .syn(DeformableStage(metric: .localCorrelation(radius: 2), step: 0.3))
/// let result = try Registration(plan).run(fixed: fixed, moving: moving)
/// ```
public struct RegistrationPlan: Equatable, Sendable, Codable {
    public var initialization: Initialization
    public var rotationSearch: Bool
    public var linear: [LinearStage]
    public var deformable: DeformableMethod?

    public init(initialization: Initialization = .moments, rotationSearch: Bool = false, linear: [LinearStage],
                deformable: DeformableMethod? = nil) {
        self.initialization = initialization
        self.rotationSearch = rotationSearch
        self.linear = linear
        self.deformable = deformable
    }

    /// The names `preset(_:)` knows.
    public static let presetNames = ["translation", "rigid", "similarity", "affine", "syn", "syn-mi", "quick", "demons", "bspline"]

    /// The plan behind `swiftreg register --preset NAME`. Linear presets use `linearMetric`;
    /// `syn` is rigid + affine (MI) then SyN with local correlation (radius 2); `syn-mi` the same
    /// with mutual information for multi-modal pairs; `quick` a coarser, shorter `syn`; `demons`
    /// rigid + affine then diffeomorphic demons (mono-modal); `bspline` rigid + affine then a
    /// B-spline free-form deformation (local correlation, 4 mm final control spacing).
    public static func preset(_ name: String, linearMetric: MetricKind = .mattesMutualInformation(bins: 32)) -> RegistrationPlan? {
        let affine = [LinearStage(.rigid, metric: linearMetric), LinearStage(.affine, metric: linearMetric)]
        switch name {
        case "translation": return RegistrationPlan(linear: [LinearStage(.translation, metric: linearMetric)])
        case "rigid": return RegistrationPlan(linear: [LinearStage(.rigid, metric: linearMetric)])
        case "similarity": return RegistrationPlan(linear: [LinearStage(.rigid, metric: linearMetric), LinearStage(.similarity, metric: linearMetric)])
        case "affine": return RegistrationPlan(linear: affine)
        case "syn": return RegistrationPlan(linear: affine, deformable: .syn(.synLocalCorrelation))
        case "syn-mi": return RegistrationPlan(linear: affine, deformable: .syn(.synMutualInformation))
        case "quick":
            var quick = LinearStage(.affine, metric: linearMetric)
            quick.levels = [Level(shrink: 4, sigma: .voxels(2), iterations: 100), Level(shrink: 2, sigma: .voxels(1), iterations: 50)]
            return RegistrationPlan(linear: [quick], deformable: .syn(.synQuick))
        case "demons": return RegistrationPlan(linear: affine, deformable: .demons(.demons))
        case "bspline": return RegistrationPlan(linear: affine, deformable: .bspline(BSplineStage(metric: .localCorrelation(radius: 2))))
        default: return nil
        }
    }
}

/// The deformable stage of a plan.
public enum DeformableMethod: Equatable, Sendable, Codable {
    case syn(DeformableStage)
    case demons(DeformableStage)
    case bspline(BSplineStage)

    public var name: String {
        switch self {
        case .syn: return "SyN"
        case .demons: return "demons"
        case .bspline: return "B-spline"
        }
    }
}

extension DeformableStage {
    /// `syn`: local correlation, radius 2, 3 levels of 60, 50 and 12 iterations with steps of 0.4,
    /// 0.4 and 0.3 voxels; update σ 3 and total σ 0.25 voxels, volume penalty 2.5 beyond
    /// |log det J| 0.15. On the lapirn pair Dice stays above 0.81 with SDlogJ below 0.3, and known
    /// warps are still recovered (`bench/syn_tradeoff.py --grid steps`, README); 100x70x15
    /// iterations of 0.25 voxels add 0.003 Dice for a third more time.
    public static let synLocalCorrelation = DeformableStage(
        metric: .localCorrelation(radius: 2),
        levels: [Level(shrink: 4, sigma: .voxels(2), iterations: 60), Level(shrink: 2, sigma: .voxels(1), iterations: 50),
                 Level(shrink: 1, sigma: .voxels(0), iterations: 12)],
        step: 0.3, steps: [0.4, 0.4, 0.3], updateSigma: 3, totalSigma: 0.25, volumePenalty: 2.5, volumeTolerance: 0.15)
    /// `syn-mi`: mutual information (32 bins) for multi-modal pairs, smoothed more than `syn`
    /// (update σ 4, total σ 1.5 voxels): the dense MI gradient is noisier than local correlation's.
    /// On three synthetic multi-contrast pairs this took the mean Dice of 30 labels from 0.42 to 0.60.
    public static let synMutualInformation = DeformableStage(metric: .mutualInformation(bins: 32), updateSigma: 4, totalSigma: 1.5)
    /// `quick`: two coarse levels.
    public static let synQuick = DeformableStage(metric: .localCorrelation(radius: 2), levels: [
        Level(shrink: 4, sigma: .voxels(2), iterations: 60), Level(shrink: 2, sigma: .voxels(1), iterations: 30),
    ])
    /// `demons`: diffeomorphic demons defaults.
    public static let demons = DeformableStage(metric: .meanSquares, levels: DeformableStage.defaultLevels, step: 1,
                                               updateSigma: 1, totalSigma: 1.5,
                                               convergence: ConvergenceMonitor(window: 10, threshold: 1e-6))
}

/// The result of a plan: the linear map (identity when there are no linear stages) and the
/// deformable fields when the plan has a deformable stage.
public struct RegistrationResult: Sendable {
    public var linear: LinearRegistrationResult?
    public var deformable: DeformableResult?
    public var affine: AffineMap { linear?.map ?? .identity }
    public var seconds: Double

    /// The transforms in ANTs order (points go through the warp first, then the affine).
    public var chain: TransformChain {
        var elements: [TransformChain.Element] = []
        if let d = deformable { elements.append(.displacement(d.forward)) }
        elements.append(.affine(affine))
        return TransformChain(elements, names: deformable == nil ? ["affine"] : ["warp", "affine"])
    }
}

/// Runs a `RegistrationPlan`.
///
/// ```swift
/// let result = try Registration(RegistrationPlan.preset("syn")!).run(fixed: fixed, moving: moving)
/// let warped = try Resampler.resample(moving, onto: fixed.geometry, mapping: result.chain.mapping(onto: fixed.geometry))
/// ```
public struct Registration: Sendable {
    public var plan: RegistrationPlan
    /// Called after each iteration and at the end of each level.
    public var progress: ProgressHandler?

    public init(_ plan: RegistrationPlan) { self.plan = plan }

    public func run(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>? = nil,
                    movingMask: Image<UInt8>? = nil, linearSetup: ((inout LinearRegistration) -> Void)? = nil) throws -> RegistrationResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var linearResult: LinearRegistrationResult?
        if !plan.linear.isEmpty {
            var linear = LinearRegistration(stages: plan.linear)
            linear.initialization = plan.initialization
            linear.rotationSearch = plan.rotationSearch
            linear.progress = progress
            linearSetup?(&linear)
            linearResult = try linear.run(fixed: fixed, moving: moving, fixedMask: fixedMask, movingMask: movingMask)
        }
        let affine = linearResult?.map ?? .identity
        var deformable: DeformableResult?
        switch plan.deformable {
        case .syn(let stage):
            var syn = SyNRegistration(stage: stage)
            syn.progress = progress
            deformable = try syn.run(fixed: fixed, moving: moving, affine: affine, fixedMask: fixedMask, movingMask: movingMask)
        case .demons(let stage):
            var demons = DemonsRegistration(stage: stage)
            demons.progress = progress
            deformable = try demons.run(fixed: fixed, moving: moving, affine: affine, fixedMask: fixedMask, movingMask: movingMask)
        case .bspline(let stage):
            var ffd = BSplineRegistration(stage: stage)
            ffd.progress = progress
            deformable = try ffd.run(fixed: fixed, moving: moving, affine: affine, fixedMask: fixedMask, movingMask: movingMask)
        case nil:
            break
        }
        return RegistrationResult(linear: linearResult, deformable: deformable,
                                  seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
