import Foundation
import Testing
import RegCore
import RegKernels
@testable import RegMethods
import RegMetrics
import RegTestSupport
import RegTransforms

/// A given initial transform (`PlanInputs.initialTransform`, ANTs' `--initial-moving-transform`):
/// the linear stages start from it instead of the initialisation, and a plan without linear
/// stages carries it into the deformable stage and the result's chain.
struct InitialTransformTests {
    static let grid = MultiStartTests.grid
    static let center = MultiStartTests.center

    static func turn(_ axis: SIMD3<Double>, _ degrees: Double, _ shift: SIMD3<Double>) -> AffineMap {
        AffineMap(matrix: MultiStartTests.rotation(axis / axis.length, degrees: degrees), translation: shift, center: center)
    }

    static func maxDifference(_ a: AffineMap, _ b: AffineMap) -> Double {
        max(a.matrix.maxAbsDifference(b.matrix), (a.translation - b.translation).length)
    }

    /// A 120° turn that the moments start misses by far is found, within a third of the finest
    /// voxel, from a start 10° and 3 mm away from it; the summary says where the stages started.
    @Test func aFarTurnIsRecoveredFromAnInitialTransformNearIt() throws {
        let truth = Self.turn(SIMD3(0.3, -0.5, 0.8), 120, SIMD3(4, -3, 2))
        let (fixed, moving) = MultiStartTests.pair(truth, on: Self.grid, MultiStartTests.object)
        let start = Self.turn(SIMD3(1, 0.2, 0), 10, SIMD3(2, 1, -2)).then(truth)
        #expect(MultiStartTests.meanError(start, truth, over: fixed) > 3)
        let plan = RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!
        let found = try Registration(plan).run(fixed: fixed, moving: moving, initial: start)
        #expect(MultiStartTests.meanError(found.affine, truth, over: fixed) < 0.5, "\(MultiStartTests.meanError(found.affine, truth, over: fixed)) mm from a start \(MultiStartTests.meanError(start, truth, over: fixed)) mm away")
        #expect(found.summary.start == Initialization.initialTransformName)
        let moments = try Registration(plan).run(fixed: fixed, moving: moving)
        #expect(MultiStartTests.meanError(moments.affine, truth, over: fixed) > 5, "the moments start alone should miss a 120° turn")
        #expect(moments.summary.start == "moments")
    }

    /// With no iterations the result is the start itself: exactly for a map of the stage's model,
    /// its rotation and translation about the fixed centre of mass for an affine in a rigid stage.
    @Test func withNoIterationsTheStagesKeepTheStart() throws {
        let (fixed, moving) = MultiStartTests.pair(.identity, on: Self.grid, MultiStartTests.object)
        let rigid = Self.turn(SIMD3(0.2, 1, 0.4), 25, SIMD3(-3, 2, 5))
        var plan = RegistrationPlan.preset("affine", linearMetric: .meanSquares)!
        for i in plan.linear.indices { plan.linear[i].levels = Level.pyramid(iterations: [0, 0, 0]) }
        let kept = try Registration(plan).run(fixed: fixed, moving: moving, initial: rigid)
        #expect(Self.maxDifference(kept.affine, rigid) < 1e-9)
        let scaled = AffineMap(matrix: rigid.matrix * Matrix3(rows: SIMD3(1.2, 0, 0), SIMD3(0, 0.9, 0), SIMD3(0, 0, 1)),
                               translation: rigid.translation)
        plan.linear = [plan.linear[0]]   // the rigid stage alone
        let projected = try Registration(plan).run(fixed: fixed, moving: moving, initial: scaled).affine
        let r = projected.matrix
        #expect((r * r.transposed).maxAbsDifference(.identity) < 1e-9 && abs(r.determinant - 1) < 1e-9)
        let c = Moments.of(fixed, mask: nil).center
        #expect((projected.apply(c) - scaled.apply(c)).length < 1e-9, "the centre keeps its image")
    }

    /// Without linear stages the deformable stage starts from the given map and the chain holds
    /// it: with no iterations the result is the moving image through the map, and SyN improves
    /// on it.
    @Test func withoutLinearStagesTheDeformableStageStartsFromIt() throws {
        let fixed = DeformableSequenceTests.fixed
        let shift = AffineMap(translation: SIMD3(5, -3, 2))
        let moving = try Resampler.resample(DeformableSequenceTests.moving, onto: fixed.geometry,
                                            mapping: PointMapping(matrix: .identity, translation: -shift.translation))
        var plan = RegistrationPlan(linear: [])
        plan.deformableStages = [DeformableSequenceTests.syn(.meanSquares, DeformableSequenceTests.coarse)]
        let started = try Registration(plan).run(fixed: fixed, moving: moving, initial: shift)
        #expect(started.linear.map { Self.maxDifference($0.map, shift) } ?? 1 < 1e-12)
        #expect(started.summary.start == Initialization.initialTransformName)
        // With no iterations the warped image is the moving one through the given shift alone.
        var noIterations = plan
        noIterations.deformableStages = [DeformableSequenceTests.syn(.meanSquares, DeformableSequenceTests.none)]
        let kept = try Registration(noIterations).run(fixed: fixed, moving: moving, initial: shift).warped
        let throughStart = try Resampler.resample(moving, onto: fixed.geometry, mapping: PointMapping(translation: shift.translation))
        #expect(zip(kept.voxels, throughStart.voxels).map { abs($0 - $1) }.max()! < 1e-4)
        let before = DeformableCases.dice(fixed, throughStart), after = DeformableCases.dice(fixed, started.warped)
        #expect(after > 0.9 && after > before + 0.1, "Dice through the start \(before), registered \(after)")
    }

    /// A one-slice volume is registered in its plane, where a 3-D start is not carried: refused.
    @Test func aOneSliceVolumeRefusesAnInitialTransform() throws {
        let g = try Geometry(size: SIMD3(24, 20, 1), spacing: SIMD3(1, 1, 2))
        let c = g.physicalPoint(ofIndex: SIMD3(11.5, 9.5, 0))
        let image = Phantoms.image(on: g, Phantoms.blobs(center: c, extent: SIMD3(7, 6, 0), dimension: 2, count: 4, seed: 3))
        #expect(throws: RegError.self) {
            try Registration(.preset("rigid")!).run(fixed: image, moving: image, initial: AffineMap(translation: SIMD3(1, 0, 0)))
        }
    }
}
