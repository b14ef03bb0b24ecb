import Foundation
import RegCore
@testable import RegKernels
import RegTestSupport
import Testing

/// Fields on an oblique, LPS-flipped, anisotropic grid with a non-zero origin.
enum Fields {
    static let grid: Geometry = {
        let flip = Matrix3.diagonal(SIMD3(-1, -1, 1))
        return try! Geometry(size: SIMD3(21, 18, 15), spacing: SIMD3(1.3, 0.9, 1.7), origin: SIMD3(-12, 30, 7.5),
                             direction: flip * Phantoms.rotation(10, -7, 14))
    }()

    /// `u(x) = (A − I)(x − c) + b` sampled on `grid`.
    static func linear(_ a: Matrix3, _ b: SIMD3<Double>, on g: Geometry = grid) -> VectorField {
        let c = grid.physicalPoint(ofIndex: SIMD3<Double>(grid.size &- 1) / 2)
        return field(on: g) { x in (a - .identity) * (x - c) + b }
    }

    static func field(on g: Geometry, _ u: (SIMD3<Double>) -> SIMD3<Double>) -> VectorField {
        var f = VectorField(geometry: g)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            f[x, y, z] = SIMD3<Float>(u(g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))))
        } } }
        return f
    }

    /// Largest vector difference over voxels at least `margin` voxels from every edge.
    static func interiorMaxDifference(_ a: VectorField, _ b: VectorField, margin: Int = 4) -> Double {
        let g = a.geometry
        var worst = 0.0
        for z in margin..<(g.size.z - margin) { for y in margin..<(g.size.y - margin) { for x in margin..<(g.size.x - margin) {
            worst = max(worst, Double(simd_length(a[x, y, z] - b[x, y, z])))
        } } }
        return worst
    }
}

func simd_length(_ v: SIMD3<Float>) -> Float { (v * v).sum().squareRoot() }

@Suite struct FieldKernelsTests {
    let a = Matrix3.identity + Matrix3(rows: SIMD3(0.04, -0.03, 0.02), SIMD3(0.01, -0.05, 0.03), SIMD3(-0.02, 0.02, 0.06))
    let b = Matrix3.identity + Matrix3(rows: SIMD3(-0.03, 0.02, 0.01), SIMD3(0.02, 0.03, -0.04), SIMD3(0.01, -0.02, -0.05))

    /// Vectors near Float's limit (a field file with scl_inter −3.4e38) overflow to NaN indices;
    /// the inverse must not trap converting them (found by the mutant campaign).
    @Test func theInverseOfAFieldOfHugeVectorsDoesNotTrap() {
        var u = VectorField(geometry: Phantoms.obliqueGeometry(size: SIMD3(5, 4, 3)))
        for i in u.vectors.indices { u.vectors[i] = i % 2 == 0 ? 3e38 : -3e38 }
        let inverse = FieldKernels.inverse(of: u)
        #expect(inverse.vectors.count == u.vectors.count)
    }

    @Test func jacobianOfALinearMapIsItsDeterminantOnAFlippedObliqueGrid() {
        let u = Fields.linear(a, SIMD3(1, -2, 0.5))
        let detJ = FieldKernels.jacobianDeterminant(of: u)
        let expected = a.determinant
        #expect(detJ.voxels.allSatisfy { abs(Double($0) - expected) < 1e-4 }, "expected \(expected) everywhere")
        // A fold: x ↦ −x along one physical axis has det −1, whatever the grid's direction.
        let mirror = Fields.linear(Matrix3.diagonal(SIMD3(-1, 1, 1)), .zero)
        #expect(FieldKernels.jacobianDeterminant(of: mirror).voxels.allSatisfy { abs($0 + 1) < 1e-4 })
    }

    @Test func logJacobianOfALinearMapIsTheLogOfItsDeterminantAndFloorsFolds() {
        let logJ = FieldKernels.logJacobianDeterminant(of: Fields.linear(a, SIMD3(1, -2, 0.5)))
        let expected = log(a.determinant)
        #expect(abs(expected) > 0.02)
        #expect(logJ.voxels.allSatisfy { abs(Double($0) - expected) < 1e-4 }, "expected \(expected) everywhere")
        let mirror = FieldKernels.logJacobianDeterminant(of: Fields.linear(Matrix3.diagonal(SIMD3(-1, 1, 1)), .zero), floor: 0.01)
        #expect(mirror.voxels.allSatisfy { abs(Double($0) - log(0.01)) < 1e-5 })
        // A tolerance shrinks values toward 0 by itself, and zeroes those within it.
        let beyond = FieldKernels.logJacobianDeterminant(of: Fields.linear(a, SIMD3(1, -2, 0.5)), tolerance: 0.01)
        let shrunk = expected > 0 ? expected - 0.01 : expected + 0.01
        #expect(beyond.voxels.allSatisfy { abs(Double($0) - shrunk) < 1e-4 }, "expected \(shrunk) everywhere")
        let within = FieldKernels.logJacobianDeterminant(of: Fields.linear(a, SIMD3(1, -2, 0.5)), tolerance: Float(abs(expected) + 0.01))
        #expect(within.voxels.allSatisfy { $0 == 0 })
    }

    @Test func logarithmMatchesFoundationFromAThousandthToAThousand() {
        var worst = 0.0, x = 1e-3
        while x < 1e3 {
            let value = Float(x)
            worst = max(worst, abs(Double(FieldKernels.logarithm(value)) - log(Double(value))))
            x *= 1.0173
        }
        #expect(worst < 5e-7, "largest error \(worst)")
    }

    @Test func aStepWithAVoxelGradientMovesAlongTheIndexGradientInMillimetres() {
        let g = Fields.grid
        // l = 0.3 i − 0.2 j + 0.5 k: the index gradient is exact, one-sided edges included.
        var l = Image<Float>(geometry: g)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            l.voxels[x + g.size.x * (y + g.size.y * z)] = Float(0.3 * Double(x) - 0.2 * Double(y) + 0.5 * Double(z))
        } } }
        let v = Fields.linear(a, SIMD3(1, -2, 0.5))
        // Composed after the zero field, the step itself: 0.5·v plus 0.8·(0.3, −0.2, 0.5) voxels,
        // the physical vector D·diag(spacing)·that.
        let stepField = FieldKernels.compose(VectorField(geometry: g), after: v, scale: 0.5, plusVoxelGradientOf: l, weight: 0.8)
        let step = g.direction * (g.spacing * SIMD3(0.24, -0.16, 0.4))
        #expect(abs(step.x) + abs(step.y) + abs(step.z) > 0.5)
        var worst = 0.0
        for i in 0..<g.voxelCount {
            for c in 0..<3 { worst = max(worst, abs(Double(stepField.vectors[3 * i + c]) - (0.5 * Double(v.vectors[3 * i + c]) + step[c]))) }
        }
        #expect(worst < 1e-5)
        // Any field composed after it is the plain composition after the step field.
        let u = Fields.linear(b, SIMD3(-0.5, 0.6, 0.2))
        #expect(FieldKernels.compose(u, after: v, scale: 0.5, plusVoxelGradientOf: l, weight: 0.8) == FieldKernels.compose(u, after: stepField))
    }

    @Test func compositionOfLinearFieldsIsTheProductMap() {
        let g = Fields.grid
        let c = g.physicalPoint(ofIndex: SIMD3<Double>(g.size &- 1) / 2)
        let (ta, tb) = (SIMD3<Double>(0.7, -0.4, 0.3), SIMD3<Double>(-0.5, 0.6, 0.2))
        let u = Fields.linear(a, ta), v = Fields.linear(b, tb)
        let composed = FieldKernels.compose(u, after: v)
        // (id + u)(y) = A(y − c) + c + ta; (id + v)(x) = B(x − c) + c + tb.
        let expected = Fields.field(on: g) { x in a * (b * (x - c) + tb) + c + ta - x }
        #expect(Fields.interiorMaxDifference(composed, expected) < 1e-4)
        let scaled = FieldKernels.compose(u, after: v.scaled(by: 2))
        #expect(Fields.interiorMaxDifference(FieldKernels.compose(u, after: v, scale: 2), scaled) < 1e-6)
    }

    /// Every voxel, edges included, against trilinear interpolation in Double of the clamped
    /// sample point: displacements up to 6 mm push many points off the grid, on 3-D, 2-D and
    /// thin grids (a single-voxel axis has no neighbour to read).
    @Test(arguments: [SIMD3(21, 18, 15), SIMD3(23, 19, 1), SIMD3(2, 17, 3), SIMD3(33, 1, 5)])
    func compositionMatchesClampedTrilinearEverywhere(size: SIMD3<Int>) throws {
        let g = try Geometry(size: size, spacing: SIMD3(1.3, 0.9, 1.7), origin: SIMD3(-12, 30, 7.5), direction: Fields.grid.direction)
        let u = Fields.field(on: g) { p in SIMD3(2 * sin(0.3 * p.x), 1.5 * cos(0.2 * p.y + p.z), 0.7 * sin(0.25 * p.z - 0.1 * p.x)) }
        let v = Fields.field(on: g) { p in SIMD3(6 * cos(0.2 * p.y), -5 * sin(0.3 * p.x + 0.1 * p.z), 4 * cos(0.15 * p.z)) }
        let composed = FieldKernels.compose(u, after: v, scale: 0.8)
        let last = SIMD3<Double>(g.size &- 1)
        var worst = 0.0
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let own = 0.8 * SIMD3<Double>(v[x, y, z])
            var j = SIMD3<Double>(Double(x), Double(y), Double(z)) + g.physicalToIndex * own
            if g.dimension == 2 { j.z = 0 }
            j = j.clamped(lowerBound: .zero, upperBound: last)
            let expected = own + FieldKernels.trilinear(u, at: j)
            worst = max(worst, Double(simd_length(composed[x, y, z] - SIMD3<Float>(expected))))
        } } }
        #expect(worst < 1e-5)
    }

    @Test func exponentialOfAConstantVelocityIsATranslationAndOfALinearOneIsTheMatrixExponential() {
        let shift = Fields.field(on: Fields.grid) { _ in SIMD3(2.5, -1, 0.75) }
        let phi = FieldKernels.exponential(shift, steps: 6)
        #expect(Fields.interiorMaxDifference(phi, shift, margin: 5) < 1e-4)
        // v(x) = L(x − c): exp is e^L (x − c) + c − x; e^L by its series.
        let g = Fields.grid
        let c = g.physicalPoint(ofIndex: SIMD3<Double>(g.size &- 1) / 2)
        let l = Matrix3(rows: SIMD3(0, -0.08, 0.03), SIMD3(0.08, 0, -0.02), SIMD3(-0.03, 0.02, 0.04))
        var term = Matrix3.identity, expL = Matrix3.identity
        for k in 1...12 { term = term * l * (1 / Double(k)); expL = expL + term }
        let flow = FieldKernels.exponential(Fields.field(on: g) { x in l * (x - c) }, steps: 8)
        let expected = Fields.field(on: g) { x in expL * (x - c) + c - x }
        #expect(Fields.interiorMaxDifference(flow, expected, margin: 5) < 2e-3)
    }

    /// Every voxel, edges included, on 3-D, 2-D and thin grids: the residual `w + u(x + w)`
    /// (`u` read in Double at the clamped point, as `compose` reads it) is within the tolerance.
    /// `u` stretches and compresses by up to about 1.7× and pushes points off the grid.
    @Test(arguments: [SIMD3(21, 18, 15), SIMD3(23, 19, 1), SIMD3(2, 17, 3)])
    func inverseSolvesEveryVoxelToTheTolerance(size: SIMD3<Int>) throws {
        let g = try Geometry(size: size, spacing: SIMD3(1.3, 0.9, 1.7), origin: SIMD3(-12, 30, 7.5), direction: Fields.grid.direction)
        let u = Fields.field(on: g) { p in
            SIMD3(4 * sin(0.15 * p.x + 0.1 * p.y), -3 * cos(0.2 * p.y - 0.15 * p.z), 2.5 * sin(0.2 * p.z + 0.12 * p.x))
        }
        let w = FieldKernels.inverse(of: u, tolerance: 1e-3)
        let last = SIMD3<Double>(g.size &- 1)
        var worst = 0.0
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let own = SIMD3<Double>(w[x, y, z])
            var j = SIMD3<Double>(Double(x), Double(y), Double(z)) + g.physicalToIndex * own
            if g.dimension == 2 { j.z = 0 }
            let residual = own + FieldKernels.trilinear(u, at: j.clamped(lowerBound: .zero, upperBound: last))
            worst = max(worst, (residual * residual).sum().squareRoot())
        } } }
        #expect(worst < 1.1e-3)
    }

    @Test func inverseComposesToTheIdentityBothWays() {
        let g = Fields.grid
        let u = Fields.field(on: g) { p in
            SIMD3(1.5 * sin(0.2 * p.x + 0.1 * p.y), -1.2 * cos(0.15 * p.y - 0.2 * p.z), 1.0 * sin(0.18 * p.z + 0.12 * p.x))
        }
        let w = FieldKernels.inverse(of: u)
        let zero = VectorField(geometry: g)
        #expect(Fields.interiorMaxDifference(FieldKernels.compose(u, after: w), zero, margin: 0) < 0.01)
        // The other way round it holds up to interpolating w (0.053 mm here).
        #expect(Fields.interiorMaxDifference(FieldKernels.compose(w, after: u), zero, margin: 4) < 0.1)
    }

    /// The inverse of `x ↦ A(x − c) + c + b` is `y ↦ A⁻¹(y − c − b) + c`, exactly where the
    /// inverse's points stay inside the grid (trilinear interpolation of a linear field is exact).
    @Test func inverseOfALinearMapIsTheInverseMatrix() throws {
        let g = Fields.grid
        let stretch = Matrix3.identity + Matrix3(rows: SIMD3(0.45, -0.2, 0.1), SIMD3(0.15, -0.35, 0.2), SIMD3(-0.1, 0.25, 0.3))
        let shift = SIMD3<Double>(1.5, -2, 0.8)
        let w = FieldKernels.inverse(of: Fields.linear(stretch, shift), tolerance: 1e-4)
        let c = g.physicalPoint(ofIndex: SIMD3<Double>(g.size &- 1) / 2)
        let back = try #require(stretch.inverse)
        let last = SIMD3<Double>(g.size &- 1)
        var worst = 0.0, checked = 0
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            let expected = back * (p - c - shift) + c - p
            let j = g.continuousIndex(ofPhysicalPoint: p + expected)
            guard all(j .>= .zero) && all(j .<= last) else { continue }
            worst = max(worst, Double(simd_length(w[x, y, z] - SIMD3<Float>(expected))))
            checked += 1
        } } }
        #expect(checked > g.voxelCount / 3)
        #expect(worst < 2e-4)
    }

    /// A field that folds has no inverse where it folds: every voxel still gets a finite vector,
    /// and where the map is one-to-one the residual meets the tolerance.
    @Test func inverseOfAFoldedFieldStaysFinite() {
        let g = Fields.grid
        let u = Fields.field(on: g) { p in SIMD3(9 * sin(0.4 * p.x), 0, 0) }   // folds where 3.6·cos < −1
        let w = FieldKernels.inverse(of: u)
        #expect(w.vectors.allSatisfy { $0.isFinite })
        #expect(FieldKernels.jacobianDeterminant(of: u).voxels.contains { $0 < 0 })
    }

    @Test func inverseAndCompositionAreTheSameForAnyThreadCount() {
        let g = Fields.grid
        let u = Fields.field(on: g) { p in SIMD3(3 * sin(0.2 * p.x), -2 * cos(0.15 * p.y + 0.1 * p.z), 1.5 * sin(0.25 * p.z)) }
        let v = Fields.field(on: g) { p in SIMD3(cos(0.3 * p.y), sin(0.2 * p.x), -cos(0.1 * p.z)) }
        let outputs = [1, 2, 3].map { threads in
            Parallelism.withThreadCount(threads) { Array(FieldKernels.inverse(of: u).vectors) + Array(FieldKernels.compose(u, after: v, scale: 0.7).vectors) }
        }
        #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2])
    }

    @Test func resampledFieldKeepsALinearFieldAndCarriesEdgesOut() throws {
        let u = Fields.linear(a, SIMD3(0.3, 0.1, -0.2))
        let coarse = try Shrink.geometry(of: Fields.grid, factors: SIMD3(2, 2, 2))
        let down = FieldKernels.resampled(u, onto: coarse)
        let expected = Fields.linear(a, SIMD3(0.3, 0.1, -0.2), on: coarse)
        #expect(Fields.interiorMaxDifference(down, expected, margin: 1) < 1e-4)
        let up = FieldKernels.resampled(down, onto: Fields.grid)
        #expect(Fields.interiorMaxDifference(up, u, margin: 3) < 1e-4)
    }

    @Test func vectorSmoothingSmoothsEachComponentAlone() {
        let g = Fields.grid
        let u = Fields.field(on: g) { p in SIMD3<Double>(sin(0.5 * p.x), cos(0.4 * p.y) * p.z * 0.1, Double(Int(p.x * 7) % 5)) }
        let smooth = GaussianSmoothing.smooth(u, sigma: .voxels(1.5))
        for c in 0..<3 {
            let scalar = GaussianSmoothing.smooth(try! Image(geometry: g, components: 3, voxels: u.vectors).component(c), sigma: .voxels(1.5))
            for i in 0..<g.voxelCount { #expect(abs(smooth.vectors[3 * i + c] - scalar.voxels[i]) < 1e-5) }
        }
    }

    /// Three channels at once against brute force: rows in groups of four and alone, windows
    /// wider than a row, rows of 8-value blocks and remainders, and single-voxel axes.
    @Test(arguments: [(SIMD3(9, 7, 6), 2), (SIMD3(21, 10, 5), 3), (SIMD3(3, 5, 4), 4), (SIMD3(17, 1, 3), 1), (SIMD3(1, 9, 7), 2)])
    func boxSumsMatchBruteForce(size: SIMD3<Int>, radius r: Int) {
        let n = size.x * size.y * size.z, channels = 3
        let values = Phantoms.randomValues(count: channels * n, seed: 4).map { Float($0) }
        var sums = values
        sums.withUnsafeMutableBufferPointer { BoxSums.sum($0.baseAddress!, channels: channels, size: size, radius: r) }
        var worst: Float = 0
        for c in 0..<channels { for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
            var s: Float = 0, count = 0
            for k in max(0, z - r)...min(size.z - 1, z + r) { for j in max(0, y - r)...min(size.y - 1, y + r) {
                for i in max(0, x - r)...min(size.x - 1, x + r) { s += values[c * n + i + size.x * (j + size.y * k)]; count += 1 }
            } }
            worst = max(worst, abs(sums[c * n + x + size.x * (y + size.y * z)] - s))
            #expect(BoxSums.windowCount(x: x, y: y, z: z, size: size, radius: r) == count)
        } } } }
        // Sums of up to 729 values of 0…100.
        #expect(worst < 0.05)
    }

    /// 16 vectors at a time and the rest one by one give the largest length of the plain loop.
    @Test(arguments: [0, 5, 16, 37, 100])
    func largestVoxelLengthIsThePlainLoopsMaximum(voxels: Int) {
        let m = Matrix3Float(Fields.grid.physicalToIndex)
        let values = Phantoms.randomValues(count: 3 * voxels, seed: 9, range: -4...4).map { Float($0) }
        var expected: Float = 0
        for i in 0..<voxels {
            let v = SIMD3(values[3 * i], values[3 * i + 1], values[3 * i + 2])
            let j = SIMD3((m.r0 * v).sum(), (m.r1 * v).sum(), (m.r2 * v).sum())
            expected = max(expected, (j * j).sum())
        }
        let found = values.withUnsafeBufferPointer { FieldKernels.largestSquaredVoxelLength($0.baseAddress!, voxels: voxels, m) }
        #expect(found == expected)
        #expect(voxels == 0 || found > 0)
    }

    /// The fused pass gives exactly the three steps apart, on both through-plane paths (a wide
    /// grid goes through strips) and without smoothing.
    @Test(arguments: [(SIMD3(21, 18, 15), 3.0), (SIMD3(230, 190, 4), 1.5), (SIMD3(21, 18, 15), 0.0)])
    func smoothedForceIsTheSmoothedForceAndItsLargestStep(size: SIMD3<Int>, sigma: Double) throws {
        let g = try Geometry(size: size, spacing: SIMD3(1.3, 0.9, 1.7), origin: SIMD3(-12, 30, 7.5), direction: Fields.grid.direction)
        let image = Phantoms.randomImage(Float.self, on: g, seed: 3)
        var weights = Phantoms.randomValues(count: g.voxelCount, seed: 5, range: -1...1).map { Float($0) }
        for i in stride(from: 0, to: weights.count, by: 7) { weights[i] = 0 }
        let (fused, largest) = FieldKernels.smoothedForce(weights: weights, image: image, sigma: .voxels(sigma))
        let apart = GaussianSmoothing.smooth(FieldKernels.force(weights: weights, image: image), sigma: .voxels(sigma))
        #expect(fused.vectors == apart.vectors)
        #expect(largest == FieldKernels.maxVoxelNorm(of: apart) && largest > 0)
    }

    /// Composing with smoothing gives exactly the composition smoothed apart, with and without
    /// the penalty step: a long volume of small slices goes through the ring of slices
    /// (σ = 0.25, SyN's total smoothing), a small one through strips.
    @Test(arguments: [(SIMD3(64, 48, 480), 0.25), (SIMD3(21, 18, 15), 1.5)])
    func composingWithSmoothingIsTheCompositionSmoothed(size: SIMD3<Int>, sigma: Double) throws {
        let g = try Geometry(size: size, spacing: SIMD3(1.3, 0.9, 1.7), origin: SIMD3(-12, 30, 7.5), direction: Fields.grid.direction)
        let u = Fields.field(on: g) { p in SIMD3(2 * sin(0.3 * p.x), 1.5 * cos(0.2 * p.y + p.z), 0.7 * sin(0.25 * p.z - 0.1 * p.x)) }
        let v = Fields.field(on: g) { p in SIMD3(cos(0.2 * p.z), 0.8 * sin(0.3 * p.x - p.y), 1.2 * cos(0.15 * p.y)) }
        let l = FieldKernels.logJacobianDeterminant(of: u, tolerance: 0.1)
        let smoothing = GaussianSmoothing.Sigma.voxels(sigma)
        let plain = FieldKernels.compose(u, after: v, scale: 0.7)
        #expect(FieldKernels.compose(u, after: v, scale: 0.7, smoothing: smoothing) == GaussianSmoothing.smooth(plain, sigma: smoothing))
        #expect(FieldKernels.compose(u, after: v, scale: 0.7, smoothing: .voxels(0)) == plain)
        let penalised = FieldKernels.compose(u, after: v, scale: 0.7, plusVoxelGradientOf: l, weight: 1.5)
        let fused = FieldKernels.compose(u, after: v, scale: 0.7, plusVoxelGradientOf: l, weight: 1.5, smoothing: smoothing)
        #expect(fused == GaussianSmoothing.smooth(penalised, sigma: smoothing))
        #expect(fused != penalised && penalised != plain)
    }

    /// The fused pass gives exactly the log-Jacobian's excess smoothed apart, on both
    /// through-plane paths and without smoothing.
    @Test(arguments: [(SIMD3(21, 18, 15), 3.0), (SIMD3(330, 260, 4), 2.0), (SIMD3(21, 18, 15), 0.0)])
    func smoothedLogJacobianIsTheSmoothedLogJacobian(size: SIMD3<Int>, sigma: Double) throws {
        let g = try Geometry(size: size, spacing: SIMD3(1.3, 0.9, 1.7), origin: SIMD3(-12, 30, 7.5), direction: Fields.grid.direction)
        let u = Fields.field(on: g) { p in SIMD3(2 * sin(0.3 * p.x), 1.5 * cos(0.2 * p.y + p.z), 0.7 * sin(0.25 * p.z - 0.1 * p.x)) }
        let fused = FieldKernels.smoothedLogJacobian(of: u, tolerance: 0.1, sigma: .voxels(sigma))
        let apart = GaussianSmoothing.smooth(FieldKernels.logJacobianDeterminant(of: u, tolerance: 0.1), sigma: .voxels(sigma))
        #expect(fused.geometry == g && fused.voxels == apart.voxels)
        #expect(fused.voxels.contains { $0 != 0 })
    }

    @Test func forceIsTheWeightTimesThePhysicalGradient() {
        let g = Fields.grid
        let image = Phantoms.image(on: g) { p in 0.3 * p.x - 0.2 * p.y + 0.5 * p.z }
        let weights = [Float](repeating: 2, count: g.voxelCount)
        let f = FieldKernels.force(weights: weights, image: image)
        #expect(f.vectors.indices.allSatisfy { abs(f.vectors[$0] - 2 * [0.3, -0.2, 0.5][$0 % 3]) < 1e-4 })
    }
}
