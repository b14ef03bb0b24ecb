import Foundation
import Testing
import RegCore
import RegKernels
@testable import RegMethods
import RegMetrics
import RegTestSupport
import RegTransforms

/// The multi-start (issue 37, item 3): an oblique, anisotropic 3-D phantom turned by 120° about
/// an oblique axis, and a 2-D one turned by 165°, are recovered with it and missed without; an
/// ordinary pair keeps its start, so its result is the same with and without.
struct MultiStartTests {
    static let grid = try! Geometry(size: SIMD3(40, 36, 32), spacing: SIMD3(1.5, 1.6, 1.8), origin: SIMD3(-30, 12, -25),
                                    direction: Phantoms.rotation(9, -6, 14))
    static let center = grid.physicalPoint(ofIndex: SIMD3(19.5, 17.5, 15.5))
    static let object = Phantoms.blobs(center: center, extent: SIMD3(13, 11, 10), count: 9, seed: 11)

    /// The fixed phantom, and the moving one whose content at `truth(p)` is the fixed one's at `p`.
    static func pair(_ truth: AffineMap, on grid: Geometry, _ f: @escaping (SIMD3<Double>) -> Double) -> (Image<Float>, Image<Float>) {
        let inverse = truth.inverse!
        return (Phantoms.image(on: grid, f), Phantoms.image(on: grid) { f(inverse.apply($0)) })
    }

    static func meanError(_ found: AffineMap, _ truth: AffineMap, over image: Image<Float>) -> Double {
        let g = image.geometry
        var total = 0.0, n = 0.0
        for i in image.voxels.indices where image.voxels[i] > 0.2 {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(i % g.size.x), Double(i / g.size.x % g.size.y), Double(i / (g.size.x * g.size.y))))
            total += (found.apply(p) - truth.apply(p)).length
            n += 1
        }
        return total / n
    }

    @Test func aTurnOfOneHundredTwentyDegreesIsRecovered() throws {
        let axis = SIMD3<Double>(0.3, -0.5, 0.8) / SIMD3<Double>(0.3, -0.5, 0.8).length
        let truth = AffineMap(matrix: Self.rotation(axis, degrees: 120), translation: SIMD3(4, -3, 2), center: Self.center)
        let (fixed, moving) = Self.pair(truth, on: Self.grid, Self.object)
        let plan = RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!
        var reg = LinearRegistration(stages: plan.linear)
        reg.multiStart = true
        let found = try reg.run(fixed: fixed, moving: moving)
        #expect(Self.meanError(found.map, truth, over: fixed) < 0.3, "start \(found.start ?? "moments")")
        #expect(found.start != nil)
        reg.multiStart = false
        let alone = try reg.run(fixed: fixed, moving: moving)
        #expect(Self.meanError(alone.map, truth, over: fixed) > 5, "the moments start alone should miss a 120° turn")
        #expect(alone.start == nil)
    }

    @Test func aTwoDimensionalTurnOfOneHundredSixtyFiveDegreesIsRecovered() throws {
        let g = Phantoms.oblique2DGeometry(size: SIMD2(56, 48))
        let c = g.physicalPoint(ofIndex: SIMD3(27.5, 23.5, 0))
        let f = Phantoms.blobs(center: c, extent: SIMD3(16, 13, 0), dimension: 2, count: 7, seed: 5)
        let truth = AffineMap(matrix: .rotation(axis: 2, angle: 165 * .pi / 180), translation: SIMD3(3, 2, 0), center: c)
        let (fixed, moving) = Self.pair(truth, on: g, f)
        var reg = LinearRegistration(stages: RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!.linear)
        reg.multiStart = true
        #expect(Self.meanError(try reg.run(fixed: fixed, moving: moving).map, truth, over: fixed) < 0.3)
        reg.multiStart = false
        #expect(Self.meanError(try reg.run(fixed: fixed, moving: moving).map, truth, over: fixed) > 5)
    }

    @Test func anOrdinaryPairKeepsItsStartAndItsResult() throws {
        let truth = AffineMap(matrix: Self.rotation(SIMD3(1, 1, 0) / 2.0.squareRoot(), degrees: 8), translation: SIMD3(2, 1, -1), center: Self.center)
        let (fixed, moving) = Self.pair(truth, on: Self.grid, Self.object)
        var plan = RegistrationPlan.preset("affine")!
        plan.multiStart = true
        let on = try Registration(plan).run(fixed: fixed, moving: moving)
        plan.multiStart = false
        let off = try Registration(plan).run(fixed: fixed, moving: moving)
        #expect(on.summary.start == "moments" && off.summary.start == "moments",
                "\(on.summary.start ?? "-"): \(Self.meanError(on.affine, truth, over: fixed)) mm; moments: \(Self.meanError(off.affine, truth, over: fixed)) mm")
        #expect(on.affine == off.affine && on.warped == off.warped)
    }

    /// A head with its neck against the head alone, 8° apart: the neck turns the principal axes
    /// by over 30°, so the turns are tried. Judged after a rigid fit, a wrong turn won (13.8 mm off
    /// over the head); judged after a similarity fit, the moments start stays and the truth is found.
    @Test func aHeadWithItsNeckAgainstOneWithoutKeepsTheRightStart() throws {
        let (fixed, moving) = LinearSamplingTests.pair()
        let axes = Moments.principalRotation(fixed: Moments.of(fixed, mask: nil).covariance, moving: Moments.of(moving, mask: nil).covariance,
                                             dimension: 3)
        #expect(MultiStart.angle(axes) > MultiStart.suggestingAngle)
        var plan = RegistrationPlan.preset("affine")!
        plan.multiStart = true
        let found = try Registration(plan).run(fixed: fixed, moving: moving)
        let head = Phantoms.image(on: Self.grid) { LinearSamplingTests.ball($0, Self.center, SIMD3(18, 16, 14)) }
        #expect(found.summary.start == "moments")
        #expect(Self.meanError(found.affine, LinearSamplingTests.truth, over: head) < 0.7)
    }

    @Test func theCandidateTurnsAreTheCubesTwentyFourRotations() {
        let cube = MultiStart.cubeRotations
        #expect(cube.count == 24)
        #expect(cube.allSatisfy { abs($0.determinant - 1) < 1e-12 && ($0 * $0.transposed - .identity).rowMajor.allSatisfy { abs($0) < 1e-12 } })
        for (i, a) in cube.enumerated() { for b in cube[(i + 1)...] { #expect(a != b) } }
    }

    static func rotation(_ axis: SIMD3<Double>, degrees: Double) -> Matrix3 {
        let t = degrees * .pi / 180, a = axis
        let k = Matrix3(rows: SIMD3(0, -a.z, a.y), SIMD3(a.z, 0, -a.x), SIMD3(-a.y, a.x, 0))
        return .identity + k * sin(t) + k * k * (1 - cos(t))
    }
}
