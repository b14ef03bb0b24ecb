import Dispatch
import RegCore
import RegMetrics
import RegOptimize
import RegTransforms

/// A whole registration as data: the input files (optional), intensity preprocessing, an
/// initial alignment, linear stages, then deformable stages in sequence (usually one; each
/// later stage refines the warp of those before it). `document` and
/// `init(document:)` give its plan file (`--print-plan`, `--plan`); a run from the same plan and
/// the same images is the same to the bit.
///
/// ```swift
/// var plan = RegistrationPlan.preset("syn")!
/// plan.deformable = .syn(DeformableStage(metric: .localCorrelation(radius: 2), step: 0.3))
/// let result = try Registration(plan).run(fixed: fixed, moving: moving)
/// // SyN on mutual information at the coarse levels, then local correlation at the finer ones:
/// plan.deformableStages = [.syn(DeformableStage(metric: .mutualInformation(bins: 32), levels: Level.pyramid(iterations: [60, 40], shrink: [8, 4]))),
///                          .syn(DeformableStage(metric: .localCorrelation(radius: 2), levels: Level.pyramid(iterations: [40, 10], shrink: [2, 1])))]
/// ```
public struct RegistrationPlan: Equatable, Sendable {
    /// The preset the plan was made from, for the record (it changes nothing in a run).
    public var preset: String?
    /// Files a runner reads (the library's `run` takes images): all optional.
    public var inputs: PlanInputs
    /// Intensity preprocessing of both images before the linear stages (the dense stages map
    /// each image's 0.5–99.5 percentiles to 0…1 themselves).
    public var preprocessing: IntensityNormalization
    public var initialization: Initialization
    public var rotationSearch: Bool
    /// With `moments` or `principalAxes` initialisation: also try the principal-axes turns and the
    /// 24 quarter-turn rotations at the first level and keep the best (`LinearRegistration.multiStart`;
    /// off by default).
    public var multiStart: Bool
    /// Which image the linear stages sample in (`LinearSampling`; default: the one whose content
    /// is smaller).
    public var linearSampling: LinearSampling = .smaller
    /// Weight of the landmark term (mean squared distance of the pairs, mm²) added to every
    /// linear stage's cost; 0 uses landmarks for `.landmarks` initialisation only.
    public var landmarkWeight: Double
    public var linear: [LinearStage]
    /// The deformable stages, run in order after the linear stages. A later stage registers the
    /// fixed image to the moving image as the stages before it left it, and its warp is composed
    /// with theirs, so the result is one forward and one inverse field.
    public var deformableStages: [DeformableMethod]

    /// The mask files the stages name (`StageMask.file`), each once, in stage order.
    public var stageMaskFiles: [String] {
        var seen = Set<String>()
        return (linear.flatMap(\.masks.files) + deformableStages.flatMap(\.masks.files)).filter { seen.insert($0).inserted }
    }

    /// The last deformable stage (nil: none). Setting it makes the value the plan's only
    /// deformable stage; nil removes them all.
    public var deformable: DeformableMethod? {
        get { deformableStages.last }
        set { deformableStages = newValue.map { [$0] } ?? [] }
    }

    public init(preset: String? = nil, inputs: PlanInputs = PlanInputs(), preprocessing: IntensityNormalization = IntensityNormalization(),
                initialization: Initialization = .moments, rotationSearch: Bool = false, multiStart: Bool = false, landmarkWeight: Double = 0,
                linear: [LinearStage], deformable: DeformableMethod? = nil) {
        self.preset = preset
        self.inputs = inputs
        self.preprocessing = preprocessing
        self.initialization = initialization
        self.rotationSearch = rotationSearch
        self.multiStart = multiStart
        self.landmarkWeight = landmarkWeight
        self.linear = linear
        self.deformableStages = deformable.map { [$0] } ?? []
    }

    /// The names `preset(_:)` knows.
    public static let presetNames = ["translation", "rigid", "similarity", "affine", "syn", "syn-mi", "quick", "demons", "bspline"]

    /// The plan behind `swiftreg register --preset NAME`: the one table of presets. Linear
    /// stages use `linearMetric`; `syn` is rigid + affine (MI) then SyN with local correlation
    /// (radius 2); `syn-mi` the same with mutual information for multi-modal pairs; `quick` a
    /// coarser, shorter `syn`; `demons` rigid + affine then diffeomorphic demons (mono-modal);
    /// `bspline` rigid + affine then a B-spline free-form deformation (local correlation, 4 mm
    /// final control spacing).
    public static func preset(_ name: String, linearMetric: Metric = .mutualInformation(bins: 32)) -> RegistrationPlan? {
        let affine = [LinearStage(.rigid, metric: linearMetric), LinearStage(.affine, metric: linearMetric)]
        var plan: RegistrationPlan
        switch name {
        case "translation": plan = RegistrationPlan(linear: [LinearStage(.translation, metric: linearMetric)])
        case "rigid": plan = RegistrationPlan(linear: [LinearStage(.rigid, metric: linearMetric)])
        case "similarity": plan = RegistrationPlan(linear: [LinearStage(.rigid, metric: linearMetric), LinearStage(.similarity, metric: linearMetric)])
        case "affine": plan = RegistrationPlan(linear: affine)
        case "syn": plan = RegistrationPlan(linear: affine, deformable: .syn(.synLocalCorrelation))
        case "syn-mi": plan = RegistrationPlan(linear: affine, deformable: .syn(.synMutualInformation))
        case "quick":
            var quick = LinearStage(.affine, metric: linearMetric)
            quick.levels = Level.pyramid(iterations: [100, 50], shrink: [4, 2])
            plan = RegistrationPlan(linear: [quick], deformable: .syn(.synQuick))
        case "demons": plan = RegistrationPlan(linear: affine, deformable: .demons(.demons))
        case "bspline": plan = RegistrationPlan(linear: affine, deformable: .bspline(BSplineStage(metric: .localCorrelation(radius: 2))))
        default: return nil
        }
        plan.preset = name
        return plan
    }

    /// Checks every stage before any image is read: levels, metrics that the stage takes,
    /// schedules; errors name the stage and the key.
    public func validate() throws {
        guard landmarkWeight >= 0, landmarkWeight.isFinite else {
            throw RegError.invalidArgument(name: "landmarkWeight", reason: "must be ≥ 0, found \(landmarkWeight)")
        }
        guard !inputs.automaticKeypoints || (inputs.fixedLandmarks == nil && inputs.movingLandmarks == nil) else {
            throw RegError.invalidArgument(name: "inputs", reason: "names landmark files and keypoints: auto; give one of them")
        }
        guard !linear.isEmpty || deformable != nil else {
            throw RegError.invalidArgument(name: "plan", reason: "has no stage: give linear stages, a deformable stage, or both")
        }
        for (k, stage) in linear.enumerated() {
            for term in stage.metrics where !term.metric.isLinear {
                throw RegError.invalidArgument(name: "linear[\(k)].metrics",
                                               reason: "\(term.metric.name) is not a linear-stage metric; valid: \(Metric.linearNames.joined(separator: ", "))")
            }
        }
        for (k, stage) in linear.enumerated() {
            try Self.validate(stage.metrics, stage.levels, name: "linear[\(k)]")
            try Self.validate(stage, name: "linear[\(k)]")
        }
        for (k, method) in deformableStages.enumerated() {
            try method.validate(name: deformableStages.count == 1 ? "deformable" : "deformable[\(k)]")
        }
    }
}

extension RegistrationPlan {
    /// A value that must lie in `range` and be finite, else an error naming `name`.
    static func check(_ value: Double, _ range: ClosedRange<Double>, name: String) throws {
        guard value.isFinite, range.contains(value) else {
            throw RegError.invalidArgument(name: name, reason: "takes \(range.lowerBound) to \(range.upperBound), found \(value)")
        }
    }

    static func validate(_ convergence: ConvergenceMonitor, name: String) throws {
        guard (1...100_000).contains(convergence.window) else {
            throw RegError.invalidArgument(name: name + ".convergenceWindow", reason: "takes 1 to 100000 iterations, found \(convergence.window)")
        }
        try check(convergence.threshold, 0...1, name: name + ".convergenceThreshold")
    }

    static func validate(_ stage: LinearStage, name: String) throws {
        switch stage.sampling {
        case .full: break
        case .grid(let step):
            guard (1...1024).contains(step) else { throw RegError.invalidArgument(name: name + ".sampling", reason: "takes a grid step of 1 to 1024, found \(step)") }
        case .random(let fraction, _):
            try check(fraction, 1e-6...1, name: name + ".samplingFraction")
        }
        guard stage.sampleLimit >= 0 else { throw RegError.invalidArgument(name: name + ".maxSamples", reason: "must be ≥ 0, found \(stage.sampleLimit)") }
        switch stage.optimizer {
        case let .regularStepGradientDescent(maxStep, minStep, relaxation):
            try check(maxStep, 1e-12...1e6, name: name + ".maxStep")
            try check(minStep, 0...maxStep, name: name + ".minStep")
            try check(relaxation, 1e-6...0.999_999, name: name + ".relaxation")
        case .adam(let rate):
            try check(rate, 1e-12...1e6, name: name + ".learningRate")
        case let .lbfgs(memory, maxStep), let .lbfgsBoundedChange(memory, maxStep):
            guard (1...1000).contains(memory) else { throw RegError.invalidArgument(name: name + ".memory", reason: "takes 1 to 1000, found \(memory)") }
            try check(maxStep, 1e-12...1e6, name: name + ".maxStep")
        }
        try validate(stage.convergence, name: name)
    }

    /// Steps, sigmas and penalties of a SyN or demons stage: finite, and sigmas no wider than
    /// the smoothing sigmas (1000), whose kernels they size.
    static func validate(_ stage: DeformableStage, name: String) throws {
        try check(stage.step, 1e-6...1000, name: name + ".step")
        for step in stage.steps ?? [] { try check(step, 1e-6...1000, name: name + ".step") }
        try check(stage.updateSigma, 0...1000, name: name + ".updateSigma")
        try check(stage.totalSigma, 0...1000, name: name + ".totalSigma")
        try check(stage.volumePenalty, 0...1e6, name: name + ".volumePenalty")
        try check(stage.volumeTolerance, 0...100, name: name + ".volumeTolerance")
        try check(stage.landmarkWeight, 0...1, name: name + ".landmarkWeight")
        try validate(stage.convergence, name: name)
    }

    static func validate(_ stage: BSplineStage, name: String) throws {
        guard stage.gridSpacing.isFinite, stage.gridSpacing > 0 else {
            throw RegError.invalidArgument(name: name + ".gridSpacing", reason: "must be positive and finite, found \(stage.gridSpacing)")
        }
        try check(stage.maxStep, 1e-6...1e6, name: name + ".maxStep")
        try check(stage.landmarkWeight, 0...1e12, name: name + ".landmarkWeight")
        for (value, key) in [(stage.regularization.bending, "bending"), (stage.regularization.diffusion, "diffusion"),
                             (stage.regularization.folding, "folding")] {
            try check(value, 0...1e12, name: name + "." + key)
        }
        try validate(stage.convergence, name: name)
    }
}

extension RegistrationPlan {
    /// Sizes that set allocations, checked before any buffer is made: histogram bins (8–4096),
    /// window radius (1–64), shrink factors (1–64), smoothing sigmas (0–1000), iterations (0–10⁷).
    static func validate(_ metrics: [WeightedMetric], _ levels: [Level], name: String) throws {
        for term in metrics {
            switch term.metric {
            case .mutualInformation(let bins), .normalizedMutualInformation(let bins):
                guard (8...4096).contains(bins) else { throw RegError.invalidArgument(name: name + ".bins", reason: "takes 8 to 4096 bins, found \(bins)") }
            case .localCorrelation(let radius):
                guard (1...64).contains(radius) else { throw RegError.invalidArgument(name: name + ".radius", reason: "takes 1 to 64 voxels, found \(radius)") }
            default: break
            }
            guard term.weight > 0, term.weight.isFinite else {
                throw RegError.invalidArgument(name: name + ".weight", reason: "must be > 0, found \(term.weight)")
            }
        }
        for level in levels {
            guard (1...64).contains(level.shrink) else {
                throw RegError.invalidArgument(name: name + ".shrink", reason: "takes whole factors from 1 to 64, found \(level.shrink)")
            }
            guard (0...10_000_000).contains(level.iterations) else {
                throw RegError.invalidArgument(name: name + ".iterations", reason: "takes 0 to 10⁷, found \(level.iterations)")
            }
            let sigma: Double
            switch level.sigma {
            case .voxels(let v), .mm(let v): sigma = v
            case .perAxisVoxels(let v): sigma = v.max()
            }
            guard sigma >= 0, sigma <= 1000 else {
                throw RegError.invalidArgument(name: name + ".smoothing", reason: "takes sigmas from 0 to 1000, found \(sigma)")
            }
        }
    }
}

/// The files a plan names: images, masks and landmark files, each optional (a runner takes what
/// the plan leaves out from its caller).
///
/// ```swift
/// var inputs = PlanInputs(fixed: "subject.nii.gz", moving: "atlas.nii.gz")
/// inputs.fixedMask = "brain_mask.nii.gz"
/// ```
public struct PlanInputs: Equatable, Sendable {
    public var fixed: String?
    public var moving: String?
    public var fixedMask: String?
    public var movingMask: String?
    public var fixedLandmarks: String?
    public var movingLandmarks: String?
    /// A linear transform file (ITK `.txt`/`.tfm`/`.h5`, ANTs `.mat`, elastix) to start from instead of
    /// the plan's `initialization`, as ANTs' `--initial-moving-transform`.
    public var initialTransform: String?
    /// Landmarks found automatically instead of read (plan key `keypoints: auto`): the fixed
    /// image's keypoints matched in the moving one, kept by an affine RANSAC.
    public var automaticKeypoints: Bool

    public init(fixed: String? = nil, moving: String? = nil, fixedMask: String? = nil, movingMask: String? = nil,
                fixedLandmarks: String? = nil, movingLandmarks: String? = nil, initialTransform: String? = nil,
                automaticKeypoints: Bool = false) {
        self.automaticKeypoints = automaticKeypoints
        self.initialTransform = initialTransform
        self.fixed = fixed
        self.moving = moving
        self.fixedMask = fixedMask
        self.movingMask = movingMask
        self.fixedLandmarks = fixedLandmarks
        self.movingLandmarks = movingLandmarks
    }
}

/// The deformable stage of a plan.
public enum DeformableMethod: Equatable, Sendable {
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

    /// The masks the stage samples through.
    public var masks: StageMasks {
        switch self {
        case .syn(let stage), .demons(let stage): return stage.masks
        case .bspline(let stage): return stage.masks
        }
    }

    /// Checks the stage's metrics, levels and settings; errors name the key under `name`
    /// (`deformable`, or `deformable[1]` in a plan of several stages).
    func validate(name: String) throws {
        let metrics: [WeightedMetric], levels: [Level]
        switch self {
        case .syn(let stage), .demons(let stage): (metrics, levels) = (stage.metrics, stage.levels)
        case .bspline(let stage): (metrics, levels) = (stage.metrics, stage.levels)
        }
        for term in metrics where !term.metric.isDense {
            throw RegError.invalidArgument(name: name + ".metrics",
                                           reason: "\(term.metric.name) is not a deformable-stage metric; valid: \(Metric.denseNames.joined(separator: ", "))")
        }
        try RegistrationPlan.validate(metrics, levels, name: name)
        switch self {
        case .syn(let stage), .demons(let stage): try RegistrationPlan.validate(stage, name: name)
        case .bspline(let stage): try RegistrationPlan.validate(stage, name: name)
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
        levels: Level.pyramid(iterations: [60, 50, 12]),
        step: 0.3, steps: [0.4, 0.4, 0.3], updateSigma: 3, totalSigma: 0.25, volumePenalty: 2.5, volumeTolerance: 0.15)
    /// `longitudinal`'s default: `syn` with local correlation over a window of radius 6 instead of 2,
    /// an update σ of 1.5 voxels instead of 3, and 120 iterations at full resolution instead of 12.
    /// Two scans of one subject differ by noise and a small change, not by anatomy: a wider window
    /// averages the noise, which otherwise pulls the warp towards no change (on simulated brain
    /// atrophy with 2 % noise in both scans, radius 2, 4 and 6 found 49 %, 74 % and 93 % of a 1 % loss).
    /// A change lives in sub-voxel motion of edges a few mm apart: the narrower update keeps the two
    /// sides of a thin structure from cancelling, and the longer finest level lets that motion converge.
    /// On two painted heads (`scripts/longitudinal-sim.py`), hippocampi and ventricles grown by 10 % or
    /// shrunk by 5 % were found within 1.0 point on average instead of 2.7, a 1 % brain loss within
    /// 0.08 points either way, for about three times the time.
    public static let synLongitudinal: DeformableStage = {
        var stage = DeformableStage.synLocalCorrelation
        stage.metrics = [WeightedMetric(.localCorrelation(radius: 6))]
        stage.updateSigma = 1.5
        stage.levels = Level.pyramid(iterations: [60, 50, 120])
        return stage
    }()
    /// `syn-mi`: mutual information (32 bins) for multi-modal pairs, smoothed more than `syn`
    /// (update σ 4, total σ 1.5 voxels): the dense MI gradient is noisier than local correlation's.
    /// On three synthetic multi-contrast pairs this took the mean Dice of 30 labels from 0.42 to 0.60.
    /// The coarsest level runs 30 iterations (30x70x20): on its few voxels the mutual information
    /// keeps rising for as long as it runs, by warping a bias field or a field of view that ends
    /// above the neck onto the other head, and undoes a good affine (painted heads 03 ← 06: 0.59
    /// after the affine, 0.40 after 100 coarse iterations, 0.51 after 30). Over the 45 painted
    /// whole-head pairs (`bench-deformable multi-contrast --shrink 2`) the mean Dice went from 0.518
    /// to 0.535 and the worst pair from 0.166 to 0.217; no pair lost more than 0.013.
    public static let synMutualInformation = DeformableStage(metric: .mutualInformation(bins: 32), levels: Level.pyramid(iterations: [30, 70, 20]),
                                                             updateSigma: 4, totalSigma: 1.5)
    /// `quick`: two coarse levels.
    public static let synQuick = DeformableStage(metric: .localCorrelation(radius: 2), levels: Level.pyramid(iterations: [60, 30], shrink: [4, 2]))
    /// `demons`: diffeomorphic demons defaults.
    public static let demons = DeformableStage(metric: .meanSquares, levels: DeformableStage.defaultLevels, step: 1,
                                               updateSigma: 1, totalSigma: 1.5,
                                               convergence: ConvergenceMonitor(window: 10, threshold: 1e-6))
}

