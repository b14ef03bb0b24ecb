import Foundation
import RegAnalysis
import RegCore
import RegKernels

/// A labelled pair for validation during training: the images on one grid that fits the network
/// (planar slices for a 2-D model), with their label maps.
public struct ValidationPair: Sendable {
    public var fixed: Image<Float>, moving: Image<Float>
    public var fixedLabels: Image<Int32>, movingLabels: Image<Int32>

    public init(fixed: Image<Float>, moving: Image<Float>, fixedLabels: Image<Int32>, movingLabels: Image<Int32>) {
        (self.fixed, self.moving, self.fixedLabels, self.movingLabels) = (fixed, moving, fixedLabels, movingLabels)
    }
}

/// One point of the learning curve.
public struct TrainingRecord: Codable, Sendable {
    public var step: Int
    /// Mean training objective (and image term) over the steps since the previous record.
    public var trainingLoss: Double, trainingSimilarity: Double
    /// Mean objective and mean label Dice over the validation pairs.
    public var validationLoss: Double?, validationDice: Double?
    public var seconds: Double
}

/// The training loop: draws a pair, takes an Adam step, and every `validateEvery` steps records
/// the learning curve on the validation pairs and reports progress. Everything random comes
/// from `random`, so a run is repeated exactly from its seed — or resumed from a checkpoint that
/// stores the generator's state — and is bitwise identical for any thread count.
///
/// ```swift
/// var trainer = Trainer(network: net, optimizer: adam, sampler: sampler, objective: objective, seed: 1)
/// try trainer.run(until: 2000, validateEvery: 100) { record, _ in print(record.step, record.validationDice ?? 0) }
/// ```
public struct Trainer: Sendable {
    public var network: VoxelMorphNetwork
    public var optimizer: Adam
    public var sampler: PairSampler
    public var objective: TrainingObjective
    public var validation: [ValidationPair] = []
    /// Labels scored in validation (nil: every non-zero label present).
    public var validationLabels: [Int]?
    public var random: SplitMix64
    /// Label-map training (each drawn pair of label maps deformed and painted anew, SynthMorph) or
    /// supervised training on known warps. When nil, the drawn images are trained on as they are.
    public var synthesis: PairSynthesis?
    /// Semi-supervised training: the drawn images' labels, one-hot over these classes, enter the
    /// objective's Dice term (nil: the images are trained on without labels).
    public var classes: [Int32]?
    /// Each drawn moving image (label map) is first misaligned by a random affine map, so an
    /// affine network learns on pre-aligned data.
    public var misalignment: AffineMisalignment?

    public init(network: VoxelMorphNetwork, optimizer: Adam, sampler: PairSampler, objective: TrainingObjective, seed: UInt64) {
        (self.network, self.optimizer, self.sampler, self.objective) = (network, optimizer, sampler, objective)
        random = SplitMix64(seed: seed)
    }

    /// Steps taken so far (the optimiser's count, so a resumed run continues its numbering).
    public var step: Int { optimizer.step }

    /// Trains until `optimizer.step == steps`, calling `progress` after each step with the
    /// losses, and `record` with each new point of the learning curve and the trainer's state then
    /// (to checkpoint).
    public mutating func run(until steps: Int, validateEvery: Int, progress: (Int, StepLosses) -> Void = { _, _ in },
                             record: (TrainingRecord, Trainer) throws -> Void) throws {
        var sum = (total: 0.0, similarity: 0.0, count: 0)
        var start = Date()
        while step < steps {
            var (a, b) = sampler.next(using: &random)
            if let misalignment { b = try b.misaligned(by: misalignment, planar: network.architecture.dimension == 2, using: &random) }
            let pair = try synthesis.map { try $0.pair(fixed: a, moving: b, using: &random) }
                ?? TrainingPair(fixed: a.tensor, moving: b.tensor, fixedLabels: a.oneHot(classes ?? []), movingLabels: b.oneHot(classes ?? []))
            let losses = network.train(on: pair, objective: objective, optimizer: &optimizer)
            sum = (sum.total + Double(losses.total), sum.similarity + Double(losses.similarity), sum.count + 1)
            progress(step, losses)
            if step % validateEvery == 0 || step == steps {
                var entry = TrainingRecord(step: step, trainingLoss: sum.total / Double(sum.count),
                                           trainingSimilarity: sum.similarity / Double(sum.count),
                                           seconds: Date().timeIntervalSince(start))
                if !validation.isEmpty { (entry.validationLoss, entry.validationDice) = try validate() }
                try record(entry, self)
                sum = (0, 0, 0)
                start = Date()
            }
        }
    }

    /// Mean objective and mean Dice over the validation pairs.
    public func validate() throws -> (loss: Double, dice: Double) {
        let registration = NetworkRegistration(network: network)
        var loss = 0.0, dice = 0.0
        for pair in validation {
            let size = pair.fixed.geometry.size, padded = network.architecture.paddedSize(size)
            let f = NetworkImage(voxels: Array(pair.fixed.voxels), size: size, labels: Array(pair.fixedLabels.voxels)).padded(to: padded)
            let m = NetworkImage(voxels: Array(pair.moving.voxels), size: size, labels: Array(pair.movingLabels.voxels)).padded(to: padded)
            // The objective's label term, when it has one, scores the classes training uses.
            let classes = synthesis?.classes ?? self.classes ?? []
            let item = TrainingPair(fixed: f.tensor, moving: m.tensor, fixedLabels: f.oneHot(classes), movingLabels: m.oneHot(classes))
            // One forward pass gives both the objective and the field the labels are warped by.
            let tape = Tape()
            let fixed = tape.constant(item.fixed)
            let out = network.forward(on: tape, fixed: fixed, moving: tape.constant(item.moving))
            loss += Double(objective.record(on: tape, output: out, fixed: fixed, pair: item).terms.total)
            let field = registration.physical(tape.tensor(out.displacement), on: pair.fixed.geometry)
            let warped = try Resampler.resample(pair.movingLabels, onto: pair.fixed.geometry, mapping: PointMapping(displacement: field),
                                                interpolation: .nearest)
            dice += try LabelEvaluation(reference: pair.fixedLabels, test: warped, labels: validationLabels, distances: false).meanDice
        }
        return (loss / Double(validation.count), dice / Double(validation.count))
    }
}
