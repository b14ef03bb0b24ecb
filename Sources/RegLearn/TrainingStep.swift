/// The training objective: an image similarity between the fixed and the warped moving image,
/// plus λ·‖∇u‖², plus optional terms for labels (semi-supervised) and known fields (supervised).
///
/// ```swift
/// let objective = TrainingObjective(similarity: .localCorrelation, smoothness: 1)
/// ```
public struct TrainingObjective: Codable, Hashable, Sendable {
    public enum Similarity: String, Codable, Sendable {
        /// VoxelMorph's local NCC (mono-modal).
        case localCorrelation = "ncc"
        case meanSquares = "mse"
        /// Parzen-window mutual information, 32 bins (multi-modal; intensities in [0, 1]).
        case mutualInformation = "mi"
        /// No image term: supervised or label-only training.
        case none
    }

    public var similarity: Similarity = .localCorrelation
    /// Window side of the local NCC.
    public var window: Int = 9
    /// λ on the diffusion regulariser.
    public var smoothness: Float = 1
    /// Weight of the soft-Dice term on warped label maps (semi-supervised, label-map training).
    public var dice: Float = 0
    /// Weight of the mean squared error to the true displacement (supervised).
    public var field: Float = 0
    /// Weight of the image similarity after the affine network's map alone (with an affine network),
    /// which gives the affine stage its own signal while both stages train together.
    public var affine: Float = 0

    public init(similarity: Similarity = .localCorrelation, window: Int = 9, smoothness: Float = 1, dice: Float = 0, field: Float = 0,
                affine: Float = 0) {
        (self.similarity, self.window, self.smoothness, self.dice, self.field) = (similarity, window, smoothness, dice, field)
        self.affine = affine
    }

    enum CodingKeys: String, CodingKey { case similarity, window, smoothness, dice, field, affine }

    /// Keys left out of a configuration keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingObjective()
        similarity = try c.decodeIfPresent(Similarity.self, forKey: .similarity) ?? d.similarity
        window = try c.decodeIfPresent(Int.self, forKey: .window) ?? d.window
        smoothness = try c.decodeIfPresent(Float.self, forKey: .smoothness) ?? d.smoothness
        dice = try c.decodeIfPresent(Float.self, forKey: .dice) ?? d.dice
        field = try c.decodeIfPresent(Float.self, forKey: .field) ?? d.field
        affine = try c.decodeIfPresent(Float.self, forKey: .affine) ?? d.affine
    }

    /// `affine` is written only when used, so configurations recorded before it keep their text.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(similarity, forKey: .similarity)
        try c.encode(window, forKey: .window)
        try c.encode(smoothness, forKey: .smoothness)
        try c.encode(dice, forKey: .dice)
        try c.encode(field, forKey: .field)
        if affine != 0 { try c.encode(affine, forKey: .affine) }
    }

    /// The image term between `fixed` and `warped`, or nil without one.
    func similarityLoss(on tape: Tape, _ fixed: Variable, _ warped: Variable) -> Variable? {
        switch similarity {
        case .localCorrelation: return tape.localCorrelationLoss(fixed, warped, window: window)
        case .meanSquares: return tape.meanSquaredError(fixed, warped)
        case .mutualInformation: return tape.mutualInformationLoss(fixed, warped)
        case .none: return nil
        }
    }
}

/// One training pair on a common grid: images N×1×grid, optional one-hot labels N×L×grid and a
/// known displacement (voxels) N×dim×grid.
public struct TrainingPair: Sendable {
    public var fixed: Tensor, moving: Tensor
    public var fixedLabels: Tensor?, movingLabels: Tensor?
    public var trueDisplacement: Tensor?

    public init(fixed: Tensor, moving: Tensor, fixedLabels: Tensor? = nil, movingLabels: Tensor? = nil, trueDisplacement: Tensor? = nil) {
        (self.fixed, self.moving, self.fixedLabels, self.movingLabels, self.trueDisplacement) =
            (fixed, moving, fixedLabels, movingLabels, trueDisplacement)
    }
}

/// The terms of the objective at one step.
public struct StepLosses: Codable, Sendable {
    public var total: Float, similarity: Float, smoothness: Float, dice: Float, field: Float
}

extension TrainingObjective {
    /// Records the objective on `tape` for the network's output on `pair`; returns the total and its terms.
    func record(on tape: Tape, output: VoxelMorphNetwork.Output, fixed: Variable, pair: TrainingPair)
        -> (total: Variable, terms: StepLosses) {
        var terms: [(Variable, Float)] = []
        var values = StepLosses(total: 0, similarity: 0, smoothness: 0, dice: 0, field: 0)
        if let s = similarityLoss(on: tape, fixed, output.warped) {
            values.similarity = tape.scalar(s)
            terms.append((s, 1))
        }
        if affine > 0, let stage = output.affine, let s = similarityLoss(on: tape, fixed, stage.warped) { terms.append((s, affine)) }
        if smoothness > 0 {
            let d = tape.diffusionLoss(output.velocity ?? output.displacement)
            values.smoothness = tape.scalar(d)
            terms.append((d, smoothness))
        }
        if dice > 0, let fl = pair.fixedLabels, let ml = pair.movingLabels {
            let d = tape.softDiceLoss(tape.constant(fl), tape.warp(tape.constant(ml), by: output.displacement))
            values.dice = tape.scalar(d)
            terms.append((d, dice))
        }
        if field > 0, let truth = pair.trueDisplacement {
            let d = tape.meanSquaredError(output.displacement, tape.constant(truth))
            values.field = tape.scalar(d)
            terms.append((d, field))
        }
        // No applicable term (validating a supervised objective without true fields): zero.
        guard !terms.isEmpty else { return (tape.constant(Tensor(shape: TensorShape(channels: 1, height: 1, width: 1))), values) }
        var total = tape.scaled(terms[0].0, by: terms[0].1)
        for (t, w) in terms.dropFirst() { total = tape.add(total, tape.scaled(t, by: w)) }
        values.total = tape.scalar(total)
        return (total, values)
    }
}

extension VoxelMorphNetwork {
    /// Forward, backward and one Adam update on a pair; returns the objective's terms before the update.
    ///
    /// ```swift
    /// var adam = Adam(learningRate: 1e-4, shapes: net.weights.map(\.shape))
    /// let losses = net.train(on: pair, objective: objective, optimizer: &adam)
    /// ```
    public mutating func train(on pair: TrainingPair, objective: TrainingObjective, optimizer: inout Adam) -> StepLosses {
        let tape = Tape()
        let p = parameters(on: tape)
        let fixed = tape.constant(pair.fixed)
        let out = forward(on: tape, fixed: fixed, moving: tape.constant(pair.moving), parameters: p)
        let (total, terms) = objective.record(on: tape, output: out, fixed: fixed, pair: pair)
        tape.backward(from: total)
        optimizer.update(&weights, gradients: p.map { tape.gradient($0) })
        return terms
    }

    /// The objective's terms on a pair without training (validation).
    public func evaluate(on pair: TrainingPair, objective: TrainingObjective) -> StepLosses {
        let tape = Tape()
        let fixed = tape.constant(pair.fixed)
        let out = forward(on: tape, fixed: fixed, moving: tape.constant(pair.moving))
        return objective.record(on: tape, output: out, fixed: fixed, pair: pair).terms
    }
}
