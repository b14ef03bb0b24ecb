import Foundation
import RegCore
import RegTestSupport
import Testing

struct AffineMapSquareRootTests {
    /// S ∘ S = T for rigid and general affine maps about an off-origin centre.
    @Test(arguments: [(12.0, -7.0, 25.0, 0.0), (3.0, 40.0, -60.0, 0.08)])
    func rootComposedWithItselfIsTheMap(ax: Double, ay: Double, az: Double, stretch: Double) throws {
        let matrix = Phantoms.rotation(ax, ay, az) * Matrix3(rows: SIMD3(1 + stretch, stretch / 2, 0), SIMD3(0, 1 - stretch, stretch), SIMD3(stretch, 0, 1))
        let map = AffineMap(matrix: matrix, translation: SIMD3(4, -9, 2.5), center: SIMD3(-30, 12, 48))
        let half = try #require(map.squareRoot)
        let twice = half.then(half)
        #expect(twice.matrix.maxAbsDifference(map.matrix) < 1e-10)
        #expect(Approx.maxDifference(twice.translation, map.translation) < 1e-9)
        for p in [SIMD3<Double>(0, 0, 0), SIMD3(-50, 80, 120)] {
            #expect(Approx.maxDifference(half.apply(half.apply(p)), map.apply(p)) < 1e-8)
        }
    }

    /// The root of a rotation by θ about an axis is the rotation by θ/2 about it, and it leaves
    /// the rotation's fixed points fixed.
    @Test func rotationRootIsTheHalfAngle() throws {
        let center = SIMD3<Double>(10, -20, 5)
        let map = AffineMap(matrix: .rotation(axis: 1, angle: 0.6), translation: .zero, center: center)
        let half = try #require(map.squareRoot)
        #expect(half.matrix.maxAbsDifference(.rotation(axis: 1, angle: 0.3)) < 1e-12)
        #expect(Approx.maxDifference(half.apply(center), center) < 1e-10)
    }

    /// A half turn and a reflection have no principal root.
    @Test func halfTurnAndReflectionHaveNoRoot() {
        #expect(AffineMap(matrix: .rotation(axis: 2, angle: .pi)).squareRoot == nil)
        #expect(AffineMap(matrix: .diagonal(SIMD3(-1, 1, 1))).squareRoot == nil)
    }
}
