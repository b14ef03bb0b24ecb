import RegCore
import RegKernels
import RegMetrics
import RegOptimize
import RegTransforms

/// The plan file: plain keys, units spelled out, values per level written once for every level
/// or once per level. Keys left out take the defaults of `LinearStage`, `DeformableStage` and
/// `BSplineStage`; an unknown key or name is an error that lists the valid ones.
///
/// ```yaml
/// initialization: moments
/// linear:
/// - model: rigid
///   metrics:
///   - {metric: mi, bins: 32, weight: 1.0}
///   shrink: [4, 2, 1]
///   smoothing: [2.0, 1.0, 0.0]
///   smoothingUnits: voxels
///   iterations: [200, 100, 50]
/// deformable:
///   method: syn
///   metrics:
///   - {metric: lncc, radius: 2, weight: 1.0}
///   step: [0.4, 0.4, 0.3]
/// ```
///
/// `deformable` may also be a list of stages, run in sequence (each refines the warp before it).
extension RegistrationPlan {
    static let initializationNames = Initialization.allCases.map(\.rawValue)
    static let methodNames = ["syn", "demons", "bspline"]

    /// The plan as a plan file's content (`yaml` or `json` print it).
    public var document: PlanValue {
        var e: [PlanEntry] = []
        if let preset { e.append(PlanEntry("preset", .string(preset))) }
        let files = inputs.entries
        if !files.isEmpty { e.append(PlanEntry("inputs", .map(files))) }
        var pre: [PlanEntry] = []
        if let w = preprocessing.winsorize { pre.append(PlanEntry("winsorize", .list([.number(w.lowerBound), .number(w.upperBound)]))) }
        pre.append(PlanEntry("zScore", .bool(preprocessing.zScore)))
        e += [PlanEntry("preprocessing", .map(pre)), PlanEntry("initialization", .string(initialization.rawValue)),
              PlanEntry("rotationSearch", .bool(rotationSearch)), PlanEntry("multiStart", .bool(multiStart)),
              PlanEntry("linearSampling", .string(linearSampling.rawValue)), PlanEntry("landmarkWeight", .number(landmarkWeight)),
              PlanEntry("linear", .list(linear.map(\.document)))]
        switch deformableStages.count {
        case 0: break
        case 1: e.append(PlanEntry("deformable", deformableStages[0].document))
        default: e.append(PlanEntry("deformable", .list(deformableStages.map(\.document))))
        }
        return .map(e)
    }

    /// Reads a plan file's content; errors name the key (`linear[1].metrics[0].metric`) and list
    /// what is valid there.
    public init(document: PlanValue) throws {
        var r = try PlanReader(document, path: "")
        let preset = try r.string("preset")
        let inputs = try r.value("inputs").map { try PlanInputs(document: $0) } ?? PlanInputs()
        var preprocessing = IntensityNormalization()
        if let value = r.value("preprocessing") {
            var p = try PlanReader(value, path: "preprocessing")
            if let w = try p.perLevel("winsorize", levels: 2) {
                guard w.count == 2, w[0] >= 0, w[0] < w[1], w[1] <= 1 else {
                    throw RegError.invalidArgument(name: "preprocessing.winsorize", reason: "takes two quantiles [LOW, HIGH] with 0 ≤ LOW < HIGH ≤ 1")
                }
                preprocessing.winsorize = w[0]...w[1]
            }
            preprocessing.zScore = try p.bool("zScore", default: false)
            try p.finish()
        }
        let initialization = Initialization(rawValue: try r.name("initialization", among: Self.initializationNames, default: "moments"))!
        let rotationSearch = try r.bool("rotationSearch", default: false)
        let multiStart = try r.bool("multiStart", default: false)
        let linearSampling = LinearSampling(rawValue: try r.name("linearSampling", among: LinearSampling.allCases.map(\.rawValue), default: "smaller"))!
        let landmarkWeight = try r.double("landmarkWeight", default: 0)
        let linear = try r.list("linear").enumerated().map { try LinearStage(document: $1, path: "linear[\($0)]") }
        let deformable: [DeformableMethod]
        switch r.value("deformable") {
        case .list(let stages)?:
            guard !stages.isEmpty else { throw RegError.invalidArgument(name: "deformable", reason: "is an empty list: give one stage or more, or leave the key out") }
            deformable = try stages.enumerated().map { try DeformableMethod(document: $1, path: "deformable[\($0)]") }
        case let stage?: deformable = [try DeformableMethod(document: stage, path: "deformable")]
        case nil: deformable = []
        }
        try r.finish()
        self.init(preset: preset, inputs: inputs, preprocessing: preprocessing, initialization: initialization,
                  rotationSearch: rotationSearch, multiStart: multiStart, landmarkWeight: landmarkWeight, linear: linear)
        deformableStages = deformable
        self.linearSampling = linearSampling
        try validate()
    }
}

extension PlanInputs {
    static let keys = ["fixed", "moving", "fixedMask", "movingMask", "fixedLandmarks", "movingLandmarks", "initialTransform"]
    var paths: [String?] { [fixed, moving, fixedMask, movingMask, fixedLandmarks, movingLandmarks, initialTransform] }

    var entries: [PlanEntry] {
        zip(Self.keys, paths).compactMap { key, path in path.map { PlanEntry(key, .string($0)) } }
            + (automaticKeypoints ? [PlanEntry("keypoints", .string("auto"))] : [])
    }

    init(document: PlanValue) throws {
        var r = try PlanReader(document, path: "inputs")
        self.init(fixed: try r.string("fixed"), moving: try r.string("moving"), fixedMask: try r.string("fixedMask"),
                  movingMask: try r.string("movingMask"), fixedLandmarks: try r.string("fixedLandmarks"),
                  movingLandmarks: try r.string("movingLandmarks"), initialTransform: try r.string("initialTransform"))
        if let keypoints = try r.string("keypoints") {
            guard keypoints == "auto" else {
                throw RegError.invalidArgument(name: "inputs.keypoints", reason: "takes auto (find landmarks automatically), found '\(keypoints)'")
            }
            automaticKeypoints = true
        }
        try r.finish()
    }
}

extension LinearStage {
    static let modelNames = LinearModel.allCases.map(\.rawValue)
    static let optimizerNames = ["rsgd", "adam", "lbfgs"]

    var document: PlanValue {
        var e: [PlanEntry] = [PlanEntry("model", .string(model.rawValue)), PlanEntry("metrics", WeightedMetric.document(metrics))]
        e += LevelSchedule.entries(levels)
        switch sampling {
        case .full: e.append(PlanEntry("sampling", .string("full")))
        case .grid(let step): e += [PlanEntry("sampling", .string("grid")), PlanEntry("samplingStep", .integer(step))]
        case .random(let fraction, let seed):
            e += [PlanEntry("sampling", .string("random")), PlanEntry("samplingFraction", .number(fraction)),
                  PlanEntry("seed", .integer(Int(truncatingIfNeeded: seed)))]
        }
        e.append(PlanEntry("maxSamples", .integer(sampleLimit)))
        switch optimizer {
        case let .regularStepGradientDescent(maxStep, minStep, relaxation):
            e += [PlanEntry("optimizer", .string("rsgd")), PlanEntry("maxStep", .number(maxStep)), PlanEntry("minStep", .number(minStep)),
                  PlanEntry("relaxation", .number(relaxation))]
        case .adam(let rate): e += [PlanEntry("optimizer", .string("adam")), PlanEntry("learningRate", .number(rate))]
        case let .lbfgs(memory, maxStep), let .lbfgsBoundedChange(memory, maxStep):
            e += [PlanEntry("optimizer", .string("lbfgs")), PlanEntry("memory", .integer(memory)), PlanEntry("maxStep", .number(maxStep))]
        }
        e += convergence.entries + masks.entries
        return .map(e)
    }

    init(document: PlanValue, path: String) throws {
        var r = try PlanReader(document, path: path)
        let model = LinearModel(rawValue: try r.name("model", among: Self.modelNames))!
        self.init(model, metrics: try WeightedMetric.read(&r, valid: Metric.linearNames, default: .mutualInformation(bins: 32)))
        levels = try LevelSchedule.read(&r, default: LinearStage.defaultLevels)
        switch try r.name("sampling", among: ["full", "grid", "random"], default: "random") {
        case "full": sampling = .full
        case "grid":
            let step = try r.integer("samplingStep", default: 2)
            guard step >= 1 else { throw RegError.invalidArgument(name: path + ".samplingStep", reason: "must be ≥ 1, found \(step)") }
            sampling = .grid(step: step)
        default:
            let fraction = try r.double("samplingFraction", default: 0.25)
            guard fraction > 0, fraction <= 1 else {
                throw RegError.invalidArgument(name: path + ".samplingFraction", reason: "takes a fraction in (0, 1], found \(fraction)")
            }
            let seed = try r.integer("seed", default: 1)
            guard seed >= 0 else { throw RegError.invalidArgument(name: path + ".seed", reason: "must be ≥ 0, found \(seed)") }
            sampling = .random(fraction: fraction, seed: UInt64(seed))
        }
        sampleLimit = try r.integer("maxSamples", default: sampleLimit)
        guard sampleLimit >= 1 else { throw RegError.invalidArgument(name: path + ".maxSamples", reason: "must be ≥ 1, found \(sampleLimit)") }
        switch try r.name("optimizer", among: Self.optimizerNames, default: "rsgd") {
        case "adam": optimizer = .adam(learningRate: try r.double("learningRate", default: 0.5))
        case "lbfgs": optimizer = .lbfgs(memory: try r.integer("memory", default: 6), maxStep: try r.double("maxStep", default: 4))
        default:
            optimizer = .regularStepGradientDescent(maxStep: try r.double("maxStep", default: 2), minStep: try r.double("minStep", default: 0.005),
                                                    relaxation: try r.double("relaxation", default: 0.5))
        }
        convergence = try ConvergenceMonitor(reading: &r, default: convergence)
        masks = try StageMasks(reading: &r)
        try r.finish(valid: ["samplingStep", "samplingFraction", "seed", "learningRate", "memory", "maxStep", "minStep", "relaxation"])
    }
}

extension DeformableMethod {
    var document: PlanValue {
        switch self {
        case .syn(let stage): return .map([PlanEntry("method", .string("syn"))] + stage.entries(syn: true))
        case .demons(let stage): return .map([PlanEntry("method", .string("demons"))] + stage.entries(syn: false))
        case .bspline(let stage): return .map([PlanEntry("method", .string("bspline"))] + stage.entries)
        }
    }

    init(document: PlanValue, path: String) throws {
        var r = try PlanReader(document, path: path)
        switch try r.name("method", among: RegistrationPlan.methodNames) {
        case "syn": self = .syn(try DeformableStage(reading: &r, syn: true))
        case "demons": self = .demons(try DeformableStage(reading: &r, syn: false))
        default: self = .bspline(try BSplineStage(reading: &r))
        }
        try r.finish()
    }
}

extension DeformableStage {
    func entries(syn: Bool) -> [PlanEntry] {
        var e = [PlanEntry("metrics", WeightedMetric.document(metrics))] + LevelSchedule.entries(levels)
        e.append(PlanEntry("step", steps.map { .list($0.map { .number($0) }) } ?? .number(step)))
        e += [PlanEntry("updateSigma", .number(updateSigma)), PlanEntry("totalSigma", .number(totalSigma))]
        if syn { e += [PlanEntry("volumePenalty", .number(volumePenalty)), PlanEntry("volumeTolerance", .number(volumeTolerance))] }
        if syn, landmarkWeight > 0 { e.append(PlanEntry("landmarkWeight", .number(landmarkWeight))) }
        e.append(PlanEntry("domain", .string(domain.rawValue)))
        return e + convergence.entries + masks.entries
    }

    init(reading r: inout PlanReader, syn: Bool) throws {
        self.init(metrics: try WeightedMetric.read(&r, valid: Metric.denseNames, default: .localCorrelation(radius: 2)),
                  levels: try LevelSchedule.read(&r, default: DeformableStage.defaultLevels), step: 0.25, updateSigma: 3,
                  totalSigma: 0.5, convergence: ConvergenceMonitor())
        if let values = try r.perLevel("step", levels: levels.count) {
            guard values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw RegError.invalidArgument(name: r.key("step"), reason: "steps must be > 0 voxels")
            }
            // A list sets each level; its last value also stands as the single step.
            (step, steps) = values.count == 1 ? (values[0], nil) : (values.last!, values)
        }
        updateSigma = try r.double("updateSigma", default: updateSigma)
        totalSigma = try r.double("totalSigma", default: totalSigma)
        if syn {
            volumePenalty = try r.double("volumePenalty", default: 0)
            volumeTolerance = try r.double("volumeTolerance", default: 0)
            landmarkWeight = try r.double("landmarkWeight", default: 0)
        }
        domain = StageDomain(rawValue: try r.name("domain", among: StageDomain.allCases.map(\.rawValue), default: "content"))!
        convergence = try ConvergenceMonitor(reading: &r, default: convergence)
        masks = try StageMasks(reading: &r)
    }
}

extension BSplineStage {
    var entries: [PlanEntry] {
        [PlanEntry("metrics", WeightedMetric.document(metrics))] + LevelSchedule.entries(levels) + [
            PlanEntry("gridSpacing", .number(gridSpacing)), PlanEntry("gridSchedule", .list(gridSchedule.map { .integer($0) })),
            PlanEntry("bending", .number(regularization.bending)), PlanEntry("diffusion", .number(regularization.diffusion)),
            PlanEntry("folding", .number(regularization.folding)), PlanEntry("maxStep", .number(maxStep)),
        ] + (landmarkWeight > 0 ? [PlanEntry("landmarkWeight", .number(landmarkWeight))] : []) + convergence.entries + masks.entries
    }

    init(reading r: inout PlanReader) throws {
        let levels = try LevelSchedule.read(&r, default: BSplineStage.defaultLevels)
        self.init(metric: .localCorrelation(radius: 2), levels: levels)
        metrics = try WeightedMetric.read(&r, valid: Metric.denseNames, default: .localCorrelation(radius: 2))
        gridSpacing = try r.double("gridSpacing", default: gridSpacing)
        if let schedule = try r.perLevel("gridSchedule", levels: levels.count) {
            let factors = try schedule.map { v -> Int in
                guard v >= 1, v == v.rounded() else {
                    throw RegError.invalidArgument(name: r.key("gridSchedule"), reason: "takes whole factors ≥ 1, found \(v)")
                }
                return Int(v)
            }
            gridSchedule = factors.count == 1 ? Array(repeating: factors[0], count: levels.count) : factors
        }
        regularization = BSplineRegularization(bending: try r.double("bending", default: regularization.bending),
                                               diffusion: try r.double("diffusion", default: regularization.diffusion),
                                               folding: try r.double("folding", default: regularization.folding))
        maxStep = try r.double("maxStep", default: maxStep)
        landmarkWeight = try r.double("landmarkWeight", default: 0)
        convergence = try ConvergenceMonitor(reading: &r, default: convergence)
        masks = try StageMasks(reading: &r)
    }
}

extension WeightedMetric {
    static func document(_ metrics: [WeightedMetric]) -> PlanValue {
        .list(metrics.map { term in
            var e = [PlanEntry("metric", .string(term.metric.name))]
            switch term.metric {
            case .localCorrelation(let radius): e.append(PlanEntry("radius", .integer(radius)))
            case .mutualInformation(let bins), .normalizedMutualInformation(let bins): e.append(PlanEntry("bins", .integer(bins)))
            default: break
            }
            e.append(PlanEntry("weight", .number(term.weight)))
            return .map(e)
        })
    }

    /// `metrics: [{metric: mi, bins: 32, weight: 1.0}, …]`, or one metric as `metric: mi`
    /// (with `bins` or `radius` beside it).
    static func read(_ r: inout PlanReader, valid: [String], default d: Metric) throws -> [WeightedMetric] {
        if r.has("metric") {
            guard !r.has("metrics") else { throw RegError.invalidArgument(name: r.key("metric"), reason: "give metric or metrics, not both") }
            return [try one(&r, valid: valid)]
        }
        for key in ["bins", "radius", "weight"] where r.has(key) {
            throw RegError.invalidArgument(name: r.key(key), reason: "belongs beside 'metric' (or inside an entry of 'metrics')")
        }
        let items = try r.list("metrics")
        guard !items.isEmpty else { return [WeightedMetric(d)] }
        return try items.enumerated().map { k, item in
            var m = try PlanReader(item, path: r.key("metrics") + "[\(k)]")
            let term = try one(&m, valid: valid)
            try m.finish()
            return term
        }
    }

    static func one(_ r: inout PlanReader, valid: [String]) throws -> WeightedMetric {
        let name = try r.name("metric", among: valid)
        let bins = try r.integer("bins", default: 32), radius = try r.integer("radius", default: 2)
        guard bins >= 8, bins <= 4096 else { throw RegError.invalidArgument(name: r.key("bins"), reason: "takes 8 to 4096 bins, found \(bins)") }
        guard radius >= 1, radius <= 64 else { throw RegError.invalidArgument(name: r.key("radius"), reason: "takes 1 to 64 voxels, found \(radius)") }
        let weight = try r.double("weight", default: 1)
        guard weight > 0, weight.isFinite else { throw RegError.invalidArgument(name: r.key("weight"), reason: "must be > 0, found \(weight)") }
        return WeightedMetric(Metric(name: name, bins: bins, radius: radius)!, weight: weight)
    }
}

extension ConvergenceMonitor {
    var entries: [PlanEntry] { [PlanEntry("convergenceWindow", .integer(window)), PlanEntry("convergenceThreshold", .number(threshold))] }

    init(reading r: inout PlanReader, default d: ConvergenceMonitor) throws {
        self.init(window: try r.integer("convergenceWindow", default: d.window),
                  threshold: try r.double("convergenceThreshold", default: d.threshold))
    }
}

/// The level keys of a stage: `shrink`, `smoothing` (with `smoothingUnits`: voxels or mm) and
/// `iterations`, each one value for every level or one per level; `levels` sets the count
/// when every key has one value.
enum LevelSchedule {
    static func entries(_ levels: [Level]) -> [PlanEntry] {
        var e = [PlanEntry("shrink", .list(levels.map { .integer($0.shrink) }))]
        let units: [String] = levels.map { if case .mm = $0.sigma { return "mm" } else { return "voxels" } }
        let uniform = levels.allSatisfy { if case .perAxisVoxels = $0.sigma { return false } else { return true } } && Set(units).count <= 1
        if uniform {
            e.append(PlanEntry("smoothing", .list(levels.map { .number(value(of: $0.sigma)) })))
            e.append(PlanEntry("smoothingUnits", .string(units.first ?? "voxels")))
        } else {
            e.append(PlanEntry("smoothing", .list(levels.map { .string(text(of: $0.sigma)) })))
        }
        e.append(PlanEntry("iterations", .list(levels.map { .integer($0.iterations) })))
        return e
    }

    static func value(of sigma: GaussianSmoothing.Sigma) -> Double {
        switch sigma {
        case .voxels(let v), .mm(let v): return v
        case .perAxisVoxels(let v): return v.x
        }
    }

    static func text(of sigma: GaussianSmoothing.Sigma) -> String {
        switch sigma {
        case .voxels(let v): return PlanValue.text(of: v) + "vox"
        case .mm(let v): return PlanValue.text(of: v) + "mm"
        case .perAxisVoxels(let v): return [v.x, v.y, v.z].map { PlanValue.text(of: $0) }.joined(separator: ",") + "vox"
        }
    }

    static func read(_ r: inout PlanReader, default defaults: [Level]) throws -> [Level] {
        let count = try r.value("levels").map { try PlanReader.integer($0, r.key("levels")) }
        let smoothingValue = r.value("smoothing")
        let units = try r.name("smoothingUnits", among: ["voxels", "mm"], default: "voxels")
        var lengths: [Int] = []
        var given: [String: [Double]] = [:]
        for key in ["shrink", "iterations"] {
            if let v = try r.perLevel(key, levels: nil) { given[key] = v; lengths.append(v.count) }
        }
        var sigmas: [GaussianSmoothing.Sigma]?
        if let smoothingValue {
            sigmas = try smoothing(smoothingValue, key: r.key("smoothing"), units: units)
            lengths.append(sigmas!.count)
        }
        let n = count ?? lengths.filter { $0 > 1 }.first ?? (lengths.isEmpty ? defaults.count : 1)
        guard n >= 1, n <= 16 else { throw RegError.invalidArgument(name: r.key("levels"), reason: "takes 1 to 16 levels, found \(n)") }
        for (key, values) in given where values.count != 1 && values.count != n {
            throw RegError.invalidArgument(name: r.key(key), reason: "has \(values.count) values for \(n) levels: give one value, or one per level")
        }
        if let s = sigmas, s.count != 1, s.count != n {
            throw RegError.invalidArgument(name: r.key("smoothing"), reason: "has \(s.count) values for \(n) levels: give one value, or one per level")
        }
        if let bad = given["shrink"]?.first(where: { !($0 >= 1 && $0 <= 64 && $0 == $0.rounded()) }) {
            throw RegError.invalidArgument(name: r.key("shrink"), reason: "takes whole factors from 1 to 64, found \(bad)")
        }
        if let bad = given["iterations"]?.first(where: { !($0 >= 0 && $0 <= 1e7 && $0 == $0.rounded()) }) {
            throw RegError.invalidArgument(name: r.key("iterations"), reason: "takes whole counts ≥ 0, found \(bad)")
        }
        return Level.schedule(count: n, shrink: given["shrink"]?.map { Int($0) }, sigmas: sigmas,
                              iterations: given["iterations"]?.map { Int($0) }, defaults: defaults)
    }

    /// Sigmas as numbers in `units`, or strings with their own unit (`2mm`, `1vox`).
    static func smoothing(_ value: PlanValue, key: String, units: String) throws -> [GaussianSmoothing.Sigma] {
        let items: [PlanValue]
        if case .list(let l) = value { items = l } else { items = [value] }
        return try items.enumerated().map { k, item in
            let itemKey = items.count > 1 ? key + "[\(k)]" : key
            if case .string(let s) = item {
                let mm = s.hasSuffix("mm"), vox = s.hasSuffix("vox")
                let parts = s.dropLast(mm ? 2 : vox ? 3 : 0).split(separator: ",").map { Double($0) }
                guard mm || vox, parts.allSatisfy({ ($0 ?? -1) >= 0 }), parts.count == 1 || (parts.count == 3 && vox) else {
                    throw RegError.invalidArgument(name: itemKey, reason: "takes a sigma ≥ 0 as a number, or with its unit (2mm, 1vox); found '\(s)'")
                }
                let v = parts.map { $0! }
                return parts.count == 3 ? .perAxisVoxels(SIMD3(v[0], v[1], v[2])) : mm ? .mm(v[0]) : .voxels(v[0])
            }
            let v = try PlanReader.double(item, itemKey)
            guard v >= 0, v <= 1000 else { throw RegError.invalidArgument(name: itemKey, reason: "takes a sigma from 0 to 1000, found \(v)") }
            return units == "mm" ? .mm(v) : .voxels(v)
        }
    }
}

extension StageMasks {
    /// `fixedMask` and `movingMask` of a stage: a file, or `none`; left out when the stage takes
    /// the registration's.
    var entries: [PlanEntry] {
        [("fixedMask", fixed), ("movingMask", moving)].compactMap { key, choice in
            switch choice {
            case .registration: return nil
            case .none: return PlanEntry(key, .string("none"))
            case .file(let path): return PlanEntry(key, .string(path))
            }
        }
    }

    init(reading r: inout PlanReader) throws {
        func choice(_ key: String) throws -> StageMask {
            guard let text = try r.string(key) else { return .registration }
            guard !text.isEmpty else { throw RegError.invalidArgument(name: r.key(key), reason: "give a mask file, or none for no mask in this stage") }
            return text == "none" ? .none : .file(text)
        }
        self.init(fixed: try choice("fixedMask"), moving: try choice("movingMask"))
    }
}
