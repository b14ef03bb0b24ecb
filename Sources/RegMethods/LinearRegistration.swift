import Dispatch
import Foundation
import RegCore
import RegKernels
import RegMetrics
import RegOptimize
import RegTransforms

/// One stage of a linear registration: a transform model optimised for a weighted sum of
/// metrics over levels.
///
/// ```swift
/// let rigid = LinearStage(.rigid, metric: .mutualInformation(bins: 32))
/// var both = LinearStage(.affine, metrics: [WeightedMetric(.mutualInformation(bins: 32)), WeightedMetric(.meanSquares, weight: 0.1)])
/// ```
public struct LinearStage: Equatable, Sendable {
    public var model: LinearModel
    /// The metrics whose weighted costs are summed (one, usually).
    public var metrics: [WeightedMetric]
    public var levels: [Level]
    public var sampling: SamplingStrategy
    /// At most this many samples per level: a full or random sampling above it is thinned at
    /// random (with the stage's seed) to this count.
    public var sampleLimit: Int
    public var optimizer: Optimizer.Method
    public var convergence: ConvergenceMonitor
    /// The masks this stage samples through (default: the registration's).
    public var masks = StageMasks()

    /// Defaults as ANTs' linear stages use them: shrink 4-2-1 with sigmas 2-1-0 voxels,
    /// random sampling, regular-step gradient descent.
    public init(_ model: LinearModel, metric: Metric, levels: [Level] = LinearStage.defaultLevels,
                sampling: SamplingStrategy = .random(fraction: 0.25, seed: 1), sampleLimit: Int = 60_000,
                optimizer: Optimizer.Method = .regularStepGradientDescent(maxStep: 2, minStep: 0.005, relaxation: 0.5),
                convergence: ConvergenceMonitor = ConvergenceMonitor(window: 10, threshold: 1e-6)) {
        self.init(model, metrics: [WeightedMetric(metric)], levels: levels, sampling: sampling, sampleLimit: sampleLimit,
                  optimizer: optimizer, convergence: convergence)
    }

    public init(_ model: LinearModel, metrics: [WeightedMetric], levels: [Level] = LinearStage.defaultLevels,
                sampling: SamplingStrategy = .random(fraction: 0.25, seed: 1), sampleLimit: Int = 60_000,
                optimizer: Optimizer.Method = .regularStepGradientDescent(maxStep: 2, minStep: 0.005, relaxation: 0.5),
                convergence: ConvergenceMonitor = ConvergenceMonitor(window: 10, threshold: 1e-6)) {
        self.model = model
        self.metrics = metrics
        self.levels = levels
        self.sampling = sampling
        self.sampleLimit = sampleLimit
        self.optimizer = optimizer
        self.convergence = convergence
    }

    public static let defaultLevels = Level.pyramid(iterations: [200, 100, 50])
}

/// What happened at one level, for the summary.
public struct LevelReport: Sendable, Codable {
    public var stage: Int
    public var model: LinearModel
    public var level: Int
    public var shrink: Int
    public var samples: Int
    public var evaluations: Int
    public var initialCost: Double
    public var finalCost: Double
    public var stopReason: String
    public var seconds: Double
    /// Cost at each evaluation.
    public var curve: [Double]
}

/// The result of a linear registration: the transform mapping fixed-space points to
/// moving-space points, and a report per level.
public struct LinearRegistrationResult: Sendable {
    public var transform: LinearTransform
    public var levels: [LevelReport]
    public var seconds: Double
    /// The turn of the initial alignment the multi-start kept ("quarter turn 5 of 24",
    /// "principal axes 2"), or `initialTransform` when the stages started from a given transform;
    /// nil when the initial alignment itself was kept.
    public var start: String?
    /// The stages sampled their metrics in the moving image (`LinearSampling.smaller`) and
    /// `transform` is the inverse of what they found; `levels` report their costs.
    public var sampledInMoving = false
    public var map: AffineMap { transform.affineMap }

    /// This result, found with the images' roles exchanged, as the result for the pair as given:
    /// the inverse transform, of the same model, about the image of the centre.
    func exchangedBack() throws -> LinearRegistrationResult {
        guard let inverse = map.inverse else {
            throw RegError.invalidArgument(name: "affine", reason: "the linear stages found a singular map")
        }
        var r = self
        r.transform = LinearTransform(transform.model, dimension: transform.dimension, center: map.apply(transform.center), approximating: inverse)
        r.sampledInMoving = true
        return r
    }
}

/// Rigid, similarity and affine registration over stages and levels (ANTs' linear stages).
///
/// ```swift
/// var reg = LinearRegistration(stages: [LinearStage(.rigid, metric: .mutualInformation(bins: 32)),
///                                       LinearStage(.affine, metric: .mutualInformation(bins: 32))])
/// reg.initialization = .moments
/// let result = try reg.run(fixed: fixed, moving: moving)
/// let warped = try Resampler.resample(moving, onto: fixed.geometry,
///                                     mapping: PointMapping(result.map),
///                                     interpolation: .linear)
/// ```
public struct LinearRegistration: Sendable {
    public var stages: [LinearStage]
    /// The masks of each stage, one per stage (`RegistrationMasks.resolved`); nil: the masks
    /// `run` takes, in every stage. The initial alignment uses the first stage's.
    public var stageMasks: [RegistrationMasks]?
    public var initialization: Initialization = .moments
    /// Try a grid of rotations at the first stage's coarsest level before optimising (for badly
    /// rotated starts): every 15° in 2-D, ±30° in 15° steps about each axis in 3-D.
    public var rotationSearch = false
    /// With `.moments` or `.principalAxes` initialisation, when the principal axes suggest a turn
    /// of over 30°, also start the first level from the principal-axes turns and the cube's 24
    /// rotations (12 turns of 30° in 2-D), optimise the three with the lowest cost and the initial
    /// alignment, and keep a turn only when it ends elsewhere and over 1 % lower (`MultiStart`).
    /// Off (the default), the initial alignment alone is optimised.
    public var multiStart = false
    /// A map to start from (fixed-space points to moving space) instead of `initialization`: the
    /// first stage starts from its nearest map of the stage's model.
    public var initialMap: AffineMap?
    public var preprocessing = IntensityNormalization()
    /// Landmark pairs (fixed, moving) for `.landmarks` initialisation and the landmark term.
    public var landmarks: (fixed: Landmarks, moving: Landmarks)?
    /// Weight of the landmark term (mean squared distance, mm²) added to the image cost; 0 uses
    /// the landmarks for initialisation only.
    public var landmarkWeight = 0.0
    /// Called after each iteration and at the end of each level.
    public var progress: ProgressHandler?

    public init(stages: [LinearStage]) { self.stages = stages }

    public func run(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>? = nil,
                    movingMask: Image<UInt8>? = nil) throws -> LinearRegistrationResult {
        let clock = DispatchTime.now().uptimeNanoseconds
        try validate(fixed: fixed, moving: moving, fixedMask: fixedMask, movingMask: movingMask)
        let dimension = fixed.geometry.dimension
        let f = preprocessing.apply(to: fixed), m = preprocessing.apply(to: moving)
        let landmarkTerm = try landmarkDistance(dimension: dimension)
        let (firstFixedMask, firstMovingMask) = stageMasks.map { ($0[0].fixed, $0[0].moving) } ?? (fixedMask, movingMask)
        var transform = try initialTransform(fixed: f, moving: m, fixedMask: firstFixedMask, movingMask: firstMovingMask,
                                             model: stages[0].model, dimension: dimension)
        var reports: [LevelReport] = []
        var start: String?
        var pyramid: [PyramidKey: (fixed: Image<Float>, moving: Image<Float>)] = [:]   // shared by stages
        for (s, stage) in stages.enumerated() {
            transform = LinearTransform(stage.model, dimension: dimension, center: transform.center, approximating: transform.affineMap)
            for (l, level) in stage.levels.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let key = PyramidKey(shrink: level.shrink, sigma: level.sigma)
                if pyramid[key] == nil { pyramid[key] = (try Pyramid.image(f, at: level), try Pyramid.image(m, at: level)) }
                let (fl, ml) = pyramid[key]!
                let (stageFixedMask, stageMovingMask) = stageMasks.map { ($0[s].fixed, $0[s].moving) } ?? (fixedMask, movingMask)
                let fMask = try stageFixedMask.map { try Pyramid.mask($0, onto: fl.geometry) }
                let mMask = try stageMovingMask.map { try Pyramid.mask($0, onto: ml.geometry) }
                let samples = try FixedSamples(fl, mask: fMask, strategy: sampling(stage, voxels: fl.geometry.voxelCount),
                                               center: transform.center)
                var metric = try ImageMetric(stage.metrics, samples: samples, moving: ml, movingMask: mMask)
                if s == 0, l == 0, rotationSearch {
                    transform = try searchRotations(from: transform, metric: &metric)
                }
                let scales = transform.physicalShiftScales(at: fl.geometry.cornerPoints)
                let optimizer = Optimizer(stage.optimizer, iterations: level.iterations, convergence: stage.convergence)
                if s == 0, l == 0, multiStart, [.moments, .principalAxes].contains(initialization), stage.model != .translation, level.iterations > 0 {
                    let fm = Moments.of(f, mask: firstFixedMask), mm = Moments.of(m, mask: firstMovingMask)
                    (transform, start) = try MultiStart.best(from: transform, fixed: fm.covariance, moving: mm.covariance, metric: &metric,
                                                             optimizer: optimizer, grid: fl.geometry)
                }
                let current = transform
                var evaluations = 0
                let result = try optimizer.minimize(from: transform.parameters, scales: scales) { theta in
                    evaluations += 1
                    var t = current
                    t.parameters = theta
                    var r = try metric.evaluate(t)
                    if let landmarkTerm, landmarkWeight > 0 {
                        let lr = landmarkTerm.evaluate(t)
                        r.value += landmarkWeight * lr.value
                        r.gradient = zip(r.gradient, lr.gradient).map { $0 + landmarkWeight * $1 }
                    }
                    try progress?(ProgressEvent(kind: .iteration, stage: stage.model.rawValue, level: l + 1, levels: stage.levels.count,
                                            iteration: evaluations, iterations: level.iterations, value: r.value))
                    return (r.value, r.gradient)
                }
                transform.parameters = result.parameters
                let report = LevelReport(stage: s + 1, model: stage.model, level: l + 1, shrink: level.shrink, samples: samples.count,
                                         evaluations: result.evaluations, initialCost: result.history.first ?? .nan,
                                         finalCost: result.value, stopReason: result.stopReason.rawValue,
                                         seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, curve: result.history)
                reports.append(report)
                let line = String(format: "stage %d (%@) level %d/%d, shrink %d: %d samples, %d evaluations, cost %.6g → %.6g (%@), %.2f s",
                                  s + 1, stage.model.rawValue, l + 1, stage.levels.count, level.shrink, samples.count,
                                  result.evaluations, report.initialCost, report.finalCost, report.stopReason, report.seconds)
                try progress?(ProgressEvent(kind: .level, stage: stage.model.rawValue, level: l + 1, levels: stage.levels.count,
                                        iteration: result.evaluations, iterations: level.iterations, value: result.value, message: line))
            }
        }
        return LinearRegistrationResult(transform: transform, levels: reports,
                                        seconds: Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9,
                                        start: start ?? (initialMap == nil ? nil : Initialization.initialTransformName))
    }

    func validate(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?) throws {
        guard !stages.isEmpty else { throw RegError.invalidArgument(name: "stages", reason: "a registration needs at least one stage") }
        guard fixed.geometry.dimension == moving.geometry.dimension else {
            throw RegError.invalidArgument(name: "images", reason: "the fixed image is \(fixed.geometry.dimension)-D but the moving image is \(moving.geometry.dimension)-D")
        }
        for (name, image) in [("fixed image", fixed), ("moving image", moving)] where image.voxels.contains(where: { !$0.isFinite }) {
            throw RegError.invalidArgument(name: name, reason: "contains NaN or infinite voxels")
        }
        try RegistrationMasks(fixed: fixedMask, moving: movingMask).check(fixed: fixed, moving: moving)
        if let stageMasks {
            guard stageMasks.count == stages.count else {
                throw RegError.invalidArgument(name: "stageMasks", reason: "gives \(stageMasks.count) stages' masks for \(stages.count) stages")
            }
            for (k, masks) in stageMasks.enumerated() { try masks.check(fixed: fixed, moving: moving, stage: "linear[\(k)]") }
        }
        for stage in stages {
            guard !stage.levels.isEmpty else { throw RegError.invalidArgument(name: "levels", reason: "a stage needs at least one level") }
            for level in stage.levels where level.shrink < 1 || level.iterations < 0 {
                throw RegError.invalidArgument(name: "levels", reason: "shrink factors must be ≥ 1 and iterations ≥ 0")
            }
        }
    }

    func sampling(_ stage: LinearStage, voxels: Int) -> SamplingStrategy {
        let limit = Double(max(1, stage.sampleLimit))
        switch stage.sampling {
        case .full where Double(voxels) > limit:
            return .random(fraction: limit / Double(voxels), seed: 1)
        case let .random(fraction, seed) where Double(voxels) * fraction > limit:
            return .random(fraction: limit / Double(voxels), seed: seed)
        default:
            return stage.sampling
        }
    }

    /// The landmark term, after checking that the pairs determine every stage's model.
    func landmarkDistance(dimension: Int) throws -> LandmarkDistance? {
        guard let landmarks else { return nil }
        let (f, m) = try landmarks.fixed.paired(with: landmarks.moving)
        for stage in stages where landmarkWeight > 0 || initialization == .landmarks {
            let needed = LandmarkFit.minimumCount(stage.model, dimension: dimension)
            guard f.count >= needed else {
                throw RegError.invalidArgument(name: "landmarks",
                                               reason: "a \(dimension)-D \(stage.model.rawValue) fit needs at least \(needed) point pairs, found \(f.count)")
            }
        }
        return LandmarkDistance(fixed: f.points, moving: m.points)
    }

    func initialTransform(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>?, movingMask: Image<UInt8>?,
                          model: LinearModel, dimension: Int) throws -> LinearTransform {
        let fixedCenter = Moments.domainCenter(fixed.geometry)
        if let initialMap {
            return LinearTransform(model, dimension: dimension, center: Moments.of(fixed, mask: fixedMask).center, approximating: initialMap)
        }
        switch initialization {
        case .none:
            return LinearTransform(model, dimension: dimension, center: fixedCenter)
        case .geometry:
            return LinearTransform(model, dimension: dimension, center: fixedCenter,
                                   approximating: AffineMap(translation: Moments.domainCenter(moving.geometry) - fixedCenter))
        case .moments, .principalAxes:
            let fm = Moments.of(fixed, mask: fixedMask), mm = Moments.of(moving, mask: movingMask)
            let rotation = initialization == .principalAxes
                ? Moments.principalRotation(fixed: fm.covariance, moving: mm.covariance, dimension: dimension) : .identity
            return LinearTransform(model, dimension: dimension, center: fm.center,
                                   approximating: AffineMap(matrix: rotation, translation: mm.center - rotation * fm.center))
        case .landmarks:
            guard let landmarks else {
                throw RegError.invalidArgument(name: "landmark initialisation", reason: "needs landmark pairs (--landmarks FIXED MOVING)")
            }
            let (f, m) = try landmarks.fixed.paired(with: landmarks.moving)
            let fitModel: LinearModel = stages.contains { $0.model == .affine } && f.count > dimension ? .affine : model
            let fit = try LandmarkFit.fit(fitModel, dimension: dimension, fixed: f.points, moving: m.points, center: fixedCenter)
            return LinearTransform(model, dimension: dimension, center: fixedCenter, approximating: fit.affineMap)
        }
    }

    /// The best of a grid of rotations about the centre (cost only, at the coarsest level).
    func searchRotations(from start: LinearTransform, metric: inout ImageMetric) throws -> LinearTransform {
        guard start.model != .translation else { return start }
        let step = Double.pi / 12
        let candidates: [Matrix3] = start.dimension == 2
            ? (0..<24).map { Matrix3.rotation(axis: 2, angle: Double($0) * step) }
            : (-2...2).flatMap { a in (-2...2).flatMap { b in (-2...2).map { c in
                Matrix3.rotation(ax: Double(a) * step, ay: Double(b) * step, az: Double(c) * step) } } }
        var best = start, bestCost = (try? metric.evaluate(start, gradient: false).value) ?? .infinity
        let base = start.affineMap
        for r in candidates {
            // Rotate about the centre, then apply the starting map.
            let c = start.center
            let turn = AffineMap(matrix: r, translation: c - r * c)
            let candidate = LinearTransform(start.model, dimension: start.dimension, center: c, approximating: turn.then(base))
            guard let cost = try? metric.evaluate(candidate, gradient: false).value, cost < bestCost else { continue }
            best = candidate; bestCost = cost
        }
        return best
    }
}
