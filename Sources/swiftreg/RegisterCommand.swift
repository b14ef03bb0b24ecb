import ArgumentParser
import Foundation
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegMetrics
import RegOptimize
import RegTransforms

extension Initialization: ExpressibleByArgument {}

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
        --deformable-* the deformable stage's. --print-plan shows a preset as YAML; --plan runs an edited one. \
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
    @Option(name: .shortAndLong, help: "Fixed image.") var fixed: String
    @Option(name: .shortAndLong, help: "Moving image.") var moving: String
    @Option(name: .shortAndLong, help: "Output prefix.") var output: String
    @Option(help: "translation, rigid, similarity, affine, syn, syn-mi, quick, demons or bspline.") var preset = "affine"
    @Option(name: .customLong("plan"), help: "A plan file (.yaml or .json) instead of a preset; --print-plan shows one.") var planPath: String?
    @Flag(name: .customLong("print-plan"), help: "Print the plan (YAML) and stop.") var printPlan = false
    @Option(help: "mse, ncc, mi (Mattes), nmi or mad.") var metric = "mi"
    @Option(help: "Histogram bins for mi and nmi.") var bins = 32
    @Option(name: .customLong("fixed-mask"), help: "Fixed-space mask (non-zero voxels are sampled).") var fixedMask: String?
    @Option(name: .customLong("moving-mask"), help: "Moving-space mask.") var movingMask: String?
    @Option(parsing: .upToNextOption, help: "Two landmark files: FIXED MOVING (.csv LPS, .fcsv, or elastix point set .txt).") var landmarks: [String] = []
    @Option(name: .customLong("landmark-weight"), help: "Weight of the landmark term (mean squared distance, mm²).")
    var landmarkWeight = 0.0
    @Option(name: .customLong("init"), help: "Initial alignment: geometry (domain centres), moments (centres of mass), principalAxes, landmarks or none.")
    var initialization: Initialization = .moments
    @Flag(name: .customLong("rotation-search"), help: "Try a grid of rotations first (for badly rotated starts).")
    var rotationSearch = false
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
    @Option(help: "Deformable stage: local correlation window radius, voxels.") var radius: Int?
    @Option(name: .customLong("grid-spacing"), help: "B-spline stage: control-point spacing of the last level, mm (coarser levels double it).")
    var gridSpacing: Double?
    @Option(help: "B-spline stage: weight of the bending energy.") var bending: Double?
    @Option(help: "Fraction of voxels sampled at random (capped at --max-samples).") var sampling = 0.25
    @Option(name: .customLong("max-samples"), help: "Most samples per level.") var maxSamples = 60_000
    @Option(help: "Random seed for sampling.") var seed: UInt64 = 1
    @Option(help: "rsgd (regular-step gradient descent), adam or lbfgs.") var optimizer = "rsgd"
    @Option(help: "Winsorise intensities at these quantiles, e.g. 0.005,0.995.") var winsorize: String?
    @Flag(name: .customLong("zscore"), help: "Normalise both images to zero mean and unit variance first.") var zScore = false
    @Flag(help: "Also write PREFIX_report.html, the quality-control page (see `swiftreg report`).") var report = false
    @OptionGroup var reportOptions: ReportOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        let o = reportOptions
        guard report || (o.fixedLabels == nil && o.movingLabels == nil && o.lut == nil && o.slices.isEmpty) else {
            throw ValidationError("--fixed-labels, --moving-labels, --lut and --slice belong to the report: add --report")
        }
    }

    func run() throws {
        try common.apply()
        let plan = try registrationPlan()
        if printPlan {
            print(try PlanFile.yaml(plan))
            return
        }
        try OutputFolder.check(for: output + "_summary.json")
        let (fixedImage, movingImage) = try concurrently({ try ImageFile.read(fixed).image.floatImage() },
                                                         { try ImageFile.read(moving).image.floatImage() })
        let pairs = try landmarks.isEmpty ? nil : (LandmarkFile.read(landmarks[0]), LandmarkFile.read(landmarks[1]))
        var reg = Registration(plan)
        let display = ProgressDisplay(log)
        reg.progress = display.handler
        let fMask = try fixedMask.map { try ImageFile.read($0).image.mask }
        let mMask = try movingMask.map { try ImageFile.read($0).image.mask }
        let linearOptions = try linearSettings()
        let result = try reg.run(fixed: fixedImage, moving: movingImage, fixedMask: fMask, movingMask: mMask) { linear in
            linear.landmarks = pairs
            linear.landmarkWeight = landmarkWeight
            linear.preprocessing = linearOptions
        }
        display.finish()
        // The two fields stream to their files on a thread of their own (a megabyte of buffer
        // each) while the warped image and the Jacobian are made.
        let fieldWrites = result.deformable.map { [output] deformable in
            BackgroundJob {
                try TransformFile.writeDisplacementField(deformable.forward.field, to: output + "_warp.nii.gz")
                try TransformFile.writeDisplacementField(deformable.inverse.field, to: output + "_inverse_warp.nii.gz")
            }
        }
        do {
            let chain = result.chain
            let warped = try Resampler.resample(movingImage, onto: fixedImage.geometry, mapping: chain.mapping(onto: fixedImage.geometry),
                                                interpolation: .linear)
            let before = pearsonCorrelation(fixedImage.voxels, try Resampler.resample(movingImage, onto: fixedImage.geometry, interpolation: .linear).voxels)
            let after = pearsonCorrelation(fixedImage.voxels, warped.voxels)
            let map = result.affine
            let record = LinearTransformRecord(map: map, center: result.linear?.transform.center ?? .zero, dimension: fixedImage.geometry.dimension)
            let detJ = result.deformable?.forward.jacobianDeterminant
            var summary = Summary(fixed: fixed, moving: moving, preset: preset, plan: plan, linearLevels: result.linear?.levels ?? [],
                                  deformableLevels: result.deformable?.levels ?? [], seconds: result.seconds,
                                  parameters: result.linear?.transform.parameters ?? [], model: result.linear?.transform.model,
                                  matrix: map.matrix.rowMajor, translation: [map.translation.x, map.translation.y, map.translation.z],
                                  center: [record.center.x, record.center.y, record.center.z],
                                  correlationBefore: before, correlationAfter: after)
            if let linear = result.linear, let pairs {
                let (f, m) = try pairs.0.paired(with: pairs.1)
                summary.landmarkRMS = LandmarkDistance(fixed: f.points, moving: m.points).rms(linear.transform)
            }
            if let detJ {
                summary.jacobian = JacobianStatistics(determinant: detJ)
                summary.jacobianInsideFixed = JacobianStatistics(determinant: detJ, mask: fMask ?? fixedImage.foreground)
            }
            let json = try JSONText.encode(summary)
            // Everything else is computed; now write, each file atomically.
            try TransformFile.write([record], to: output + "_affine.txt")
            try TransformFile.write([record], to: output + "_affine.mat")
            if let detJ { try ImageFile.write(detJ, to: output + "_jacobian.nii.gz", options: .runLength) }
            try ImageFile.write(warped, to: output + "_warped.nii.gz", options: .runLength)
            try TextFile.write(json, to: output + "_summary.json")
            if report {
                let page = try QCReport(fixedPath: fixed, movingPath: moving, fixed: fixedImage, moving: movingImage, chain: chain,
                                        warp: result.deformable?.forward, summary: summary, landmarks: pairs, options: reportOptions).build()
                try TextFile.write(page.html, to: output + "_report.html")
            }
            try fieldWrites?.wait()
            guard !log.quiet else { return }
            if report { print("report: \(output)_report.html") }
            print(String(format: "done in %.2f s; correlation %.4f → %.4f", result.seconds, before, after))
            if let j = summary.jacobianInsideFixed {
                print(String(format: "det J inside the fixed foreground: min %.3f, max %.3f, folded %.4f %%, SDlogJ %.3f",
                             j.minimum, j.maximum, 100 * j.foldedFraction, j.sdLogJ))
            }
            let names = result.deformable == nil ? [output + "_affine.txt"] : [output + "_warp.nii.gz", output + "_affine.txt"]
            print(TransformChain(chain.elements, names: names))
        } catch {
            try? fieldWrites?.wait()
            throw error
        }
    }

    /// The plan: a preset or a plan file, with the command line's changes.
    func registrationPlan() throws -> RegistrationPlan {
        guard let kind = MetricKind(name: metric, bins: bins) else {
            throw ValidationError("--metric takes mse, ncc, mi, nmi or mad; found '\(metric)'")
        }
        var plan: RegistrationPlan
        if let planPath {
            plan = try PlanFile.read(planPath)
        } else {
            guard let p = RegistrationPlan.preset(preset, linearMetric: kind) else {
                throw ValidationError("--preset takes \(RegistrationPlan.presetNames.joined(separator: ", ")); found '\(preset)'")
            }
            plan = p
        }
        guard landmarks.isEmpty || landmarks.count == 2 else {
            throw ValidationError("--landmarks takes two files: FIXED MOVING")
        }
        if initialization == .landmarks, landmarks.isEmpty { throw ValidationError("--init landmarks needs --landmarks FIXED MOVING") }
        guard sampling > 0, sampling <= 1 else { throw ValidationError("--sampling takes a fraction in (0, 1]; found \(sampling)") }
        let method: Optimizer.Method
        switch optimizer {
        case "rsgd": method = .regularStepGradientDescent(maxStep: 2, minStep: 0.005, relaxation: 0.5)
        case "adam": method = .adam(learningRate: 0.5)
        case "lbfgs": method = .lbfgs(memory: 6, maxStep: 4)
        default: throw ValidationError("--optimizer takes rsgd, adam or lbfgs; found '\(optimizer)'")
        }
        let levels = try shrink == nil && sigmas == nil && iterations == nil ? nil
            : parseLevels(shrink ?? "4x2x1", sigmas ?? "2x1x0", iterations ?? "200x100x50")
        for i in plan.linear.indices {
            if let levels { plan.linear[i].levels = levels }
            if planPath == nil {
                plan.linear[i].sampling = .random(fraction: sampling, seed: seed)
                plan.linear[i].sampleLimit = maxSamples
                plan.linear[i].optimizer = method
            }
        }
        if planPath == nil {
            plan.initialization = initialization
            plan.rotationSearch = rotationSearch
        }
        try applyDeformableOptions(to: &plan)
        return plan
    }

    func applyDeformableOptions(to plan: inout RegistrationPlan) throws {
        let presetLevels: [Level]
        switch plan.deformable {
        case .syn(let stage), .demons(let stage): presetLevels = stage.levels
        case .bspline(let stage): presetLevels = stage.levels
        case nil: presetLevels = DeformableStage.defaultLevels
        }
        // Iterations not given are the preset's own (syn: 60x50x12).
        let levels = deformableShrink != nil || deformableSigmas != nil || deformableIterations != nil
            ? try parseLevels(deformableShrink ?? "4x2x1", deformableSigmas ?? "2x1x0",
                              deformableIterations ?? presetLevels.map { String($0.iterations) }.joined(separator: "x"), prefix: "deformable-") : nil
        switch plan.deformable {
        case .syn(var stage):
            try applyDenseOptions(to: &stage, levels: levels)
            plan.deformable = .syn(stage)
        case .demons(var stage):
            if volumePenalty != nil || volumeTolerance != nil {
                throw ValidationError("--volume-penalty and --volume-tolerance apply to syn; demons regularises with its sigmas")
            }
            try applyDenseOptions(to: &stage, levels: levels)
            plan.deformable = .demons(stage)
        case .bspline(var stage):
            if step != nil || updateSigma != nil || totalSigma != nil || volumePenalty != nil || volumeTolerance != nil {
                throw ValidationError("--step, --update-sigma, --total-sigma, --volume-penalty and --volume-tolerance apply to syn (the first three to demons too); a B-spline stage takes --grid-spacing and --bending")
            }
            if let levels {
                stage.levels = levels
                stage.gridSchedule = levels.indices.map { 1 << (levels.count - 1 - $0) }
            }
            if let gridSpacing { stage.gridSpacing = gridSpacing }
            if let bending { stage.regularization.bending = bending }
            stage.metrics = withRadius(stage.metrics)
            plan.deformable = .bspline(stage)
        case nil:
            if gridSpacing != nil || bending != nil || step != nil || updateSigma != nil || totalSigma != nil || volumePenalty != nil
                || volumeTolerance != nil || levels != nil {
                throw ValidationError("deformable options need a deformable preset (syn, syn-mi, quick, demons, bspline) or plan")
            }
        }
    }

    func applyDenseOptions(to stage: inout DeformableStage, levels: [Level]?) throws {
        if gridSpacing != nil || bending != nil {
            throw ValidationError("--grid-spacing and --bending apply to the bspline preset")
        }
        if let step {
            let values = try perLevel(step, "step", example: "0.25 (every level) or 0.4x0.4x0.3 (one per level, each > 0)", valid: { $0 > 0 })
            if values.count == 1 { (stage.step, stage.steps) = (values[0], nil) } else { stage.steps = values }
        }
        if let updateSigma { stage.updateSigma = updateSigma }
        if let totalSigma { stage.totalSigma = totalSigma }
        if let volumePenalty { stage.volumePenalty = volumePenalty }
        if let volumeTolerance { stage.volumeTolerance = volumeTolerance }
        if let levels { stage.levels = levels }
        if let steps = stage.steps, steps.count != stage.levels.count {
            let given = steps.map { String(format: "%g", $0) }.joined(separator: "x")
            throw ValidationError("the steps \(given) are one per level, and there are \(stage.levels.count) levels: give --step (or the plan's steps) with one value per level, or --step with one for all")
        }
        stage.metrics = withRadius(stage.metrics)
    }

    /// The metrics with --radius applied to local correlation.
    func withRadius(_ metrics: [WeightedMetric]) -> [WeightedMetric] {
        guard let radius else { return metrics }
        return metrics.map { term in
            guard case .localCorrelation = term.metric else { return term }
            return WeightedMetric(.localCorrelation(radius: radius), weight: term.weight)
        }
    }

    func linearSettings() throws -> IntensityNormalization {
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

    /// Values per level written like `4x2x1`, each accepted by `valid`.
    func perLevel(_ s: String, _ name: String, example: String = "4x2x1", valid: (Double) -> Bool = { $0 >= 0 }) throws -> [Double] {
        let v = s.split(separator: "x").map { Double($0) }
        guard !v.isEmpty, v.allSatisfy({ $0.map(valid) ?? false }) else {
            throw ValidationError("--\(name) takes values like \(example); found '\(s)'")
        }
        return v.map { $0! }
    }

    /// The levels of `--shrink`, `--sigmas` and `--iterations`, or of the options named with
    /// `prefix` (`deformable-`), which the errors name.
    func parseLevels(_ shrink: String, _ sigmas: String, _ iterations: String, prefix: String = "") throws -> [Level] {
        let inMM = sigmas.hasSuffix("mm")
        let s = try perLevel(shrink, prefix + "shrink"), g = try perLevel(inMM ? String(sigmas.dropLast(2)) : sigmas, prefix + "sigmas")
        let n = try perLevel(iterations, prefix + "iterations")
        guard s.count == g.count, s.count == n.count else {
            throw ValidationError("--\(prefix)shrink, --\(prefix)sigmas and --\(prefix)iterations need one value per level (\(s.count), \(g.count), \(n.count) given)")
        }
        guard s.allSatisfy({ $0 >= 1 && $0 == $0.rounded() }) else { throw ValidationError("--\(prefix)shrink takes whole numbers ≥ 1") }
        return (0..<s.count).map { Level(shrink: Int(s[$0]), sigma: inMM ? .mm(g[$0]) : .voxels(g[$0]), iterations: Int(n[$0])) }
    }

    struct Summary: Codable {
        var fixed: String, moving: String, preset: String
        var plan: RegistrationPlan
        var linearLevels: [LevelReport]
        var deformableLevels: [DeformableLevelReport]
        var seconds: Double
        var parameters: [Double]
        var model: LinearModel?
        var matrix: [Double], translation: [Double], center: [Double]
        var correlationBefore: Double, correlationAfter: Double
        var landmarkRMS: Double?
        /// det J of the forward warp over the whole grid and over the fixed mask (or foreground).
        var jacobian: JacobianStatistics?
        var jacobianInsideFixed: JacobianStatistics?
    }
}

extension AnyImage {
    /// The image as a 0/1 mask: 1 where a voxel is non-zero.
    var mask: Image<UInt8> { floatImage().foreground }
}

extension Image<Float> {
    /// 1 where a voxel is non-zero.
    var foreground: Image<UInt8> {
        try! Image<UInt8>(geometry: geometry, voxels: voxels.map { $0 != 0 ? 1 : 0 })
    }
}
