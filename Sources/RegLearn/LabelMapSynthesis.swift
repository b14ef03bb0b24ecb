import RegCore
import RegKernels
import RegSynth
import RegTransforms

/// SynthMorph-style training pairs from label maps (Hoffmann et al. 2022): each label map of a
/// drawn pair is deformed by its own random smooth diffeomorphism, then painted with a random
/// contrast (a random intensity per label, noise, blur, bias), so the network never sees the same
/// contrast twice and learns to align anatomy, not intensities. The loss compares the warped
/// moving labels with the fixed labels (soft Dice on the one-hot `classes`).
///
/// ```swift
/// let synthesis = LabelMapSynthesis(classes: [2, 3, 4, 41, 42, 43])
/// let pair = try synthesis.pair(fixed: mapA, moving: mapB, using: &rng)
/// ```
public struct LabelMapSynthesis: Sendable, Codable, Equatable {
    /// Labels with a one-hot channel in the Dice term; other labels still paint the images.
    public var classes: [Int32]
    /// Largest standard deviation of the velocity's control values, in voxels; each map draws its
    /// own in [0, this].
    public var velocityScale: Double
    /// Spacing of the velocity's B-spline control points, in voxels.
    public var controlSpacing: Double
    public var contrast: ContrastSynthesis
    /// Paint both images of a pair with one random contrast (a new one each step; noise, blur and
    /// bias still differ), so an image similarity term applies too. False: each image its own contrast.
    public var sameContrast: Bool

    public init(classes: [Int32], velocityScale: Double = 3, controlSpacing: Double = 16, contrast: ContrastSynthesis = ContrastSynthesis(),
                sameContrast: Bool = false) {
        (self.classes, self.velocityScale, self.controlSpacing, self.contrast) = (classes, velocityScale, controlSpacing, contrast)
        self.sameContrast = sameContrast
    }

    /// A pair of freshly deformed and painted images, with their one-hot labels.
    public func pair(fixed: NetworkImage, moving: NetworkImage, using rng: inout SplitMix64) throws -> TrainingPair {
        var painter = contrast
        if sameContrast {
            let labels = Set((fixed.labels ?? []) + (moving.labels ?? [])).sorted()
            let range = contrast.meanRange
            painter.means = Dictionary(uniqueKeysWithValues: labels.map { ($0, range.lowerBound + rng.nextUnit() * (range.upperBound - range.lowerBound)) })
        }
        let f = try synthesize(fixed, painter: painter, using: &rng), m = try synthesize(moving, painter: painter, using: &rng)
        return TrainingPair(fixed: f.tensor, moving: m.tensor, fixedLabels: f.oneHot(classes), movingLabels: m.oneHot(classes))
    }

    /// One label map deformed and painted: the image, with the deformed labels.
    func synthesize(_ map: NetworkImage, painter: ContrastSynthesis, using rng: inout SplitMix64) throws -> NetworkImage {
        guard let labels = map.labels else { throw LearnError.invalidConfiguration("label-map training needs label maps") }
        let grid = try Geometry(size: map.size)
        let image = try Image<Int32>(geometry: grid, voxels: labels)
        let warp = try RandomWarp.velocity(on: grid, standardDeviation: velocityScale * rng.nextUnit(), controlSpacing: controlSpacing,
                                           using: &rng).exponential()
        let deformed = try Resampler.resample(image, onto: grid, mapping: PointMapping(displacement: warp.field), interpolation: .nearest)
        let painted = try painter.image(from: deformed, seed: rng.next())
        return NetworkImage(voxels: Array(painted.voxels), size: map.size, labels: Array(deformed.voxels))
    }
}

/// Supervised pairs with a known answer: the moving image is the fixed image deformed by a random
/// smooth diffeomorphism, and the network's displacement is compared with the true one
/// (the objective's `field` term).
///
/// ```swift
/// let pair = try KnownWarpSynthesis().pair(from: image, using: &rng)   // pair.trueDisplacement in voxels
/// ```
public struct KnownWarpSynthesis: Sendable, Codable, Equatable {
    /// Largest standard deviation of the velocity's control values, voxels; each pair draws its own in [0, this].
    public var velocityScale: Double
    /// Spacing of the velocity's B-spline control points, voxels.
    public var controlSpacing: Double

    public init(velocityScale: Double = 2, controlSpacing: Double = 16) {
        (self.velocityScale, self.controlSpacing) = (velocityScale, controlSpacing)
    }

    /// The image, its deformed copy and the displacement u with moving(p + u(p)) = fixed(p).
    public func pair(from image: NetworkImage, using rng: inout SplitMix64) throws -> TrainingPair {
        let grid = try Geometry(size: image.size)
        let v = try RandomWarp.velocity(on: grid, standardDeviation: velocityScale * rng.nextUnit(), controlSpacing: controlSpacing, using: &rng)
        let truth = v.exponential().field, back = v.negated.exponential().field
        let fixed = try Image<Float>(geometry: grid, voxels: image.tensor.values)
        // moving = fixed ∘ (id + u)⁻¹, so that moving(p + u(p)) = fixed(p).
        let moving = try Resampler.resample(fixed, onto: grid, mapping: PointMapping(displacement: back))
        let dim = grid.dimension, n = grid.voxelCount
        var u = Tensor(shape: image.tensor.shape.with(channels: dim))
        for p in 0..<n { for k in 0..<dim { u.values[k * n + p] = truth.vectors[3 * p + k] } }
        return TrainingPair(fixed: image.tensor, moving: Tensor(shape: image.tensor.shape, values: Array(moving.voxels)), trueDisplacement: u)
    }
}

/// How the trainer turns drawn images into the pair it trains on.
public enum PairSynthesis: Sendable, Codable, Equatable {
    /// SynthMorph-style: deform and paint two label maps.
    case labelMaps(LabelMapSynthesis)
    /// Supervised: deform one image by a known random warp.
    case knownWarps(KnownWarpSynthesis)

    /// The labels of the Dice term (label-map training), empty otherwise.
    var classes: [Int32] {
        if case .labelMaps(let s) = self { return s.classes }
        return []
    }

    func pair(fixed: NetworkImage, moving: NetworkImage, using rng: inout SplitMix64) throws -> TrainingPair {
        switch self {
        case .labelMaps(let s): return try s.pair(fixed: fixed, moving: moving, using: &rng)
        case .knownWarps(let s): return try s.pair(from: fixed, using: &rng)
        }
    }
}
