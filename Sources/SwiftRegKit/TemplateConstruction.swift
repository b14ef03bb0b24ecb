import Foundation
import RegAnalysis
import RegCore
import RegKernels
import RegMethods
import RegSegment
import RegTransforms

/// How the warped subjects are averaged into the template's intensities.
public enum TemplateAverage: String, Sendable, Codable, CaseIterable {
    case mean, median
}

/// The settings of `TemplateConstruction`.
public struct TemplateSettings: Sendable {
    /// Registration-and-update rounds after the initial template.
    public var iterations = 4
    /// Each round's registration of a subject (moving) to the template (fixed); default `syn`.
    public var plan: RegistrationPlan
    /// The alignment that makes the initial template (the linear stages of `affine`).
    public var initialPlan: RegistrationPlan
    /// The fraction of the mean forward warp the template moves by (ANTs' gradient step, 0.25).
    public var gradientStep = 0.25
    public var average = TemplateAverage.mean
    /// The weight of the Laplacian-sharpened average blended into each round's template after
    /// the shape update (ANTsPy's `build_template`: 1 − blending weight, 0.25); 0: none.
    public var sharpen = 0.25
    /// How the subjects' labels, carried to the template, are fused into its labels.
    public var fusion = LabelFusion(method: .majority)
    /// Subjects registered at once, the threads divided between them; nil: one per thread, as
    /// far as memory allows (`registrationWorkers`). On 2 cores two `syn` registrations on one
    /// thread each finish sooner than the same two one after the other on two threads.
    public var concurrentRegistrations: Int?
    /// The last rounds that register with the whole of `plan`; the rounds before them leave out
    /// the deformable stage's finest level (when it has more than one): the template's shape
    /// settles at the coarser levels first, and the finest level, most of a round's time, is run
    /// only once the shape barely moves. nil: every round registers with the whole plan.
    public var fineRounds: Int? = 1

    public init(plan: RegistrationPlan = RegistrationPlan.preset("syn")!, initialPlan: RegistrationPlan = RegistrationPlan.preset("affine")!) {
        self.plan = plan
        self.initialPlan = initialPlan
    }
}

extension TemplateSettings {
    /// The registration of round `k` (0: the initial alignment; `k` in 1…`iterations`).
    ///
    /// ```swift
    /// var settings = TemplateSettings()          // syn: shrink 4, 2, 1; fineRounds 1
    /// settings.plan(forRound: 2).deformable      // syn at shrink 4, 2 (round 2 of 4)
    /// ```
    public func plan(forRound k: Int) -> RegistrationPlan {
        if k == 0 { return initialPlan }
        guard let fineRounds, k <= iterations - fineRounds else { return plan }
        return plan.withoutFinestDeformableLevel
    }

    /// Registrations at once: `concurrentRegistrations`, else one per thread as far as about 150
    /// bytes per template voxel each fit in half the available memory.
    func registrationWorkers(grid: Geometry) -> Int {
        if let n = concurrentRegistrations { return max(1, n) }
        return min(Parallelism.threadCount, SystemMemory.runsThatFit(bytesEach: 150 * Double(grid.voxelCount)))
    }
}

/// The measures of one round, as the summary and the QC page give them.
public struct TemplateIteration: Sendable, Codable, Equatable {
    /// 0 for the initial template.
    public var iteration: Int
    /// Each subject's correlation with the template it was registered to, after registration.
    public var correlations: [Double]
    public var meanCorrelation: Double
    /// Mean gradient magnitude of the new template inside its foreground (intensity per mm).
    public var sharpness: Double
    /// RMS movement of the template's update (mean warp and mean affine) inside its foreground, mm.
    public var shapeUpdate: Double
    /// Frobenius norm of the mean non-rigid affine part minus the identity.
    public var affineUpdate: Double
    /// With labels: each subject's carried labels against the fused labels (mean Dice over labels).
    public var labelDice: [Double]?
    public var meanLabelDice: Double?
    public var seconds: Double
}

/// What a round keeps of one subject's registration to the template (the subject moving, the
/// template fixed): enough to average, update and carry labels, and small enough to write to
/// files between the steps of a cluster run (`TemplateStages`).
public struct TemplateRegistration: Sendable {
    public var affine: AffineMap
    /// The forward warp on the template's grid (nil for a linear plan).
    public var warp: DisplacementField?
    /// The subject resampled onto the template.
    public var warped: Image<Float>
    /// The subject's correlation with the template after registration.
    public var correlation: Double
    public var seconds: Double

    public init(affine: AffineMap, warp: DisplacementField?, warped: Image<Float>, correlation: Double, seconds: Double) {
        self.affine = affine
        self.warp = warp
        self.warped = warped
        self.correlation = correlation
        self.seconds = seconds
    }

    init(_ result: RegistrationResult) {
        self.init(affine: result.affine, warp: result.deformable?.forward, warped: result.warped,
                  correlation: result.summary.correlationAfter, seconds: result.seconds)
    }

    /// Template points to subject points, in ANTs order (the warp first, then the affine).
    var chain: TransformChain { Self.chain(warp: warp, affine: affine) }

    static func chain(warp: DisplacementField?, affine: AffineMap) -> TransformChain {
        TransformChain((warp.map { [.displacement($0)] } ?? []) + [.affine(affine)], names: warp == nil ? ["affine"] : ["warp", "affine"])
    }

    /// Registers `image` (moving) to `template` (fixed) with `plan`.
    static func register(_ image: Image<Float>, to template: Image<Float>, plan: RegistrationPlan) throws -> TemplateRegistration {
        TemplateRegistration(try Registration(plan).run(fixed: template, moving: image))
    }
}

/// One subject's transforms from the final template to it, in ANTs order (the warp first, then
/// the affine), and the subject (and its labels) carried onto the template.
public struct TemplateSubject: Sendable {
    public var affine: AffineMap
    public var warp: DisplacementField?
    public var warped: Image<Float>
    public var warpedLabels: Image<Int32>?
    public var chain: TransformChain { TemplateRegistration.chain(warp: warp, affine: affine) }
}

/// Unbiased groupwise template construction (Avants et al. 2010), as ANTs'
/// `antsMultivariateTemplateConstruction2.sh` does it: the initial template is the average of the
/// subjects aligned (affinely) to the first, with the mean non-rigid part of those affines undone;
/// each round registers every subject to the template, averages the warped subjects, and moves
/// the average by the mean forward warp scaled by −gradient step and composed four times, and by
/// the inverse of the mean non-rigid affine, so the template drifts toward the cohort's mean shape
/// and favours no subject.
///
/// ```swift
/// var settings = TemplateSettings()
/// settings.iterations = 3
/// let result = try TemplateConstruction.build(subjects, settings: settings) { print($0) }
/// try ImageFile.write(result.template, to: "template.nii.gz")
/// ```
public enum TemplateConstruction {
    public struct Result: Sendable {
        public var template: Image<Float>
        /// The initial template, then each round's.
        public var templates: [Image<Float>]
        public var iterations: [TemplateIteration]
        public var subjects: [TemplateSubject]
        public var labels: Image<Int32>?
    }

    /// Builds the template of `images` (at least two), on the grid of `initial` or of the first
    /// image (the initial template is the images' affine average on it, either way); `labels`,
    /// one map per image, are carried along and fused each round.
    public static func build(_ images: [Image<Float>], labels: [Image<Int32>]? = nil, initial: Image<Float>? = nil,
                             settings: TemplateSettings, progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> Result {
        guard images.count >= 2 else { throw RegError.invalidArgument(name: "template", reason: "needs at least two images, found \(images.count)") }
        guard labels == nil || labels!.count == images.count else {
            throw RegError.invalidArgument(name: "--labels", reason: "give one label map per image: \(images.count) images, \(labels!.count) label maps")
        }
        guard settings.iterations >= 0, settings.gradientStep > 0, settings.gradientStep <= 1, (0...1).contains(settings.sharpen),
              settings.fineRounds.map({ $0 >= 1 }) ?? true else {
            throw RegError.invalidArgument(name: "template", reason: "iterations must be ≥ 0, the gradient step in (0, 1], the sharpening weight in [0, 1] and the fine rounds ≥ 1")
        }
        let start = Date()
        let reference = initial ?? images[0]
        progress("initial template: aligning \(images.count) images to \(initial == nil ? "the first" : "the initial template") ("
                 + settings.initialPlan.linear.map(\.model.rawValue).joined(separator: ", ") + ")")
        var round = try Round(template: reference, images: images, labels: labels, plan: settings.plan(forRound: 0), settings: settings, number: 0, progress: progress)
        var template = round.updated
        var templates = [template], iterations = [round.record(seconds: Date().timeIntervalSince(start))]
        progress(describe(iterations[0]))
        for k in stride(from: 1, through: settings.iterations, by: 1) {
            let roundStart = Date()
            round = try Round(template: template, images: images, labels: labels, plan: settings.plan(forRound: k), settings: settings, number: k, progress: progress)
            template = round.updated
            templates.append(template)
            iterations.append(round.record(seconds: Date().timeIntervalSince(roundStart)))
            progress(describe(iterations[k]))
        }
        return try finish(round, templates: templates, iterations: iterations, images: images, labels: labels, fusion: settings.fusion)
    }

    /// The result after the last round: each subject's transforms to the final template, and the
    /// carried labels fused on it.
    static func finish(_ round: Round, templates: [Image<Float>], iterations: [TemplateIteration], images: [Image<Float>],
                       labels: [Image<Int32>]?, fusion: LabelFusion) throws -> Result {
        let subjects = try round.subjectsOnUpdatedTemplate(images, labels: labels)
        var fused: Image<Int32>?
        if labels != nil {
            let carried = subjects.compactMap(\.warpedLabels)
            fused = try fusion.fuse(try AtlasStack(labels: carried, images: subjects.map(\.warped)), target: round.updated).labels
        }
        return Result(template: round.updated, templates: templates, iterations: iterations, subjects: subjects, labels: fused)
    }

    static func describe(_ r: TemplateIteration) -> String {
        String(format: "template %d: mean correlation %.4f, sharpness %.4g, shape update %.3f mm, affine update %.4f", r.iteration,
               r.meanCorrelation, r.sharpness, r.shapeUpdate, r.affineUpdate)
            + (r.meanLabelDice.map { String(format: ", label Dice %.4f", $0) } ?? "") + String(format: " (%.1f s)", r.seconds)
    }

    /// One round: every subject registered to `template`, the average, and the shape update.
    struct Round {
        let template: Image<Float>
        let results: [TemplateRegistration]
        let average: Image<Float>
        /// The map the average is resampled through to make the updated template (ANTs order).
        let update: TransformChain
        let updated: Image<Float>
        let shapeUpdate: Double, affineUpdate: Double
        let labelDice: [Double]?
        let number: Int

        /// Registers every image to `template` (`settings.registrationWorkers` at a time), then averages and updates.
        init(template: Image<Float>, images: [Image<Float>], labels: [Image<Int32>]?, plan: RegistrationPlan, settings: TemplateSettings,
             number: Int, progress: @escaping @Sendable (String) -> Void) throws {
            let workers = settings.registrationWorkers(grid: template.geometry)
            let results = try concurrentMap(count: images.count, workers: workers) { i in
                let result = try TemplateRegistration.register(images[i], to: template, plan: plan)
                progress(String(format: "template %d: subject %d/%d registered in %.1f s, correlation %.4f", number, i + 1, images.count,
                                result.seconds, result.correlation))
                return result
            }
            try self.init(template: template, registrations: results, images: images, labels: labels, settings: settings, number: number)
        }

        /// Averages the subjects registered to `template` and moves the average toward their mean shape.
        init(template: Image<Float>, registrations results: [TemplateRegistration], images: [Image<Float>], labels: [Image<Int32>]?,
             settings: TemplateSettings, number: Int) throws {
            self.template = template
            self.number = number
            self.results = results
            let grid = template.geometry
            let coverage = try zip(images, results).map { image, result in
                try Resampler.resample(Image<Float>(geometry: image.geometry, filledWith: 1), onto: grid,
                                       mapping: result.chain.mapping(onto: grid), interpolation: .linear)
            }
            average = try TemplateConstruction.average(results.map(\.warped), coverage: coverage, settings.average)
            let center = grid.physicalPoint(ofIndex: (SIMD3<Double>(grid.size) - 1) / 2)
            let stretch = results.map { TemplateConstruction.stretch(of: $0.affine.matrix) }.reduce(Matrix3.diagonal(.zero), +) * (1 / Double(results.count))
            affineUpdate = (stretch - .identity).rowMajor.map { $0 * $0 }.reduce(0, +).squareRoot()
            let meanAffine = AffineMap(matrix: stretch, translation: .zero, center: center)
            var elements: [TransformChain.Element] = []
            let foreground = template.foreground
            let warps = results.compactMap { $0.warp?.field }
            if warps.count == results.count {
                let step = TemplateConstruction.sum(warps, scale: Float(-settings.gradientStep / Double(warps.count)))
                var composed = step
                for _ in 1..<4 { composed = FieldKernels.compose(step, after: composed) }
                elements.append(.displacement(DisplacementField(composed)))
            }
            if let inverse = meanAffine.inverse { elements.append(.affine(inverse)) }
            let update = TransformChain(elements)
            self.update = update
            shapeUpdate = TemplateConstruction.rms(VectorField(sampling: grid) { update.map($0) }, inside: foreground)
            let moved = try Resampler.resample(average, onto: grid, mapping: update.mapping(onto: grid), interpolation: .linear)
            updated = number > 0 && settings.sharpen > 0 ? TemplateConstruction.blend(moved, LaplacianSharpening.sharpened(moved), weight: Float(settings.sharpen)) : moved
            if let labels {
                let carried = try zip(results, labels).map { result, map in
                    try Resampler.resample(map, onto: grid, mapping: result.chain.mapping(onto: grid), interpolation: .label)
                }
                let fused = try settings.fusion.fuse(try AtlasStack(labels: carried, images: results.map(\.warped)), target: average).labels
                labelDice = try carried.map { try LabelEvaluation(reference: fused, test: $0, distances: false).meanDice }
            } else {
                labelDice = nil
            }
        }

        func record(seconds: Double) -> TemplateIteration {
            let correlations = results.map(\.correlation)
            return TemplateIteration(iteration: number, correlations: correlations, meanCorrelation: correlations.reduce(0, +) / Double(correlations.count),
                                     sharpness: TemplateConstruction.sharpness(updated), shapeUpdate: shapeUpdate, affineUpdate: affineUpdate,
                                     labelDice: labelDice, meanLabelDice: labelDice.map { $0.reduce(0, +) / Double($0.count) }, seconds: seconds)
        }

        /// Each subject's transforms from the updated template (the update's map, then this
        /// round's registration), its image and labels carried onto it.
        func subjectsOnUpdatedTemplate(_ images: [Image<Float>], labels: [Image<Int32>]?) throws -> [TemplateSubject] {
            let grid = updated.geometry
            return try results.indices.map { i in
                let result = results[i]
                var subject: TemplateSubject
                if let forward = result.warp {
                    let warp = DisplacementField(VectorField(sampling: grid) { x in forward.map(update.map(x)) })
                    subject = TemplateSubject(affine: result.affine, warp: warp, warped: updated, warpedLabels: nil)
                } else {
                    let linear = update.composedAffine ?? .identity
                    subject = TemplateSubject(affine: linear.then(result.affine), warp: nil, warped: updated, warpedLabels: nil)
                }
                let mapping = subject.chain.mapping(onto: grid)
                subject.warped = try Resampler.resample(images[i], onto: grid, mapping: mapping, interpolation: .linear)
                subject.warpedLabels = try labels.map { try Resampler.resample($0[i], onto: grid, mapping: mapping, interpolation: .label) }
                return subject
            }
        }
    }

    /// `(1 − weight) · a + weight · b`, voxel by voxel.
    static func blend(_ a: Image<Float>, _ b: Image<Float>, weight: Float) -> Image<Float> {
        var out = a
        for v in out.voxels.indices { out.voxels[v] = (1 - weight) * a.voxels[v] + weight * b.voxels[v] }
        return out
    }

    /// `scale` times the sum of fields on one grid, summed in the same order at every voxel.
    static func sum(_ fields: [VectorField], scale: Float) -> VectorField {
        var out = VectorField(geometry: fields[0].geometry)
        let sources = fields.map(\.vectors)
        out.vectors.withUnsafeMutableBufferPointer { o in
            let target = UnsafeSendable(o.baseAddress!)
            parallelFor(count: o.count, chunkSize: 1 << 15) { range in
                for v in range {
                    var total: Float = 0
                    for f in sources { total += f[v] }
                    target.value[v] = scale * total
                }
            }
        }
        return out
    }

    /// The symmetric positive part `S` of `M = R S` (polar decomposition): the affine without its rotation.
    static func stretch(of m: Matrix3) -> Matrix3 {
        let (values, vectors) = (m.transposed * m).symmetricEigen()
        return vectors * Matrix3.diagonal(SIMD3(values.x.squareRoot(), values.y.squareRoot(), values.z.squareRoot())) * vectors.transposed
    }

    /// The voxel-wise mean or median of images on one grid, each voxel over the images whose
    /// domain covers it (`coverage`, 0–1: the mean is weighted by it, the median takes the images
    /// at least half inside), so the edge of a subject's field of view leaves no edge in the
    /// template. In parallel over slabs.
    static func average(_ images: [Image<Float>], coverage: [Image<Float>], _ kind: TemplateAverage) throws -> Image<Float> {
        let g = images[0].geometry, n = images.count, count = images[0].voxels.count
        var out = Image<Float>(geometry: g)
        let sources = images.map(\.voxels), weights = coverage.map(\.voxels)
        out.voxels.withUnsafeMutableBufferPointer { o in
            let target = UnsafeSendable(o.baseAddress!)
            parallelFor(count: count, chunkSize: 1 << 14) { range in
                var column = [Float](repeating: 0, count: n)
                for v in range {
                    switch kind {
                    case .mean:
                        var sum: Float = 0, weight: Float = 0
                        for k in 0..<n { sum += weights[k][v] * sources[k][v]; weight += weights[k][v] }
                        target.value[v] = weight > 1e-3 ? sum / weight : 0
                    case .median:
                        var m = 0
                        for k in 0..<n where weights[k][v] >= 0.5 { column[m] = sources[k][v]; m += 1 }
                        guard m > 0 else { target.value[v] = 0; continue }
                        column[0..<m].sort()
                        target.value[v] = m % 2 == 1 ? column[m / 2] : (column[m / 2 - 1] + column[m / 2]) / 2
                    }
                }
            }
        }
        return out
    }

    /// Root mean square of the field's vectors inside `mask` (all voxels when the mask is empty), mm.
    static func rms(_ field: VectorField, inside mask: Image<UInt8>) -> Double {
        var sum = 0.0, n = 0
        for v in 0..<mask.voxels.count where mask.voxels[v] != 0 {
            let x = Double(field.vectors[3 * v]), y = Double(field.vectors[3 * v + 1]), z = Double(field.vectors[3 * v + 2])
            sum += x * x + y * y + z * z
            n += 1
        }
        return n == 0 ? 0 : (sum / Double(n)).squareRoot()
    }

    /// Mean gradient magnitude (central differences in mm along the grid's axes) inside the
    /// image's foreground: higher is sharper.
    public static func sharpness(_ image: Image<Float>) -> Double {
        let g = image.geometry, s = g.size, mask = image.foreground
        var sum = 0.0, n = 0
        for z in 0..<s.z { for y in 0..<s.y { for x in 0..<s.x {
            let v = x + s.x * (y + s.y * z)
            guard mask.voxels[v] != 0 else { continue }
            func derivative(_ axis: Int, _ i: Int, _ size: Int, _ stride: Int) -> Double {
                guard size > 1 else { return 0 }
                let lo = i > 0 ? v - stride : v, hi = i < size - 1 ? v + stride : v
                return Double(image.voxels[hi] - image.voxels[lo]) / (Double(i > 0 && i < size - 1 ? 2 : 1) * g.spacing[axis])
            }
            let dx = derivative(0, x, s.x, 1), dy = derivative(1, y, s.y, s.x), dz = derivative(2, z, s.z, s.x * s.y)
            sum += (dx * dx + dy * dy + dz * dz).squareRoot()
            n += 1
        } } }
        return n == 0 ? 0 : sum / Double(n)
    }
}

extension RegistrationPlan {
    /// This plan with its last deformable stage's finest level left out (kept as it is when that
    /// stage has one level, or there is none).
    var withoutFinestDeformableLevel: RegistrationPlan {
        var coarser = self
        let last = deformableStages.count - 1
        switch deformable {
        case .syn(var stage) where stage.levels.count > 1:
            stage.dropFinestLevel()
            coarser.deformableStages[last] = .syn(stage)
        case .demons(var stage) where stage.levels.count > 1:
            stage.dropFinestLevel()
            coarser.deformableStages[last] = .demons(stage)
        case .bspline(var stage) where stage.levels.count > 1:
            stage.levels.removeLast()
            stage.gridSchedule.removeLast()
            coarser.deformableStages[last] = .bspline(stage)
        default: break
        }
        return coarser
    }
}

private extension DeformableStage {
    mutating func dropFinestLevel() {
        levels.removeLast()
        // `step` is the last level's step when `steps` is set, as a plan file reads it back.
        if steps != nil { steps!.removeLast(); step = steps!.last! }
    }
}
