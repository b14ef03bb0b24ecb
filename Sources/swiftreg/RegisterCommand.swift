import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegMetrics
import RegOptimize
import RegReport
import RegTransforms
import SwiftRegKit

extension Initialization: ExpressibleByArgument {}
extension LinearSampling: ExpressibleByArgument {}

struct RegisterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a moving image to a fixed image: linear (rigid, similarity, affine) and deformable (SyN, demons, B-spline).",
        discussion: """
        Writes PREFIX_affine.txt (ITK), PREFIX_affine.mat (ANTs), PREFIX_warped.nii.gz (the moving \
        image on the fixed grid) and PREFIX_summary.json. Deformable presets (syn, syn-mi, quick, \
        demons, bspline) also write PREFIX_warp.nii.gz and PREFIX_inverse_warp.nii.gz (displacement fields in \
        LPS mm on the fixed grid, as ANTs writes them) and PREFIX_jacobian.nii.gz; apply them as \
        -t PREFIX_warp.nii.gz -t PREFIX_affine.txt. The transform maps fixed-space points to \
        moving-space points, as ANTs' and ITK's do: `swiftreg apply -i MOVING -r FIXED -t PREFIX_affine.txt` \
        reproduces the warped image, and so does antsApplyTransforms.
        Presets: translation; rigid; similarity (rigid, then similarity); affine (rigid, then affine); \
        syn (rigid + affine, then SyN with local correlation); syn-mi (SyN with mutual information, \
        multi-modal); quick (affine, then two coarse SyN levels); demons (rigid + affine, then \
        diffeomorphic demons); bspline (rigid + affine, then a B-spline free-form deformation, \
        local correlation, L-BFGS, bending and folding penalties, 16/8/4 mm control spacing). Each linear stage runs 3 levels (shrink 4, 2, 1; smoothing 2, 1, 0 \
        voxels); --shrink, --sigmas and --iterations change them (ANTs' 4x2x1 notation), and \
        --deformable-* the deformable stage's. --print-plan prints the whole run (options, files and all) \
        as a plan file and stops; --plan FILE runs one (an option that the plan sets is then an error; \
        -f, -m, masks and landmarks fill in what the plan leaves out). \
        --report also writes PREFIX_report.html, the quality-control page (with --fixed-labels, --moving-labels \
        and --lut: label contours and a Dice/HD95/ASSD table). Progress goes to standard error: a bar on a \
        terminal, a line per level otherwise; --verbose, --quiet, --log-json.
        Examples:
          swiftreg register -f subject.nii.gz -m atlas.nii.gz -o out/syn --preset syn
          swiftreg register -f t1.nii.gz -m pd.nii.gz -o out/reg --preset rigid --metric mi
          swiftreg register -f fixed.png -m moving.png -o reg2d --metric mse --preset rigid --rotation-search
          swiftreg register -f a.nii.gz -m b.nii.gz -o ab --landmarks a.fcsv b.fcsv --landmark-weight 0.1
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Fixed image.") var fixed: String?
    @Option(name: .shortAndLong, help: "Moving image.") var moving: String?
    @Option(name: .shortAndLong, help: "Output prefix.") var output: String?
    @Option(help: "translation, rigid, similarity, affine (default), syn, syn-mi, quick, demons or bspline.") var preset: String?
    @Option(name: .customLong("plan"), help: "A plan file (.yaml or .json) instead of a preset; --print-plan shows one.") var planPath: String?
    @Flag(name: .customLong("print-plan"), help: "Print the plan of this command line (YAML, or JSON with --plan-format json) and stop.") var printPlan = false
    @Option(name: .customLong("plan-format"), help: "yaml or json, for --print-plan.") var planFormat = "yaml"
    @Option(help: "Every stage's metric: mse, ncc, mi (Mattes, default), nmi or mad; ncc, nmi and mad only with a linear preset or --deformable-metric.")
    var metric: String?
    @Option(name: .customLong("deformable-metric"), help: "Deformable stage: lncc, mse or mi (default: --metric when it is mse or mi, else the preset's).")
    var deformableMetric: String?
    @Option(help: "Histogram bins for mi and nmi (32).") var bins: Int?
    @Option(name: .customLong("fixed-mask"), help: "Fixed-space mask (non-zero voxels are sampled).") var fixedMask: String?
    @Option(name: .customLong("moving-mask"), help: "Moving-space mask.") var movingMask: String?
    @Option(parsing: .upToNextOption, help: "Two landmark files: FIXED MOVING (.csv LPS, .fcsv, or elastix point set .txt).") var landmarks: [String] = []
    @Option(help: "auto: find landmarks automatically (keypoints matched by MIND descriptors about the centres of mass, kept by an affine RANSAC; see swiftreg keypoints); the initial alignment then fits them unless --init says otherwise.")
    var keypoints: String?
    @Option(name: .customLong("landmark-weight"), help: "Weight of the landmark term (mean squared distance, mm²; 0).")
    var landmarkWeight: Double?
    @Option(name: .customLong("init"), help: "Initial alignment: geometry (domain centres), moments (centres of mass, default), principalAxes, landmarks or none.")
    var initialization: Initialization?
    @Option(name: .customLong("initial-transform"), help: "Start from this linear transform (ITK .txt/.tfm/.h5, ANTs .mat, elastix TransformParameters; fixed → moving points, as ANTs' --initial-moving-transform) instead of --init: the first linear stage starts from it (a rigid stage from its rotation and translation); with no linear stage the deformable stage starts from it and PREFIX_affine.txt holds it.")
    var initialTransform: String?
    @Flag(name: .customLong("rotation-search"), help: "Try a grid of rotations first (for badly rotated starts).")
    var rotationSearch = false
    @Flag(name: .customLong("multi-start"), help: "When the principal axes suggest a large turn, also try principal-axes and quarter-turn starts at the first level.")
    var multiStart = false
    @Option(name: .customLong("linear-sampling"), help: "Image the linear stages sample in: smaller (the one whose content is smaller, default; the transform found is inverted) or fixed (as ANTs and elastix).")
    var linearSampling: LinearSampling?
    @Option(help: "Linear stages: shrink factors per level, e.g. 4x2x1.") var shrink: String?
    @Option(help: "Linear stages: smoothing sigmas per level in voxels (e.g. 2x1x0) or mm (2x1x0mm).") var sigmas: String?
    @Option(help: "Linear stages: iterations per level, e.g. 200x100x50.") var iterations: String?
    @Option(name: .customLong("deformable-shrink"), help: "Deformable stage: shrink factors per level (4x2x1).") var deformableShrink: String?
    @Option(name: .customLong("deformable-sigmas"), help: "Deformable stage: smoothing sigmas per level (2x1x0).") var deformableSigmas: String?
    @Option(name: .customLong("deformable-iterations"), help: "Deformable stage: iterations per level (syn: 60x50x12).") var deformableIterations: String?
    @Option(help: "Deformable stage: largest update per iteration, in voxels of each level's grid: one value for every level, or one per level (syn: 0.4x0.4x0.3).") var step: String?
    @Option(name: .customLong("update-sigma"), help: "Deformable stage: Gaussian sigma of each update, voxels (fluid).") var updateSigma: Double?
    @Option(name: .customLong("total-sigma"), help: "Deformable stage: Gaussian sigma of the whole field, voxels (elastic).") var totalSigma: Double?
    @Option(name: .customLong("volume-penalty"), help: "SyN: weight of the penalty on log det J of each half field, voxels² per iteration (0 turns it off).") var volumePenalty: Double?
    @Option(name: .customLong("volume-tolerance"), help: "SyN: |log det J| of a half field that the volume penalty leaves free.") var volumeTolerance: Double?
    @Option(name: .customLong("deformable-landmark-weight"), help: "SyN: share (0…1) of each landmark pair's remaining gap that an update closes; bspline: weight of the pairs' mean squared distance (mm²) in the cost (with --landmarks or --keypoints auto; 0).")
    var deformableLandmarkWeight: Double?
    @Option(help: "Deformable stage: local correlation window radius, voxels.") var radius: Int?
    @Option(name: .customLong("grid-spacing"), help: "B-spline stage: control-point spacing of the last level, mm (coarser levels double it).")
    var gridSpacing: Double?
    @Option(help: "B-spline stage: weight of the bending energy.") var bending: Double?
    @Option(help: "Fraction of voxels sampled at random (0.25; capped at --max-samples).") var sampling: Double?
    @Option(name: .customLong("max-samples"), help: "Most samples per level (60000).") var maxSamples: Int?
    @Option(help: "Random seed for sampling (1).") var seed: UInt64?
    @Option(help: "rsgd (regular-step gradient descent, default), adam or lbfgs.") var optimizer: String?
    @Option(help: "Winsorise intensities at these quantiles, e.g. 0.005,0.995.") var winsorize: String?
    @Flag(name: .customLong("zscore"), help: "Normalise both images to zero mean and unit variance first.") var zScore = false
    @Flag(help: "Also write PREFIX_report.html, the quality-control page (see `swiftreg report`).") var report = false
    @Flag(name: .customLong("write-composite"), help: "Also write PREFIX_composite.h5 and PREFIX_inverse_composite.h5: the whole chain each way as one ITK HDF5 file (antsApplyTransforms, SimpleITK).")
    var writeComposite = false
    @OptionGroup var reportOptions: ReportOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        let o = reportOptions
        guard report || (o.fixedLabels == nil && o.movingLabels == nil && o.lut == nil && o.slices.isEmpty) else {
            throw ValidationError("--fixed-labels, --moving-labels, --lut and --slice belong to the report: add --report")
        }
        guard ["yaml", "json"].contains(planFormat) else { throw ValidationError("--plan-format takes yaml or json; found '\(planFormat)'") }
        guard landmarks.isEmpty || landmarks.count == 2 else { throw ValidationError("--landmarks takes two files: FIXED MOVING") }
        guard printPlan || output != nil else { throw ValidationError("Missing expected argument '--output <output>'") }
    }

    func run() throws {
        try common.apply()
        let plan = try registrationPlan()
        if printPlan {
            print(PlanFile.text(plan, format: planFormat == "json" ? .json : .yaml), terminator: "")
            return
        }
        guard plan.inputs.fixed != nil, plan.inputs.moving != nil else {
            throw ValidationError("give the images: -f FIXED -m MOVING (or name them in the plan's inputs)")
        }
        let output = self.output!
        if (metric != nil || deformableMetric != nil) && !log.quiet { print("metrics: " + Self.metricsByStage(plan)) }
        if report {
            try OutputFolder.check(outputs: [output + "_report.html"], inputs: [plan.inputs.fixed!, plan.inputs.moving!]
                                   + [reportOptions.fixedLabels, reportOptions.movingLabels, reportOptions.lut].compactMap { $0 })
        }
        let display = ProgressDisplay(log)
        let run = try RegistrationFiles.register(plan, prefix: output, progress: display.handler, composite: writeComposite)
        display.finish()
        let result = run.result
        if report {
            try reportOptions.validateSlices(through: run.inputs.fixed.geometry)
            let page = try RegistrationReport(fixedPath: plan.inputs.fixed!, movingPath: plan.inputs.moving!, fixed: run.inputs.fixed,
                                              moving: run.inputs.moving, chain: result.chain, warp: result.deformable?.forward,
                                              summary: result.summary, landmarks: run.inputs.landmarks, settings: reportOptions.settings).build()
            try TextFile.write(page.html, to: output + "_report.html")
        }
        guard !log.quiet else { return }
        if report { print("report: \(output)_report.html") }
        print(String(format: "done in %.2f s; correlation %.4f → %.4f", result.seconds, result.summary.correlationBefore,
                     result.summary.correlationAfter))
        if let j = result.summary.jacobianInsideFixed {
            print(String(format: "det J inside the fixed foreground: min %.3f, max %.3f, folded %.4f %%, SDlogJ %.3f",
                         j.minimum, j.maximum, 100 * j.foldedFraction, j.sdLogJ))
        }
        let names = result.deformable == nil ? [output + "_affine.txt"] : [output + "_warp.nii.gz", output + "_affine.txt"]
        print(TransformChain(result.chain.elements, names: names))
    }

    /// The options a plan file sets, by name, when given on the command line.
    var planOptionsGiven: [String] {
        let given: [(String, Bool)] = [
            ("--preset", preset != nil), ("--metric", metric != nil), ("--deformable-metric", deformableMetric != nil), ("--bins", bins != nil), ("--landmark-weight", landmarkWeight != nil),
            ("--init", initialization != nil), ("--rotation-search", rotationSearch), ("--multi-start", multiStart), ("--linear-sampling", linearSampling != nil), ("--shrink", shrink != nil), ("--sigmas", sigmas != nil),
            ("--iterations", iterations != nil), ("--deformable-shrink", deformableShrink != nil),
            ("--deformable-sigmas", deformableSigmas != nil), ("--deformable-iterations", deformableIterations != nil),
            ("--step", step != nil), ("--update-sigma", updateSigma != nil), ("--total-sigma", totalSigma != nil),
            ("--volume-penalty", volumePenalty != nil), ("--volume-tolerance", volumeTolerance != nil), ("--deformable-landmark-weight", deformableLandmarkWeight != nil), ("--radius", radius != nil),
            ("--grid-spacing", gridSpacing != nil), ("--bending", bending != nil), ("--sampling", sampling != nil),
            ("--max-samples", maxSamples != nil), ("--seed", seed != nil), ("--optimizer", optimizer != nil),
            ("--winsorize", winsorize != nil), ("--zscore", zScore),
        ]
        return given.filter(\.1).map(\.0)
    }

    /// The plan: a preset with the command line's changes, or a plan file with the command
    /// line's files filling what it leaves out.
    func registrationPlan() throws -> RegistrationPlan {
        var plan: RegistrationPlan
        if let planPath {
            let given = planOptionsGiven
            guard given.isEmpty else {
                throw ValidationError("\(given.joined(separator: ", ")) \(given.count == 1 ? "is" : "are") set by the plan file \(planPath): change \(given.count == 1 ? "it" : "them") there, or leave out --plan")
            }
            plan = try PlanFile.read(planPath)
        } else {
            plan = try presetPlan()
        }
        try fill(&plan.inputs)
        if let keypoints {
            guard keypoints == "auto" else { throw ValidationError("--keypoints takes auto; found '\(keypoints)'") }
            guard landmarks.isEmpty else { throw ValidationError("--keypoints auto finds landmarks itself: leave out --landmarks") }
            plan.inputs.automaticKeypoints = true
        }
        if let weight = deformableLandmarkWeight, weight > 0, plan.inputs.fixedLandmarks == nil, !plan.inputs.automaticKeypoints {
            throw ValidationError("--deformable-landmark-weight needs --landmarks FIXED MOVING or --keypoints auto")
        }
        if initialTransform != nil, initialization != nil {
            throw ValidationError("--initial-transform and --init are two starts: give one of them")
        }
        if plan.initialization == .landmarks, plan.inputs.fixedLandmarks == nil, !plan.inputs.automaticKeypoints {
            throw ValidationError("--init landmarks needs --landmarks FIXED MOVING or --keypoints auto")
        }
        do { try plan.validate() } catch RegError.invalidArgument(let name, let reason) {
            throw ValidationError("the plan's \(name) \(reason)")
        }
        return plan
    }

    /// The command line's files, where the plan names none; a file named twice is an error.
    func fill(_ inputs: inout PlanInputs) throws {
        let options: [(String, String?, WritableKeyPath<PlanInputs, String?>)] = [
            ("-f/--fixed", fixed, \.fixed), ("-m/--moving", moving, \.moving), ("--fixed-mask", fixedMask, \.fixedMask),
            ("--moving-mask", movingMask, \.movingMask), ("--landmarks", landmarks.first, \.fixedLandmarks),
            ("--landmarks", landmarks.last, \.movingLandmarks), ("--initial-transform", initialTransform, \.initialTransform),
        ]
        for (name, value, key) in options {
            guard let value else { continue }
            if let planned = inputs[keyPath: key], planned != value {
                throw ValidationError("\(name) \(value): the plan file already names \(planned); give one of them")
            }
            inputs[keyPath: key] = value
        }
    }

    func presetPlan() throws -> RegistrationPlan {
        let metricName = metric ?? "mi"
        guard let kind = Metric(name: metricName, bins: bins ?? 32), kind.isLinear else {
            throw ValidationError("--metric takes \(Metric.linearNames.joined(separator: ", ")); found '\(metricName)'")
        }
        let presetName = preset ?? "affine"
        guard var plan = RegistrationPlan.preset(presetName, linearMetric: kind) else {
            throw ValidationError("--preset takes \(RegistrationPlan.presetNames.joined(separator: ", ")); found '\(presetName)'")
        }
        let sampling = self.sampling ?? 0.25
        guard sampling > 0, sampling <= 1 else { throw ValidationError("--sampling takes a fraction in (0, 1]; found \(sampling)") }
        let method: Optimizer.Method
        switch optimizer ?? "rsgd" {
        case "rsgd": method = .regularStepGradientDescent(maxStep: 2, minStep: 0.005, relaxation: 0.5)
        case "adam": method = .adam(learningRate: 0.5)
        case "lbfgs": method = .lbfgs(memory: 6, maxStep: 4)
        default: throw ValidationError("--optimizer takes rsgd, adam or lbfgs; found '\(optimizer!)'")
        }
        for i in plan.linear.indices {
            plan.linear[i].levels = try LevelOptions(shrink: shrink, sigmas: sigmas, iterations: iterations, prefix: "")
                .applied(to: plan.linear[i].levels)
            plan.linear[i].sampling = .random(fraction: sampling, seed: seed ?? 1)
            plan.linear[i].sampleLimit = maxSamples ?? 60_000
            plan.linear[i].optimizer = method
        }
        plan.initialization = initialization ?? (keypoints == nil ? .moments : .landmarks)
        plan.rotationSearch = rotationSearch
        plan.multiStart = multiStart
        plan.linearSampling = linearSampling ?? .smaller
        plan.landmarkWeight = landmarkWeight ?? 0
        plan.preprocessing = try preprocessing()
        try applyDeformableOptions(to: &plan)
        return plan
    }

    func applyDeformableOptions(to plan: inout RegistrationPlan) throws {
        let levels = LevelOptions(shrink: deformableShrink, sigmas: deformableSigmas, iterations: deformableIterations, prefix: "deformable-")
        switch plan.deformable {
        case .syn(var stage):
            try applyDenseOptions(to: &stage, name: "syn", levels: levels)
            plan.deformable = .syn(stage)
        case .demons(var stage):
            if deformableLandmarkWeight != nil { throw ValidationError("--deformable-landmark-weight applies to syn and bspline") }
            if volumePenalty != nil || volumeTolerance != nil {
                throw ValidationError("--volume-penalty and --volume-tolerance apply to syn; demons regularises with its sigmas")
            }
            try applyDenseOptions(to: &stage, name: "demons", levels: levels)
            plan.deformable = .demons(stage)
        case .bspline(var stage):
            if let deformableLandmarkWeight { stage.landmarkWeight = deformableLandmarkWeight }
            if step != nil || updateSigma != nil || totalSigma != nil || volumePenalty != nil || volumeTolerance != nil {
                throw ValidationError("--step, --update-sigma, --total-sigma, --volume-penalty and --volume-tolerance apply to syn (the first three to demons too); a B-spline stage takes --grid-spacing and --bending")
            }
            if levels.given {
                stage.levels = try levels.applied(to: stage.levels)
                stage.gridSchedule = stage.levels.indices.map { 1 << (stage.levels.count - 1 - $0) }
            }
            if let gridSpacing { stage.gridSpacing = gridSpacing }
            if let bending { stage.regularization.bending = bending }
            stage.metrics = withRadius(try deformableMetrics(stage.metrics, stage: "bspline"))
            plan.deformable = .bspline(stage)
        case nil:
            if gridSpacing != nil || bending != nil || step != nil || updateSigma != nil || totalSigma != nil || volumePenalty != nil
                || volumeTolerance != nil || levels.given || radius != nil || deformableMetric != nil || deformableLandmarkWeight != nil {
                throw ValidationError("deformable options need a deformable preset (syn, syn-mi, quick, demons, bspline) or plan")
            }
        }
    }

    func applyDenseOptions(to stage: inout DeformableStage, name: String, levels: LevelOptions) throws {
        if gridSpacing != nil || bending != nil {
            throw ValidationError("--grid-spacing and --bending apply to the bspline preset")
        }
        if let step {
            let values = try LevelOptions.values(step, "step", example: "0.25 (every level) or 0.4x0.4x0.3 (one per level, each > 0)", valid: { $0 > 0 })
            if values.count == 1 { (stage.step, stage.steps) = (values[0], nil) } else { stage.steps = values }
        }
        if let updateSigma { stage.updateSigma = updateSigma }
        if let totalSigma { stage.totalSigma = totalSigma }
        if let volumePenalty { stage.volumePenalty = volumePenalty }
        if let volumeTolerance { stage.volumeTolerance = volumeTolerance }
        if let deformableLandmarkWeight { stage.landmarkWeight = deformableLandmarkWeight }
        stage.levels = try levels.applied(to: stage.levels)
        if let steps = stage.steps, steps.count != stage.levels.count {
            let given = steps.map { String(format: "%g", $0) }.joined(separator: "x")
            throw ValidationError("the steps \(given) are one per level, and there are \(stage.levels.count) levels: give --step (or the plan's steps) with one value per level, or --step with one for all")
        }
        stage.metrics = withRadius(try deformableMetrics(stage.metrics, stage: name))
    }

    /// The deformable stage's metrics: --deformable-metric's, else --metric's when a deformable
    /// stage takes it (mse, mi), else the preset's. A --metric that only the linear stages take is
    /// refused rather than left silently to them.
    func deformableMetrics(_ metrics: [WeightedMetric], stage name: String) throws -> [WeightedMetric] {
        guard let chosen = deformableMetric ?? metric else { return metrics }
        guard let kind = Metric(name: chosen, bins: bins ?? 32), kind.isDense else {
            let valid = Metric.denseNames.joined(separator: ", ")
            guard deformableMetric == nil else { throw ValidationError("--deformable-metric takes \(valid); found '\(chosen)'") }
            let current = metrics.map(\.metric.description).joined(separator: " + ")
            throw ValidationError("--metric \(chosen) is for linear stages only, and the \(name) stage takes \(valid): add --deformable-metric "
                                  + "(--deformable-metric \(metrics.first?.metric.name ?? "lncc") keeps the preset's \(current)), or give --metric mse or mi, which every stage takes")
        }
        return [WeightedMetric(kind)]
    }

    /// Each stage's metrics, as the line `register` prints when --metric or --deformable-metric
    /// changed them: "rigid mi(32 bins), affine mi(32 bins), syn mi(32 bins)".
    static func metricsByStage(_ plan: RegistrationPlan) -> String {
        func terms(_ metrics: [WeightedMetric]) -> String { metrics.map(\.metric.description).joined(separator: " + ") }
        var parts = plan.linear.map { "\($0.model.rawValue) \(terms($0.metrics))" }
        for method in plan.deformableStages {
            switch method {
            case .syn(let stage): parts.append("syn " + terms(stage.metrics))
            case .demons(let stage): parts.append("demons " + terms(stage.metrics))
            case .bspline(let stage): parts.append("bspline " + terms(stage.metrics))
            }
        }
        return parts.joined(separator: ", ")
    }

    /// The metrics with --radius applied to local correlation.
    func withRadius(_ metrics: [WeightedMetric]) -> [WeightedMetric] {
        guard let radius else { return metrics }
        return metrics.map { term in
            guard case .localCorrelation = term.metric else { return term }
            return WeightedMetric(.localCorrelation(radius: radius), weight: term.weight)
        }
    }

    func preprocessing() throws -> IntensityNormalization {
        var pre = IntensityNormalization()
        if let winsorize {
            let q = winsorize.split(separator: ",").compactMap { Double($0) }
            guard q.count == 2, q[0] >= 0, q[0] < q[1], q[1] <= 1 else {
                throw ValidationError("--winsorize takes two quantiles LOW,HIGH in [0, 1], e.g. 0.005,0.995")
            }
            pre.winsorize = q[0]...q[1]
        }
        pre.zScore = zScore
        return pre
    }
}

/// `--shrink`, `--sigmas` and `--iterations` (or their `--deformable-` forms): ANTs' `4x2x1`
/// notation. The longest list sets the number of levels and one value stands for every level;
/// what is not given keeps the stage's own values, counted from the finest level.
struct LevelOptions {
    var shrink: String?, sigmas: String?, iterations: String?
    var prefix: String

    var given: Bool { shrink != nil || sigmas != nil || iterations != nil }

    func applied(to levels: [Level]) throws -> [Level] {
        guard given else { return levels }
        let inMM = sigmas?.hasSuffix("mm") ?? false
        let s = try shrink.map { try Self.values($0, prefix + "shrink") }
        let g = try sigmas.map { try Self.values(inMM ? String($0.dropLast(2)) : $0, prefix + "sigmas") }
        let n = try iterations.map { try Self.values($0, prefix + "iterations") }
        let counts = [s, g, n].compactMap { $0?.count }
        let count = counts.max()!
        guard counts.allSatisfy({ $0 == 1 || $0 == count }) else {
            throw ValidationError("--\(prefix)shrink, --\(prefix)sigmas and --\(prefix)iterations need one value per level, or one for all (\([s, g, n].map { $0.map { String($0.count) } ?? "-" }.joined(separator: ", ")) given)")
        }
        guard s?.allSatisfy({ $0 >= 1 && $0 == $0.rounded() && $0 <= 64 }) ?? true else {
            throw ValidationError("--\(prefix)shrink takes whole numbers from 1 to 64")
        }
        guard n?.allSatisfy({ $0 == $0.rounded() && $0 <= 1e7 }) ?? true else { throw ValidationError("--\(prefix)iterations takes whole numbers") }
        return Level.schedule(count: count, shrink: s?.map { Int($0) }, sigmas: g?.map { inMM ? .mm($0) : .voxels($0) },
                              iterations: n?.map { Int($0) }, defaults: levels)
    }

    /// Values per level written like `4x2x1`, each accepted by `valid`.
    static func values(_ s: String, _ name: String, example: String = "4x2x1", valid: (Double) -> Bool = { $0 >= 0 }) throws -> [Double] {
        let v = s.split(separator: "x").map { Double($0) }
        guard !v.isEmpty, v.allSatisfy({ $0.map { valid($0) && $0.isFinite } ?? false }) else {
            throw ValidationError("--\(name) takes values like \(example); found '\(s)'")
        }
        return v.map { $0! }
    }
}
