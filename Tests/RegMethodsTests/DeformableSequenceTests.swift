import Foundation
import RegCore
import RegKernels
import RegMetrics
@testable import RegMethods
import RegTestSupport
import RegTransforms
import Testing

/// Plans of several deformable stages in sequence: each later stage registers the fixed image to
/// the moving image as the stages before left it, and the warps compose into one pair of fields.
@Suite struct DeformableSequenceTests {
    static let grid = DeformablePhantomTests.grid
    static var center: SIMD3<Double> { DeformablePhantomTests.center }
    static let fixed = DeformableCases.blob(on: grid, center: center, axes: SIMD3(9, 9, 9))
    static let moving = DeformableCases.blob(on: grid, center: center + SIMD3(1, -1, 0.5), axes: SIMD3(12, 8, 7))

    static func syn(_ metric: Metric, _ levels: [Level]) -> DeformableMethod {
        .syn(DeformableStage(metric: metric, levels: levels, step: 0.3, updateSigma: 2, totalSigma: 0.5))
    }

    static let coarse = [Level(shrink: 2, sigma: .voxels(1), iterations: 60)]
    static let fine = [Level(shrink: 1, sigma: .voxels(0), iterations: 40)]
    static let none = [Level(shrink: 1, sigma: .voxels(0), iterations: 0)]

    static func run(_ stages: [DeformableMethod]) throws -> RegistrationResult {
        var plan = RegistrationPlan(linear: [])
        plan.deformableStages = stages
        return try Registration(plan).run(fixed: fixed, moving: moving)
    }

    static func maxDifference(_ a: DisplacementField, _ b: DisplacementField) -> Float {
        zip(a.field.vectors, b.field.vectors).map { abs($0 - $1) }.max()!
    }

    /// A stage that does nothing, before or after, leaves the other stage's result as it was:
    /// the composition and the resampling between the stages add nothing.
    @Test func aStageOfNoIterationsChangesNothingBeforeOrAfter() throws {
        let alone = try Self.run([Self.syn(.meanSquares, Self.coarse)])
        let after = try Self.run([Self.syn(.meanSquares, Self.coarse), Self.syn(.meanSquares, Self.none)])
        let before = try Self.run([Self.syn(.meanSquares, Self.none), Self.syn(.meanSquares, Self.coarse)])
        #expect(alone.deformable!.forward.field.vectors.contains { $0 != 0 })
        for other in [after, before] {
            #expect(Self.maxDifference(other.deformable!.forward, alone.deformable!.forward) < 1e-4)
            #expect(Self.maxDifference(other.deformable!.inverse, alone.deformable!.inverse) < 1e-4)
        }
        #expect(after.deformable!.levels.map(\.stage) == [0, 1])
        #expect(alone.deformable!.levels.map(\.stage) == [nil])
    }

    /// Mutual information at the coarse level, then local correlation at the fine one: the second
    /// stage improves on the first, and the composed fields stay inverse to each other.
    @Test func aFineStageRefinesACoarseStageOfAnotherMetric() throws {
        let first = try Self.run([Self.syn(.mutualInformation(bins: 32), Self.coarse)])
        let both = try Self.run([Self.syn(.mutualInformation(bins: 32), Self.coarse), Self.syn(.localCorrelation(radius: 2), Self.fine)])
        let diceFirst = DeformableCases.dice(Self.fixed, first.warped), diceBoth = DeformableCases.dice(Self.fixed, both.warped)
        #expect(diceBoth > 0.99 && diceBoth > diceFirst + 0.01, "Dice \(diceFirst) → \(diceBoth), before \(DeformableCases.dice(Self.fixed, Self.moving))")
        // `warped` is the moving image resampled once through the composed chain.
        let direct = try Resampler.resample(Self.moving, onto: Self.grid, mapping: PointMapping(displacement: both.deformable!.forward.field))
        #expect(DeformableCases.dice(Self.fixed, direct) == diceBoth)
        #expect(JacobianStatistics(determinant: both.deformable!.forward.jacobianDeterminant).folded == 0)
        let inside = { (i: Int) in Self.fixed.voxels[i] > 0.05 }
        #expect(DeformableCases.meanResidual(both.deformable!.forward, after: both.deformable!.inverse, where: inside) < 0.15)
        #expect(DeformableCases.meanResidual(both.deformable!.inverse, after: both.deformable!.forward, where: inside) < 0.15)
    }

    /// The moving landmarks reach a later stage through the inverse of the affine and the
    /// earlier warp: on images that show nothing, a landmark term in the second stage alone
    /// brings the pairs together through a non-identity affine.
    @Test func aLaterStageSeesTheLandmarksThroughTheEarlierTransforms() throws {
        let grid = SyNLandmarkTests.grid
        let image = Image<Float>(geometry: grid, filledWith: 1)
        let affine = AffineMap(matrix: Phantoms.rotation(2, -1, 3), translation: [1.5, -1, 0.5])
        let (f, m) = SyNLandmarkTests.pairs()
        let pairs = LandmarkPairs(fixed: Landmarks(points: f), moving: Landmarks(points: m.map { affine.apply($0) }))
        var guided = DeformableStage.synLocalCorrelation
        guided.landmarkWeight = 0.3
        var plan = RegistrationPlan(linear: [LinearStage(.affine, metric: .meanSquares)])
        plan.deformableStages = [.syn(.synLocalCorrelation), .syn(guided)]
        let linear = LinearRegistrationResult(transform: LinearTransform(.affine, dimension: 3, center: .zero, approximating: affine),
                                              levels: [], seconds: 0)
        let (_, warp) = try Registration(plan).stages(image, image, RegistrationMasks(), pairs, nil, reusing: linear)
        let errors = zip(f, m).map { (affine.apply(warp!.forward.map($0)) - affine.apply($1)).length }
        let before = zip(f, m).map { ($0 - $1).length }
        #expect(errors.reduce(0, +) / Double(errors.count) < 0.6, "mean \(errors.reduce(0, +) / Double(errors.count)) mm")
        #expect(errors.max()! < 0.5 * before.max()!)
        #expect(warp!.forward.jacobianDeterminant.voxels.allSatisfy { $0 > 0 })
    }
}
