import Foundation
import RegAnalysis
import RegCore
import RegKernels
import RegLearn
import RegMethods
import RegTransforms

/// The protocol of `swiftreg bench-learn`: on planes of a labelled volume pair, a 2-D network
/// against no registration, the network refined by SyN, and classical SyN (or the whole `syn`
/// preset on misaligned planes); mean label Dice, its gain, the share of the classical gain,
/// folding and time per plane.
///
/// ```swift
/// let rows = try LearnedComparison(refine: 50, bothDirections: true)
///     .score(network, fixed, fixedLabels, moving, movingLabels, planes: [24, 120, 4], labels: nil, baseline: "none", contrast: nil, misalignment: nil)
/// ```
public struct LearnedComparison: Sendable {
    /// SyN iterations refining the network's field (0: no refined row).
    public var refine: Int
    /// Also register fixed to moving.
    public var bothDirections: Bool
    /// Include the classical row.
    public var classical: Bool
    /// Seed of the misalignments.
    public var seed: UInt64

    public init(refine: Int = 30, bothDirections: Bool = false, classical: Bool = true, seed: UInt64 = 1) {
        self.refine = refine
        self.bothDirections = bothDirections
        self.classical = classical
        self.seed = seed
    }

    /// One method's scores, averaged over the planes.
    public struct Row: Codable, Sendable {
        public var method: String
        public var contrast: String?
        public var meanDice: Double, gain: Double
        /// Gain as a fraction of the classical method's gain.
        public var shareOfClassicalGain: Double?
        public var foldedPercent: Double, maxFoldedPercent: Double
        public var secondsPerPlane: Double
    }

    /// Scores every method on planes `planes` (FIRST, END, STEP) of one volume pair.
    public func score(_ network: VoxelMorphNetwork, _ f: Image<Float>, _ fl: Image<Int32>, _ m: Image<Float>, _ ml: Image<Int32>,
               planes parts: [Int], labels wanted: [Int]?, baseline: String, contrast: String?,
               misalignment: AffineMisalignment?) throws -> [Row] {
        let planes = Array(stride(from: parts[0], to: min(parts[1], f.geometry.size.z), by: parts[2]))
        var directions = [(f, fl, m, ml)]
        if bothDirections { directions.append((m, ml, f, fl)) }
        let refined = "network + SyN \(refine) it."
        let classicalName = misalignment == nil ? "SyN" : "syn preset (affine + SyN)"
        let methods = [baseline, "network"] + (refine > 0 ? [refined] : []) + (classical ? [classicalName] : [])
        var dice = [String: [Double]](), folded = [String: [Double]](), seconds = [String: Double]()
        let registration = NetworkRegistration(network: network)
        let syn = SyNRegistration(stage: .synLocalCorrelation)
        for (direction, (fixedVolume, fixedLabelVolume, movingVolume, movingLabelVolume)) in directions.enumerated() {
            for z in planes {
                var pair = ValidationPair(fixed: try fixedVolume.plane(z), moving: try movingVolume.plane(z),
                                          fixedLabels: try fixedLabelVolume.plane(z), movingLabels: try movingLabelVolume.plane(z))
                if let misalignment {
                    var rng = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(direction * 10_000 + z))
                    pair = try pair.misaligned(by: misalignment, planar: true, using: &rng)
                }
                let (fi, mi, flz, mlz) = (pair.fixed, pair.moving, pair.fixedLabels, pair.movingLabels)
                let mask = fi.foreground
                func record(_ method: String, _ field: VectorField?, _ time: Double, mapping given: PointMapping? = nil) throws {
                    let mapping = given ?? field.map { PointMapping(displacement: $0) } ?? .identity
                    let warped = try Resampler.resample(mlz, onto: fi.geometry, mapping: mapping, interpolation: .nearest)
                    dice[method, default: []].append(try LabelEvaluation(reference: flz, test: warped, labels: wanted, distances: false).meanDice)
                    let j = field.map { JacobianStatistics(determinant: FieldKernels.jacobianDeterminant(of: $0), mask: mask).foldedFraction } ?? 0
                    folded[method, default: []].append(100 * j)
                    seconds[method, default: 0] += time
                }
                try record(baseline, nil, 0)
                var t = Date()
                let predicted = try registration.register(fixed: fi, moving: mi)
                try record("network", predicted.forward, Date().timeIntervalSince(t))
                if refine > 0 {
                    t = Date()
                    let result = try SyNRegistration(stage: .refinement(iterations: refine))
                        .refine(fixed: fi, moving: mi, initial: predicted.forward, initialInverse: predicted.inverse)
                    try record(refined, result.forward.field, Date().timeIntervalSince(t))
                }
                if classical, misalignment == nil {
                    t = Date()
                    try record(classicalName, try syn.run(fixed: fi, moving: mi).forward.field, Date().timeIntervalSince(t))
                } else if classical {
                    t = Date()
                    let result = try Registration(RegistrationPlan.preset("syn")!).run(fixed: fi, moving: mi)
                    try record(classicalName, result.deformable?.forward.field, Date().timeIntervalSince(t),
                               mapping: result.chain.mapping(onto: fi.geometry))
                }
            }
        }
        let count = Double(planes.count * directions.count)
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let base = mean(dice[baseline]!)
        let classicalGain = dice[classicalName].map { mean($0) - base }
        return methods.map { method in
            Row(method: method, contrast: contrast, meanDice: mean(dice[method]!), gain: mean(dice[method]!) - base,
                shareOfClassicalGain: classicalGain.map { (mean(dice[method]!) - base) / $0 },
                foldedPercent: mean(folded[method]!), maxFoldedPercent: folded[method]!.max()!,
                secondsPerPlane: seconds[method]! / count)
        }
    }
}
