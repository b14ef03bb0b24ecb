import ArgumentParser
import Foundation
import RegCore
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
    /// Training images (volumes on one grid, pre-aligned).
    var images: [String]
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

    /// A labelled validation pair. For a 2-D model, the listed planes z are each one pair.
    struct ValidationEntry: Codable {
        var fixed: String, fixedLabels: String, moving: String, movingLabels: String
        var slices: [Int]?
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
            return arch
        }
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a VoxelMorph-style registration network (unsupervised: NCC or MSE + λ‖∇u‖², optionally Dice on labels).",
        discussion: """
        The configuration (YAML or JSON) names the training images, the model (vm1, vm2; diffeomorphic; \
        cascades), the objective, the number of steps, the learning rate, the seed and the output file. \
        Every validateEvery steps the learning curve gains a point (training loss, validation loss and \
        label Dice) and the model is saved with its optimiser state, so --resume continues the run \
        exactly. Results do not depend on --threads.
        Example config (2-D, from the repository root):
          model: vm1
          dimension: 2
          images: [../shared/data/brain/clapirn/image_A_fullsize.nii.gz, ../shared/data/brain/symnet/image_A_full_size.nii.gz]
          objective: {similarity: ncc, window: 9, smoothness: 1}
          steps: 2000
          learningRate: 0.0001
          seed: 1
          validateEvery: 100
          output: out/vm1-2d.safetensors
        Example: swiftreg train --config models/vm1-2d-oasis.yaml --threads 2
        """)

    @OptionGroup var common: CommonOptions
    @Option(help: "The training configuration (YAML or JSON).") var config: String
    @Flag(help: "Continue from the output model's checkpoint (its optimiser state and random state).") var resume = false
    @Flag(help: "Print only the learning curve, no progress line.") var quiet = false

    func run() throws {
        try common.apply()
        let settings = try PlanFile.read(TrainingConfiguration.self, from: config)
        guard settings.steps > 0 else { throw ValidationError("\(config): steps must be positive") }
        let arch = try settings.architecture
        let shrink = settings.shrink ?? 1
        let volumes = try settings.images.map { try Self.load($0, shrink: shrink) }
        let images = volumes.map { NetworkImage(voxels: $0.voxels, size: $0.geometry.size) }
        let sampler = try PairSampler(images: images, planar: settings.dimension == 2)
        let multiple = arch.sizeMultiple
        let grid = settings.dimension == 2 ? SIMD3(images[0].size.x, images[0].size.y, 1) : images[0].size
        guard grid.x % multiple == 0, grid.y % multiple == 0, settings.dimension == 2 || grid.z % multiple == 0 else {
            throw ValidationError("\(config): the training grid \(grid.x)×\(grid.y)×\(grid.z) must be a multiple of \(multiple) along each axis the network sees")
        }
        let objective = settings.objective ?? TrainingObjective()
        let seed = settings.seed ?? 1
        var trainer: Trainer
        if resume, FileManager.default.fileExists(atPath: settings.output) {
            let saved = try ModelCheckpoint(decoding: try BinaryFile.read(settings.output), path: settings.output)
            guard saved.network.architecture == arch, let adam = saved.optimizer, let state = saved.randomState else {
                throw ValidationError("\(settings.output): cannot resume: the architecture differs or the optimiser state is missing")
            }
            trainer = Trainer(network: saved.network, optimizer: adam, sampler: sampler, objective: objective, seed: seed)
            trainer.random.state = state
            print("resuming at step \(adam.step)")
        } else {
            let net = try VoxelMorphNetwork(architecture: arch, seed: seed)
            trainer = Trainer(network: net, optimizer: Adam(learningRate: settings.learningRate ?? 1e-4, shapes: net.weights.map(\.shape)),
                              sampler: sampler, objective: objective, seed: seed)
        }
        trainer.validation = try (settings.validation ?? []).flatMap { try Self.validationPairs($0, dimension: settings.dimension, shrink: shrink) }
        trainer.validationLabels = settings.validationLabels
        let record = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        let curvePath = Self.curvePath(settings.output)
        var curve = resume ? ((try? JSONDecoder().decode([TrainingRecord].self, from: Data(contentsOf: URL(fileURLWithPath: curvePath)))) ?? []) : []
        print("training \(settings.model)\(arch.diffeomorphic ? " (diffeomorphic)" : "") \(settings.dimension)-D on \(images.count) images, "
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
            // Unbuffered, so the learning curve shows as it grows, also in a log file.
            let line = String(format: "step %6d  training loss %.4f  similarity %.4f", entry.step, entry.trainingLoss, entry.trainingSimilarity)
                + (entry.validationLoss.map { String(format: "  validation loss %.4f", $0) } ?? "")
                + (entry.validationDice.map { String(format: "  Dice %.4f", $0) } ?? "")
                + String(format: "  (%.1f s)\n", entry.seconds)
            FileHandle.standardOutput.write(Data(line.utf8))
            curve.append(entry)
            let checkpoint = ModelCheckpoint(network: state.network, optimizer: state.optimizer, training: record,
                                             randomState: state.random.state)
            try BinaryFile.write(checkpoint.encoded(), to: settings.output)
            try TextFile.write(try JSONText.encode(curve), to: curvePath)
        }
        print(String(format: "trained %d steps in %@; model: %@, learning curve: %@", settings.steps - first,
                     Self.duration(Date().timeIntervalSince(start)), settings.output, curvePath))
    }

    static func curvePath(_ model: String) -> String {
        (model.hasSuffix(".safetensors") ? String(model.dropLast(".safetensors".count)) : model) + "_curve.json"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60) min \(s % 60) s" : "\(s) s"
    }

    /// An image as floats, shrunk by `shrink` (block means) when > 1.
    static func load(_ path: String, shrink: Int) throws -> Image<Float> {
        let image = try ImageFile.read(path).image.floatImage()
        guard shrink > 1 else { return image }
        let f = SIMD3(shrink, shrink, image.geometry.dimension == 2 ? 1 : shrink)
        return try Shrink.shrink(image, factors: f)
    }

    /// Labels carried onto `image`'s grid through their own header (nearest neighbour).
    static func labels(_ path: String, onto image: Image<Float>) throws -> Image<Int32> {
        let labels = try ImageFile.read(path).image.floatImage()
        let carried = try Resampler.resample(labels, onto: image.geometry, interpolation: .nearest)
        return try Image<Int32>(geometry: image.geometry, voxels: carried.voxels.map { Int32($0.rounded()) })
    }

    static func validationPairs(_ entry: TrainingConfiguration.ValidationEntry, dimension: Int, shrink: Int) throws -> [ValidationPair] {
        let fixed = try load(entry.fixed, shrink: shrink), moving = try load(entry.moving, shrink: shrink)
        guard fixed.geometry.size == moving.geometry.size else {
            throw ValidationError("validation pair \(entry.fixed), \(entry.moving): the images must share one grid")
        }
        let fl = try labels(entry.fixedLabels, onto: fixed), ml = try labels(entry.movingLabels, onto: moving)
        guard dimension == 2, fixed.geometry.dimension == 3 else {
            return [ValidationPair(fixed: fixed, moving: moving, fixedLabels: fl, movingLabels: ml)]
        }
        let slices = entry.slices ?? Array(stride(from: fixed.geometry.size.z / 4, to: 3 * fixed.geometry.size.z / 4, by: 8))
        return try slices.map { z in
            guard z >= 0, z < fixed.geometry.size.z else { throw ValidationError("validation slice \(z) is outside \(entry.fixed)") }
            return try ValidationPair(fixed: fixed.plane(z), moving: moving.plane(z), fixedLabels: fl.plane(z), movingLabels: ml.plane(z))
        }
    }
}
