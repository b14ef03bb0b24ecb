import RegCore
import RegTestSupport
import RegTransforms
import Testing

/// A B-spline grid on an oblique, anisotropic domain with random coefficients.
enum BSplineCases {
    static let domain = try! Geometry(size: SIMD3(23, 19, 15), spacing: SIMD3(1.2, 0.9, 1.6), origin: SIMD3(-30, 12, 5),
                                      direction: Phantoms.rotation(12, -7, 20))
    static let flatDomain = Phantoms.oblique2DGeometry(size: SIMD2(29, 21))

    static func randomGrid(on domain: Geometry, spacing: Double, amplitude: Double, seed: UInt64) throws -> BSplineGrid {
        var grid = try BSplineGrid(covering: domain, spacing: SIMD3(repeating: spacing))
        let values = Phantoms.randomValues(count: grid.coefficients.vectors.count, seed: seed, range: -amplitude...amplitude)
        grid.coefficients.vectors = VoxelBuffer(values.enumerated().map { i, v in domain.dimension == 2 && i % 3 == 2 ? 0 : Float(v) })
        return grid
    }
}

@Suite struct BSplineGridTests {
    @Test(arguments: [false, true])
    func denseFieldMatchesPointEvaluationAndRefinement(flat: Bool) throws {
        let domain = flat ? BSplineCases.flatDomain : BSplineCases.domain
        let grid = try BSplineCases.randomGrid(on: domain, spacing: 7, amplitude: 2, seed: 3)
        let dense = try grid.field(on: domain)
        let fine = try grid.refined().field(on: domain)
        #expect(grid.refined().lattice.spacing.x == 3.5)
        var worstPoint = 0.0, worstRefined: Float = 0
        for z in 0..<domain.size.z {
            for y in stride(from: 0, to: domain.size.y, by: 2) {
                for x in 0..<domain.size.x {
                    let p = domain.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
                    let v = dense[x, y, z]
                    worstPoint = max(worstPoint, (grid.displacement(at: p) - SIMD3<Double>(v)).magnitudes.max())
                    worstRefined = max(worstRefined, Float((SIMD3<Double>(fine[x, y, z]) - SIMD3<Double>(v)).magnitudes.max()))
                }
            }
        }
        #expect(worstPoint < 1e-4)
        #expect(worstRefined < 1e-4)
        if flat { #expect(dense.vectors.enumerated().allSatisfy { $0.offset % 3 != 2 || $0.element == 0 }) }
    }

    @Test func latticeCoversTheDomainWithFullSupport() throws {
        let grid = try BSplineGrid(covering: BSplineCases.domain, spacing: SIMD3(5, 5, 5))
        for corner in BSplineCases.domain.cornerPoints {
            let t = grid.lattice.continuousIndex(ofPhysicalPoint: corner)
            for a in 0..<3 { #expect(t[a] >= 1 && t[a] <= Double(grid.lattice.size[a] - 2)) }
        }
    }

    /// ⟨B·c, g⟩ = ⟨c, Bᵀ·g⟩ for random c and g: the adjoint is exact.
    @Test func coefficientGradientIsTheAdjointOfEvaluation() throws {
        let grid = try BSplineCases.randomGrid(on: BSplineCases.domain, spacing: 6, amplitude: 1, seed: 5)
        let target = try Geometry(size: SIMD3(11, 10, 8), spacing: SIMD3(2.4, 1.8, 3.2), origin: BSplineCases.domain.origin,
                                  direction: BSplineCases.domain.direction)
        var g = VectorField(geometry: target)
        g.vectors = VoxelBuffer(Phantoms.randomValues(count: g.vectors.count, seed: 9, range: -1...1).map { Float($0) })
        let bc = try grid.field(on: target), btg = try grid.coefficientGradient(of: g)
        let left = zip(bc.vectors, g.vectors).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(grid.coefficients.vectors, btg.vectors).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(left - right) < 1e-4 * max(1, abs(left)))
    }

    @Test func rotatedGridIsRejected() throws {
        let grid = try BSplineGrid(covering: BSplineCases.domain, spacing: SIMD3(5, 5, 5))
        let other = try Geometry(size: SIMD3(5, 5, 5), direction: .identity)
        #expect(throws: RegError.self) { try grid.field(on: other) }
    }

    /// Each penalty's gradient against central differences, on grids that fold somewhere.
    @Test(arguments: [BSplineRegularization(bending: 1), BSplineRegularization(diffusion: 1), BSplineRegularization(folding: 1)])
    func penaltyGradientsMatchFiniteDifferences(_ weights: BSplineRegularization) throws {
        for flat in [false, true] {
            let domain = flat ? BSplineCases.flatDomain : BSplineCases.domain
            let grid = try BSplineCases.randomGrid(on: domain, spacing: 6, amplitude: 10, seed: 11)
            let (value, gradient) = grid.regularization(weights)
            #expect(value > 0)
            let probes = Phantoms.randomValues(count: 12, seed: 13, range: 0...0.999).map { Int($0 * Double(gradient.vectors.count)) }
            for k in probes where !(flat && k % 3 == 2) {
                var plus = grid, minus = grid
                let h: Float = 1e-2
                plus.coefficients.vectors[k] += h
                minus.coefficients.vectors[k] -= h
                let numeric = (plus.regularization(weights).value - minus.regularization(weights).value) / Double(2 * h)
                #expect(abs(numeric - Double(gradient.vectors[k])) < 2e-3 * max(1, abs(numeric)),
                        "coefficient \(k): analytic \(gradient.vectors[k]), numeric \(numeric)")
            }
        }
    }
}
