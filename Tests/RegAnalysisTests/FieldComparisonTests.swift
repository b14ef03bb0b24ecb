import Foundation
import RegAnalysis
import RegCore
import RegTestSupport
import RegTransforms
import Testing

/// Endpoint error and residual rotation between two maps given as fields, on oblique grids.
@Suite struct FieldComparisonTests {
    /// Rodrigues' rotation about a unit axis.
    static func rotation(axis: SIMD3<Double>, degrees: Double) -> Matrix3 {
        let k = axis / axis.length, a = degrees * .pi / 180
        let cross = Matrix3(rows: SIMD3(0, -k.z, k.y), SIMD3(k.z, 0, -k.x), SIMD3(-k.y, k.x, 0))
        return .identity + cross * sin(a) + cross * cross * (1 - cos(a))
    }

    @Test func affineMapsDifferingByAKnownRotationAndShift() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(20, 18, 12))
        let c = g.physicalPoint(ofIndex: SIMD3(9.5, 8.5, 5.5))
        let axis = SIMD3(0.3, -0.5, 0.8)
        let truth = AffineMap(matrix: Self.rotation(axis: axis, degrees: 8) * Matrix3.diagonal(SIMD3(1.05, 0.97, 1)),
                              translation: SIMD3(3, -2, 1), center: c)
        // The estimate turns 2.5° further about another axis and is 0.4 mm off in z.
        let extra = Self.rotation(axis: SIMD3(1, 1, 0), degrees: 2.5)
        let estimate = AffineMap(matrix: extra * truth.matrix, translation: extra * truth.translation + SIMD3(0, 0, 0.4))
        let mask = Phantoms.image(on: g) { ($0 - c).length < 9 ? 1 : 0 }.converted(to: UInt8.self)
        let result = try FieldComparison(estimate: VectorField(sampling: g) { estimate.apply($0) },
                                         truth: VectorField(sampling: g) { truth.apply($0) }, mask: mask)
        // Direct computation over the same voxels.
        var errors: [Double] = []
        var truthSum = 0.0
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x where mask[x, y, z] != 0 {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            errors.append((estimate.apply(p) - truth.apply(p)).length)
            truthSum += (truth.apply(p) - p).length
        } } }
        #expect(result.voxels == errors.count && errors.count > 100)
        #expect(abs(result.meanError - errors.reduce(0, +) / Double(errors.count)) < 1e-4, "\(result.meanError)")
        #expect(abs(result.maximumError - errors.max()!) < 1e-4)
        #expect(abs(result.meanTruth - truthSum / Double(errors.count)) < 1e-4)
        #expect(abs(result.rotationDegrees - 2.5) < 1e-3, "rotation \(result.rotationDegrees)°")
    }

    @Test func inPlaneRotationOnAnObliqueSlice() throws {
        let g = Phantoms.oblique2DGeometry(size: SIMD2(40, 34))
        let c = g.physicalPoint(ofIndex: SIMD3(20, 17, 0))
        let normal = g.direction.column(2)
        let truth = AffineMap(matrix: Self.rotation(axis: normal, degrees: 10), translation: .zero, center: c)
        let estimate = AffineMap(matrix: Self.rotation(axis: normal, degrees: 13), translation: .zero, center: c)
        let result = try FieldComparison(estimate: VectorField(sampling: g) { estimate.apply($0) },
                                         truth: VectorField(sampling: g) { truth.apply($0) })
        #expect(abs(result.rotationDegrees - 3) < 1e-3, "rotation \(result.rotationDegrees)°")
        #expect(result.meanError > 0.1)
        let same = try FieldComparison(estimate: VectorField(sampling: g) { truth.apply($0) }, truth: VectorField(sampling: g) { truth.apply($0) })
        #expect(same.meanError == 0 && same.rotationDegrees < 1e-4)
    }

    @Test func differentGridsAndEmptyMasksAreRejected() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(8, 8, 6))
        let other = try Geometry(size: SIMD3(8, 8, 6))
        #expect(throws: RegError.self) { try FieldComparison(estimate: VectorField(geometry: g), truth: VectorField(geometry: other)) }
        #expect(throws: RegError.self) {
            try FieldComparison(estimate: VectorField(geometry: g), truth: VectorField(geometry: g), mask: Image<UInt8>(geometry: g))
        }
    }
}
