import Foundation
import RegCore
import RegKernels
import RegMethods
import RegTestSupport
import RegTransforms
import Testing

@Suite struct BSplineRegistrationTests {
    @Test func sphereBecomesEllipsoid() throws {
        let grid = DeformablePhantomTests.grid, center = DeformablePhantomTests.center
        let fixed = DeformableCases.blob(on: grid, center: center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: grid, center: center + SIMD3(1, -1, 0.5), axes: SIMD3(12, 8, 7))
        let levels = [Level(shrink: 2, sigma: .voxels(1), iterations: 40), Level(shrink: 1, sigma: .voxels(0), iterations: 40)]
        let stage = BSplineStage(metric: .meanSquares, levels: levels, gridSpacing: 5)
        let result = try BSplineRegistration(stage: stage).run(fixed: fixed, moving: moving)
        let warped = try Resampler.resample(moving, onto: grid, mapping: PointMapping(displacement: result.forward.field))
        let before = DeformableCases.dice(fixed, moving), after = DeformableCases.dice(fixed, warped)
        #expect(after > 0.95, "Dice \(before) → \(after)")
        #expect(JacobianStatistics(determinant: result.forward.jacobianDeterminant).folded == 0)
        #expect(result.levels.count == 2 && result.levels.allSatisfy { $0.finalSimilarity > $0.initialSimilarity })
    }

    @Test func resultsAreIdenticalForOneAndTwoThreads() throws {
        let grid = DeformablePhantomTests.grid, center = DeformablePhantomTests.center
        let fixed = DeformableCases.blob(on: grid, center: center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: grid, center: center, axes: SIMD3(11, 8, 8))
        let stage = BSplineStage(metric: .localCorrelation(radius: 2), levels: [Level(shrink: 2, sigma: .voxels(1), iterations: 8),
                                                                                 Level(shrink: 1, sigma: .voxels(0), iterations: 5)], gridSpacing: 5)
        let one = try Parallelism.withThreadCount(1) { try BSplineRegistration(stage: stage).run(fixed: fixed, moving: moving) }
        let two = try Parallelism.withThreadCount(2) { try BSplineRegistration(stage: stage).run(fixed: fixed, moving: moving) }
        #expect(one.forward == two.forward)
    }

    @Test func badSchedulesAreRejected() throws {
        let image = DeformableCases.blob(on: DeformablePhantomTests.grid, center: DeformablePhantomTests.center, axes: SIMD3(9, 9, 9))
        var stage = BSplineStage(metric: .meanSquares)
        stage.gridSchedule = [4, 1, 1]
        #expect(throws: RegError.self) { try BSplineRegistration(stage: stage).run(fixed: image, moving: image) }
        stage = BSplineStage(metric: .meanSquares, gridSpacing: 0)
        #expect(throws: RegError.self) { try BSplineRegistration(stage: stage).run(fixed: image, moving: image) }
    }
}

@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct BSplineRealDataTests {
    @Test func bsplineImprovesTissueDiceOnRealSlicesBothWays() throws {
        let (a, segA) = try DeformableCases.lapirnSlice("A"), (b, segB) = try DeformableCases.lapirnSlice("B")
        for (fixed, fixedSeg, moving, movingSeg) in [(b, segB, a, segA), (a, segA, b, segB)] {
            let stage = BSplineStage(metric: .localCorrelation(radius: 2), levels: DeformableCases.small2DLevels)
            let result = try BSplineRegistration(stage: stage).run(fixed: fixed, moving: moving)
            let warped = try Resampler.resample(movingSeg, onto: fixed.geometry, mapping: PointMapping(displacement: result.forward.field),
                                                interpolation: .label)
            let before = DeformableCases.labelDice(fixedSeg, movingSeg, labels: [1, 2]).reduce(0, +) / 2
            let after = DeformableCases.labelDice(fixedSeg, warped, labels: [1, 2]).reduce(0, +) / 2
            #expect(after > before + 0.1, "Dice \(before) → \(after)")
            let brain = try Image<UInt8>(geometry: fixed.geometry, voxels: fixedSeg.voxels.map { $0 > 0 ? 1 : 0 })
            #expect(JacobianStatistics(determinant: result.forward.jacobianDeterminant, mask: brain).folded == 0)
        }
    }
}
