import Foundation
import Testing
import RegCore
@testable import RegMethods
import RegTestSupport
import RegTransforms

/// The linear stages sample in the image whose content is smaller (`LinearSampling.smaller`):
/// a fixed "head with a neck" against a moving head alone is registered the other way round and
/// inverted, exactly as registering the exchanged pair and inverting would, with masks,
/// landmarks and a given start exchanged with the images.
struct LinearSamplingTests {
    static let grid = MultiStartTests.grid
    static let center = MultiStartTests.center
    static let texture = MultiStartTests.object
    static let truth = AffineMap(matrix: MultiStartTests.rotation(SIMD3(0.6, -0.3, 0.74) / SIMD3(0.6, -0.3, 0.74).length, degrees: 8),
                                 translation: SIMD3(3, -2, 2), center: center)

    /// A smooth-edged ball (1 inside, 0 outside) of `radii` about `c`.
    static func ball(_ p: SIMD3<Double>, _ c: SIMD3<Double>, _ radii: SIMD3<Double>) -> Double {
        1 / (1 + exp((((p - c) / radii).length - 1) * 12))
    }

    static func head(_ p: SIMD3<Double>) -> Double { texture(p) * ball(p, center, SIMD3(18, 16, 14)) }
    static func neck(_ p: SIMD3<Double>) -> Double { 60 * ball(p, center + SIMD3(0, 0, -19), SIMD3(6, 6, 9)) }

    /// The fixed head with its neck, and the moving head alone, whose content at `truth(p)` is the fixed head's at `p`.
    static func pair() -> (fixed: Image<Float>, moving: Image<Float>) {
        let inverse = truth.inverse!
        return (Phantoms.image(on: grid) { head($0) + neck($0) }, Phantoms.image(on: grid) { head(inverse.apply($0)) })
    }

    static func maxDifference(_ a: AffineMap, _ b: AffineMap) -> Double {
        max(a.matrix.maxAbsDifference(b.matrix), (a.translation - b.translation).length)
    }

    @Test func theSmallerContentIsSampled() throws {
        let (fixed, moving) = Self.pair()
        #expect(LinearSampling.smaller.samplesMoving(fixed: fixed, moving: moving))
        #expect(!LinearSampling.smaller.samplesMoving(fixed: moving, moving: fixed))
        #expect(!LinearSampling.fixed.samplesMoving(fixed: fixed, moving: moving))
        // A fixed mask smaller than the moving head keeps the fixed image's samples.
        let inner = Phantoms.image(on: Self.grid) { Self.ball($0, Self.center, SIMD3(9, 8, 7)) }
        let brain = try Image<UInt8>(geometry: Self.grid, voxels: inner.voxels.map { $0 > 0.5 ? 1 : 0 })
        #expect(!LinearSampling.smaller.samplesMoving(fixed: fixed, moving: moving, fixedMask: brain))
    }

    /// Sampled in the moving head, the affine found is the inverse of the exchanged pair's, and
    /// recovers the truth over the head within 0.4 of the largest voxel side (as sampling in the
    /// fixed image does here: the neck lies inside the moving grid); ANTs' way (`.fixed`) is kept on request.
    @Test func theExchangedRegistrationIsInvertedExactly() throws {
        let (fixed, moving) = Self.pair()
        let plan = RegistrationPlan.preset("affine")!
        let found = try Registration(plan).run(fixed: fixed, moving: moving)
        #expect(found.summary.linearSampledIn == "moving")
        let exchanged = try Registration(plan).run(fixed: moving, moving: fixed)
        #expect(exchanged.summary.linearSampledIn == "fixed")
        #expect(Self.maxDifference(found.affine, exchanged.affine.inverse!) < 1e-9)
        let head = Phantoms.image(on: Self.grid) { Self.ball($0, Self.center, SIMD3(18, 16, 14)) }
        let error = MultiStartTests.meanError(found.affine, Self.truth, over: head)
        var asANTs = plan
        asANTs.linearSampling = .fixed
        let sampledInFixed = try Registration(asANTs).run(fixed: fixed, moving: moving)
        #expect(sampledInFixed.summary.linearSampledIn == "fixed")
        let errorInFixed = MultiStartTests.meanError(sampledInFixed.affine, Self.truth, over: head)
        #expect(error < 0.7, "\(error) mm from the truth over the head; sampled in the fixed image \(errorInFixed) mm")
    }

    /// Exchanged, a given start is kept exactly with no iterations, and landmark pairs fit the truth exactly.
    @Test func startsAndLandmarksAreExchangedWithTheImages() throws {
        let (fixed, moving) = Self.pair()
        var plan = RegistrationPlan.preset("affine")!
        for i in plan.linear.indices { plan.linear[i].levels = Level.pyramid(iterations: [0, 0, 0]) }
        // A rigid start: the rigid first stage keeps it whole.
        let start = AffineMap(matrix: MultiStartTests.rotation(SIMD3(0, 0.6, 0.8), degrees: 12), translation: SIMD3(-2, 1, 4), center: Self.center)
        let kept = try Registration(plan).run(fixed: fixed, moving: moving, initial: start)
        #expect(kept.summary.linearSampledIn == "moving")
        #expect(Self.maxDifference(kept.affine, start) < 1e-9)
        let points = [SIMD3(-8.0, 3, 2), SIMD3(6, -5, 4), SIMD3(2, 7, -6), SIMD3(-4, -6, -3), SIMD3(9, 2, 6)].map { Self.center + $0 }
        plan.initialization = .landmarks
        let pairs = LandmarkPairs(fixed: Landmarks(points: points), moving: Landmarks(points: points.map(Self.truth.apply)))
        let fitted = try Registration(plan).run(fixed: fixed, moving: moving, landmarks: pairs)
        #expect(fitted.summary.linearSampledIn == "moving")
        #expect(Self.maxDifference(fitted.affine, Self.truth) < 1e-6)
    }

    @Test func thePlanKeyRoundTrips() throws {
        var plan = RegistrationPlan.preset("syn")!
        #expect(plan.linearSampling == .smaller)
        plan.linearSampling = .fixed
        #expect(try RegistrationPlan(document: plan.document) == plan)
        #expect(throws: RegError.self) {
            var document = plan.document
            if case .map(var entries) = document, let k = entries.firstIndex(where: { $0.key == "linearSampling" }) {
                entries[k] = PlanEntry("linearSampling", .string("moving"))
                document = .map(entries)
            }
            _ = try RegistrationPlan(document: document)
        }
    }
}
