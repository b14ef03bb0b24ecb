import Foundation
import Testing
import RegCore
import RegMethods
import RegMetrics
import RegTestSupport

/// Bad registration inputs give clear errors.
@Suite struct RegistrationInputTests {
    static let geometry = Phantoms.obliqueGeometry(size: SIMD3(20, 18, 16))
    static let image = Phantoms.image(on: geometry) { p -> Double in
        let a: Double = sin(0.1 * p.x) + cos(0.08 * p.y)
        return a + 0.5 * sin(0.07 * p.z) + 3
    }
    static let rigid = LinearRegistration(stages: RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!.linear)

    @Test func fixedAndMovingOfDifferentDimensionAreRejected() {
        let flat = Phantoms.image(on: Phantoms.oblique2DGeometry()) { $0.x }
        #expect(throws: RegError.invalidArgument(name: "images", reason: "the fixed image is 3-D but the moving image is 2-D")) {
            try Self.rigid.run(fixed: Self.image, moving: flat)
        }
    }

    @Test func emptyAndMisplacedMasksAreRejected() throws {
        let empty = Image<UInt8>(geometry: Self.geometry)
        #expect(throws: RegError.invalidArgument(name: "fixed mask", reason: "the mask is empty")) {
            try Self.rigid.run(fixed: Self.image, moving: Self.image, fixedMask: empty)
        }
        let elsewhere = Image<UInt8>(geometry: Phantoms.obliqueGeometry(size: SIMD3(20, 18, 15)), filledWith: 1)
        #expect(throws: RegError.self) { try Self.rigid.run(fixed: Self.image, moving: Self.image, movingMask: elsewhere) }
    }

    @Test func nonFiniteVoxelsAreRejected() {
        var bad = Self.image
        bad.voxels[17] = .nan
        #expect(throws: RegError.invalidArgument(name: "moving image", reason: "contains NaN or infinite voxels")) {
            try Self.rigid.run(fixed: Self.image, moving: bad)
        }
    }

    @Test func tooFewLandmarksForAnAffineAreRejected() {
        var reg = LinearRegistration(stages: RegistrationPlan.preset("affine", linearMetric: .meanSquares)!.linear)
        let three = Landmarks(points: [SIMD3(0, 0, 0), SIMD3(10, 0, 0), SIMD3(0, 10, 0)])
        reg.landmarks = (three, three)
        reg.initialization = .landmarks
        reg.landmarkWeight = 1
        // Initialisation falls back to the stage model (rigid) with 3 points; the affine stage's
        // landmark term alone cannot fix 12 parameters, so an affine fit must be refused up front.
        #expect(throws: RegError.invalidArgument(name: "landmarks", reason: "a 3-D affine fit needs at least 4 point pairs, found 3")) {
            try reg.run(fixed: Self.image, moving: Self.image)
        }
    }

    @Test func landmarkTermPullsTowardsTheLandmarks() throws {
        // A flat image gives the metric nothing; the landmarks alone fix the translation.
        let flat = Image<Float>(geometry: Self.geometry, filledWith: 1)
        let fixed = Landmarks(points: [SIMD3(0, 0, 0), SIMD3(10, 2, 0), SIMD3(0, 10, 5), SIMD3(3, 3, 9)].map { $0 + Self.geometry.origin + SIMD3(8, 8, 8) })
        let moving = Landmarks(points: fixed.points.map { $0 + SIMD3(1.5, -2, 0.75) })
        var reg = LinearRegistration(stages: RegistrationPlan.preset("translation", linearMetric: .meanSquares)!.linear)
        reg.stages[0].levels = [Level(shrink: 1, sigma: .voxels(0), iterations: 200)]
        reg.stages[0].sampling = .full
        reg.landmarks = (fixed, moving)
        reg.landmarkWeight = 1
        reg.initialization = .none
        let map = try reg.run(fixed: flat, moving: flat).map
        #expect(Approx.maxDifference(map.translation, SIMD3(1.5, -2, 0.75)) < 0.01, "\(map.translation)")
    }
}
