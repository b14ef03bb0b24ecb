import ArgumentParser
import Foundation
import RegCore
import RegSynth
import SwiftRegKit
import RegIO
import RegKernels
import RegLearn

/// What `swiftreg train --config FILE` reads (YAML or JSON). Paths are relative to the working directory.
struct TrainingConfiguration: Codable {
    /// `vm1` or `vm2`.
    var model: String = "vm1"
    /// 2: the network sees planes z of the volumes; 3: whole volumes.
    var dimension: Int
    var diffeomorphic: Bool?
    var cascades: Int?
    /// Features of an affine network's stride-2 convolutions, run before the U-Net and trained with it
    /// (e.g. [16, 32, 64, 64, 64]); none when absent.
    var affine: [Int]?
    /// Misalign every training moving image — and each validation pair's, by a fixed draw — by a
    /// random affine map {rotation (degrees), scale (relative), translation (voxels)}.
    var misalignment: AffineMisalignment?
    /// Training images (volumes on one grid, pre-aligned), or label maps with `labelMaps`.
    var images: [String]
    /// Semi-supervised training: a label map for each of `images`, read through its own header
    /// onto the image's grid; the labels in `classes` enter the objective's Dice term.
    var labels: [String]?
    /// SynthMorph-style training: `images` are label maps, aligned to the first by label
    /// centroids; each step deforms two of them and paints them with random contrasts, and the
    /// objective's Dice term compares the labels in `classes`.
    var labelMaps: Bool?
    /// Labels of the Dice term (label-map and semi-supervised training).
    var classes: [Int32]?
    /// Supervised training: each step deforms one training image by a random smooth diffeomorphism
    /// and the objective's `field` term compares the network's displacement with the true one.
    var knownWarps: Bool?
    /// Deformation (and contrast) of label-map or known-warp training (defaults: velocity scale 3
    /// (known warps: 2) voxels, control spacing 16 voxels).
    var synthesis: SynthesisSettings?
    /// Shrink every image (and validation image) by this factor first (3-D at half resolution: 2).
    var shrink: Int?
    var validation: [ValidationEntry]?
    /// Labels scored in validation (default: every non-zero label present).
    var validationLabels: [Int]?
    var objective: TrainingObjective?
    var steps: Int
    var learningRate: Float?
    var seed: UInt64?
    /// Steps between points of the learning curve (validation and checkpoint).
    var validateEvery: Int?
    /// The model file to write (safetensors); its learning curve goes beside it as `…_curve.json`.
    var output: String

    /// A labelled validation pair. For a 2-D model, the listed planes z are each one pair. In
    /// label-map training the images are painted from the labels with `contrast` (t1, t2, random,
    /// or FIXED:MOVING such as t1:t2) and `seed`.
    struct ValidationEntry: Codable {
        var fixed: String?
        var fixedLabels: String
        var moving: String?
        var movingLabels: String
        var slices: [Int]?
        var contrast: String?
        var seed: UInt64?
    }

    struct SynthesisSettings: Codable {
        var velocityScale: Double?, controlSpacing: Double?
        /// Paint both images of a pair with one random contrast, so an image term applies too.
        var sameContrast: Bool?
    }

    var architecture: NetworkArchitecture {
        get throws {
            var arch: NetworkArchitecture
            switch model {
            case "vm1": arch = .vm1(dimension: dimension, diffeomorphic: diffeomorphic ?? false)
            case "vm2": arch = .vm2(dimension: dimension, diffeomorphic: diffeomorphic ?? false)
            default: throw ValidationError("model must be vm1 or vm2, found '\(model)'")
            }
            arch.cascades = cascades ?? 1
            arch.affine = affine ?? []
            return arch
        }
    }
}

struct TrainCommand: ParsableCommand, WritesAsItGoes {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a VoxelMorph-style registration network (unsupervised: NCC, MSE or MI + λ‖∇u‖², optionally Dice on labels).",
        discussion: """
        The configuration (YAML or JSON; paths relative to the working directory) names the training \
        images, the model and the objective. Keys: model (vm1, vm2), dimension (2: planes z of the \
        volumes; 3), diffeomorphic, cascades, affine (features of an affine network run first, e.g. \
        [16, 32, 64, 64, 64]), images, shrink, objective {similarity: ncc|mse|mi|none, window, smoothness, \
        dice, field, affine (weight of the similarity after the affine stage)}, misalignment {rotation, \
        scale, translation} (random affine applied to every moving image, and by a fixed draw to each \
        validation pair), steps, learningRate, seed, validateEvery, output, \
        validation [{fixed, fixedLabels, moving, movingLabels, slices}], validationLabels. \
        Supervised training on known random warps: knownWarps: true with objective {similarity: none, \
        field: 1}. Label-map training (SynthMorph-style): labelMaps: true, classes (labels of the Dice term), \
        synthesis {velocityScale, controlSpacing, sameContrast}, and validation entries with \
        fixedLabels, movingLabels, contrast (t1, t2, random, or t1:t2) and seed. Semi-supervised \
        training: labels (a label map per image), classes and objective {dice}.
        Every validateEvery steps the learning curve gains a point (training loss, validation loss and \
        label Dice; OUTPUT_curve.json) and the model is saved with its optimiser and random state, so \
        --resume continues the run exactly. Results do not depend on --threads.
        Example config (2-D):
          model: vm1
          dimension: 2
          diffeomorphic: true
          images: [../shared/data/brain/clapirn/image_A_fullsize.nii.gz, ../shared/data/brain/symnet/image_A_full_size.nii.gz]
          objective: {similarity: ncc, window: 9, smoothness: 0.5}
          steps: 6000
          learningRate: 0.001
          seed: 1
          validateEvery: 500
          output: out/vm1-2d.safetensors
        Example: swiftreg train --config models/vm1-diff-2d-oasis.yaml --threads 2
        """)

    @OptionGroup var common: CommonOptions
    @Option(help: "The training configuration (YAML or JSON).") var config: String
    @Flag(help: "Continue from the output model's checkpoint (its optimiser state and random state).") var resume = false
    @Flag(help: "Print only the learning curve, no progress line.") var quiet = false

    func run() throws {
        try common.apply()
        let settings = try PlanFile.read(TrainingConfiguration.self, from: config)
        guard settings.steps > 0, (settings.validateEvery ?? 100) > 0 else {
            throw ValidationError("\(config): steps and validateEvery must be positive")
        }
        try OutputFolder.check(for: settings.output)
        let arch = try settings.architecture
        let objective = settings.objective ?? TrainingObjective()
        if settings.labels != nil {
            guard settings.labelMaps != true, settings.knownWarps != true else {
                throw ValidationError("\(config): labels are for semi-supervised training on images, not with labelMaps or knownWarps")
            }
            guard settings.labels?.count == settings.images.count else {
                throw ValidationError("\(config): labels must name one label map per image (\(settings.images.count)), found \(settings.labels?.count ?? 0)")
            }
            guard let classes = settings.classes, !classes.isEmpty, objective.dice > 0 else {
                throw ValidationError("\(config): semi-supervised training needs classes and objective.dice > 0")
            }
        }
        let shrink = settings.shrink ?? 1
        let (images, validation) = try Self.data(settings, shrink: shrink)
        let sampler = try PairSampler(images: images, planar: settings.dimension == 2)
        let multiple = arch.sizeMultiple
        let grid = settings.dimension == 2 ? SIMD3(images[0].size.x, images[0].size.y, 1) : images[0].size
        guard grid.x % multiple == 0, grid.y % multiple == 0, settings.dimension == 2 || grid.z % multiple == 0 else {
            throw ValidationError("\(config): the training grid \(grid.x)×\(grid.y)×\(grid.z) must be a multiple of \(multiple) along each axis the network sees")
        }
        guard objective.similarity != .none || ((settings.labelMaps == true || settings.labels != nil) && objective.dice > 0)
                || (settings.knownWarps == true && objective.field > 0) else {
            throw ValidationError("\(config): the objective has no term to train on (an image similarity, dice with labelMaps or labels, or field with knownWarps)")
        }
        let seed = settings.seed ?? 1
        var trainer: Trainer
        if resume, FileManager.default.fileExists(atPath: settings.output) {
            let saved = try ModelCheckpoint(decoding: try BinaryFile.read(settings.output), path: settings.output)
            guard saved.network.architecture == arch, let adam = saved.optimizer, let state = saved.randomState else {
                throw ValidationError("\(settings.output): cannot resume: the architecture differs or the optimiser state is missing")
            }
            trainer = Trainer(network: saved.network, optimizer: adam, sampler: sampler, objective: objective, seed: seed)
            trainer.random.state = state
            Self.say("resuming at step \(adam.step)")
        } else {
            let net = try VoxelMorphNetwork(architecture: arch, seed: seed)
            trainer = Trainer(network: net, optimizer: Adam(learningRate: settings.learningRate ?? 1e-4, shapes: net.weights.map(\.shape)),
                              sampler: sampler, objective: objective, seed: seed)
        }
        trainer.misalignment = settings.misalignment
        trainer.validation = try validation.enumerated().map { k, pair in
            guard let misalignment = settings.misalignment else { return pair }
            var rng = SplitMix64(seed: seed &+ 0x5EED &* UInt64(k + 1))
            return try pair.misaligned(by: misalignment, planar: settings.dimension == 2, using: &rng)
        }
        trainer.validationLabels = settings.validationLabels
        if settings.labels != nil { trainer.classes = settings.classes }
        if settings.labelMaps == true {
            guard let classes = settings.classes, !classes.isEmpty else { throw ValidationError("\(config): label-map training needs classes") }
            var synthesis = LabelMapSynthesis(classes: classes)
            if let v = settings.synthesis?.velocityScale { synthesis.velocityScale = v }
            if let c = settings.synthesis?.controlSpacing { synthesis.controlSpacing = c }
            synthesis.sameContrast = settings.synthesis?.sameContrast ?? false
            trainer.synthesis = .labelMaps(synthesis)
        } else if settings.knownWarps == true {
            var synthesis = KnownWarpSynthesis()
            if let v = settings.synthesis?.velocityScale { synthesis.velocityScale = v }
            if let c = settings.synthesis?.controlSpacing { synthesis.controlSpacing = c }
            trainer.synthesis = .knownWarps(synthesis)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys   // the same configuration always gives the same bytes
        let record = String(decoding: try encoder.encode(settings), as: UTF8.self)
        let curvePath = Self.curvePath(settings.output)
        var curve = resume ? ((try? JSONDecoder().decode([TrainingRecord].self, from: Data(contentsOf: URL(fileURLWithPath: curvePath)))) ?? []) : []
        Self.say("training \(settings.model)\(arch.diffeomorphic ? " (diffeomorphic)" : "") \(settings.dimension)-D on \(images.count) images, "
              + "\(settings.dimension == 2 ? "\(sampler.planes.count) planes each, " : "")grid \(grid.x)×\(grid.y)×\(grid.z), "
              + "\(trainer.network.weightCount) weights, \(trainer.validation.count) validation pairs, \(Parallelism.threadCount) thread(s)")
        let start = Date()
        let first = trainer.step
        var shown = Date.distantPast
        try trainer.run(until: settings.steps, validateEvery: settings.validateEvery ?? 100, progress: { step, losses in
            guard !quiet, Date().timeIntervalSince(shown) > 0.5 else { return }
            shown = Date()
            let rate = Double(step - first) / max(Date().timeIntervalSince(start), 1e-9)
            let eta = Double(settings.steps - step) / max(rate, 1e-9)
            FileHandle.standardError.write(Data(String(format: "\rstep %d/%d  loss %.4f (similarity %.4f, smoothness %.4f)  %.1f steps/s  ETA %@   ",
                                                         step, settings.steps, losses.total, losses.similarity, losses.smoothness,
                                                         rate, Self.duration(eta)).utf8))
        }) { entry, state in
            if !quiet { FileHandle.standardError.write(Data("\r".utf8)) }
            Self.say(String(format: "step %6d  training loss %.4f  similarity %.4f", entry.step, entry.trainingLoss, entry.trainingSimilarity)
                     + (entry.validationLoss.map { String(format: "  validation loss %.4f", $0) } ?? "")
                     + (entry.validationDice.map { String(format: "  Dice %.4f", $0) } ?? "")
                     + String(format: "  (%.1f s)", entry.seconds))
            curve.append(entry)
            let checkpoint = ModelCheckpoint(network: state.network, optimizer: state.optimizer, training: record,
                                             randomState: state.random.state)
            try BinaryFile.write(checkpoint.encoded(), to: settings.output)
            try TextFile.write(try JSONText.encode(curve), to: curvePath)
        }
        Self.say(String(format: "trained %d steps in %@; model: %@, learning curve: %@", settings.steps - first,
                        Self.duration(Date().timeIntervalSince(start)), settings.output, curvePath))
    }

    /// A line on standard output, unbuffered, so the learning curve shows as it grows, also in a log file.
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func curvePath(_ model: String) -> String {
        (model.hasSuffix(".safetensors") ? String(model.dropLast(".safetensors".count)) : model) + "_curve.json"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60) min \(s % 60) s" : "\(s) s"
    }

    /// The training images and the validation pairs the configuration names.
    static func data(_ settings: TrainingConfiguration, shrink: Int) throws -> ([NetworkImage], [ValidationPair]) {
        guard settings.labelMaps == true else {
            let images = try settings.images.enumerated().map { k, path in
                let v = try LearningData.load(path, shrink: shrink)
                let labels = try settings.labels.map { try LearningData.labels($0[k], onto: v).voxels }
                return NetworkImage(voxels: Array(v.voxels), size: v.geometry.size, labels: labels.map(Array.init))
            }
            let validation = try (settings.validation ?? []).flatMap { entry -> [ValidationPair] in
                guard let fixedPath = entry.fixed, let movingPath = entry.moving else {
                    throw ValidationError("validation entries need fixed and moving images (painting from labels is for label-map training)")
                }
                let fixed = try LearningData.load(fixedPath, shrink: shrink), moving = try LearningData.load(movingPath, shrink: shrink)
                return try ValidationPair.pairs(fixed: fixed, moving: moving, fixedLabels: LearningData.labels(entry.fixedLabels, onto: fixed),
                                              movingLabels: LearningData.labels(entry.movingLabels, onto: moving),
                                              dimension: settings.dimension, slices: entry.slices)
            }
            return (images, validation)
        }
        let maps = try LearningData.alignedLabelMaps(settings.images, shrink: shrink)
        let images = maps.map { NetworkImage(voxels: $0.voxels.map(Float.init), size: $0.geometry.size, labels: Array($0.voxels)) }
        let validation = try (settings.validation ?? []).flatMap { entry -> [ValidationPair] in
            let pair = try LearningData.alignedLabelMaps([entry.fixedLabels, entry.movingLabels], shrink: shrink, reference: maps[0])
            let contrast = LearningData.contrastPair(entry.contrast ?? "random"), seed = entry.seed ?? 1
            return try ValidationPair.pairs(fixed: ContrastSynthesis.painted(pair[0], contrast: contrast.fixed, seed: seed, instance: 0),
                                          moving: ContrastSynthesis.painted(pair[1], contrast: contrast.moving, seed: seed, instance: 1),
                                          fixedLabels: pair[0], movingLabels: pair[1], dimension: settings.dimension, slices: entry.slices)
        }
        return (images, validation)
    }
}
