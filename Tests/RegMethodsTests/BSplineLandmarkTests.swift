import Foundation
import RegCore
import RegKernels
@testable import RegMethods
import RegTestSupport
import RegTransforms
import Testing

/// The B-spline stage's landmark term on images that carry no information of their own.
@Suite struct BSplineLandmarkTests {
    /// A scaling and a shift, so the term's gradient must go back through the matrix.
    static let affine = AffineMap(matrix: .diagonal(SIMD3(1.04, 0.97, 1.02)), translation: [0.5, -0.25, 0.3])

    @Test func theTermBringsTheMappedFixedLandmarksOntoTheMovingOnesWithoutFolding() throws {
        let image = Image<Float>(geometry: SyNLandmarkTests.grid, filledWith: 1)
        let (f, m) = SyNLandmarkTests.pairs()
        // The moving landmarks are in moving space: the affine is applied after the field.
        let pairs = LandmarkPairs(fixed: Landmarks(points: f), moving: Landmarks(points: m.map { Self.affine.apply($0) }))
        var stage = BSplineStage(metric: .meanSquares, levels: [Level(shrink: 2, sigma: .voxels(1), iterations: 40),
                                                                Level(shrink: 1, sigma: .voxels(0), iterations: 40)], gridSpacing: 6)
        stage.landmarkWeight = 1
        let result = try BSplineRegistration(stage: stage).run(fixed: image, moving: image, affine: Self.affine, landmarks: pairs)
        let errors = zip(f, m).map { (result.forward.map($0) - $1).length }
        let before = zip(f, m).map { ($0 - $1).length }
        let mean = errors.reduce(0, +) / Double(errors.count)
        #expect(errors.max()! < 0.5 * before.max()!, "errors \(errors.sorted().suffix(3)) from \(before.sorted().suffix(3))")
        #expect(mean < 0.6, "mean \(mean) mm from \(before.reduce(0, +) / Double(before.count))")
        #expect(JacobianStatistics(determinant: result.forward.jacobianDeterminant).folded == 0)
        // Without the weight the flat images leave the field at zero.
        stage.landmarkWeight = 0
        let unguided = try BSplineRegistration(stage: stage).run(fixed: image, moving: image, affine: Self.affine, landmarks: pairs)
        #expect(unguided.forward.field.vectors.allSatisfy { $0 == 0 })
    }

    /// The term is quadratic in the coefficients, so central differences give its gradient up to
    /// rounding: every coefficient that supports a landmark, on all three axes.
    @Test func theGradientMatchesFiniteDifferences() throws {
        let (f, m) = SyNLandmarkTests.pairs()
        let term = BSplineLandmarkTerm(fixed: Array(f.prefix(4)), moving: Array(m.prefix(4)), affine: Self.affine, weight: 0.7)
        var grid = try BSplineGrid(covering: SyNLandmarkTests.grid, spacing: SIMD3(repeating: 8))
        var rng = SplitMix64(seed: 11)
        for i in grid.coefficients.vectors.indices { grid.coefficients.vectors[i] = Float(rng.nextUnit() * 2 - 1) }
        var gradient = VectorField(geometry: grid.lattice)
        _ = term.add(grid, to: &gradient)
        var scratch = VectorField(geometry: grid.lattice)
        func cost(_ g: BSplineGrid) -> Double { term.add(g, to: &scratch) }
        var checked = 0
        for i in gradient.vectors.indices where gradient.vectors[i] != 0 {
            var plus = grid, minus = grid
            plus.coefficients.vectors[i] += 0.01
            minus.coefficients.vectors[i] -= 0.01
            let step = Double(plus.coefficients.vectors[i]) - Double(minus.coefficients.vectors[i])
            let difference = (cost(plus) - cost(minus)) / step
            #expect(abs(difference - Double(gradient.vectors[i])) < 1e-3 * max(1, abs(difference)),
                    "coefficient \(i): finite difference \(difference), gradient \(gradient.vectors[i])")
            checked += 1
        }
        #expect(checked >= 3 * 64)   // four points' 4×4×4 supports, three axes each
    }
}
