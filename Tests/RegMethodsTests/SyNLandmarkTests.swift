import Foundation
import RegCore
import RegKernels
@testable import RegMethods
import RegTestSupport
import RegTransforms
import Testing

/// SyN's landmark term on images that carry no information of their own.
@Suite struct SyNLandmarkTests {
    static let grid = try! Geometry(size: [40, 36, 32], spacing: [1, 1.2, 1.1], origin: [-20, -21, -17],
                                    direction: Phantoms.rotation(0.2, -0.1, 0.3))

    /// Landmark pairs displaced by a smooth field the flat images cannot show.
    static func pairs() -> (fixed: [SIMD3<Double>], moving: [SIMD3<Double>]) {
        var rng = SplitMix64(seed: 5)
        var f: [SIMD3<Double>] = [], m: [SIMD3<Double>] = []
        for _ in 0..<30 {
            let p = SIMD3(rng.nextUnit() * 24 - 12, rng.nextUnit() * 24 - 12, rng.nextUnit() * 18 - 9)
            f.append(p)
            m.append(p + SIMD3(2.5 * sin(p.y / 10), -2 * cos(p.x / 12), 1.5))
        }
        return (f, m)
    }

    @Test func thePullBringsTheMappedFixedLandmarksOntoTheMovingOnesWithoutFolding() throws {
        let image = Image<Float>(geometry: Self.grid, filledWith: 1)
        var stage = DeformableStage.synLocalCorrelation
        stage.landmarkWeight = 0.3
        let (f, m) = Self.pairs()
        let affine = AffineMap(matrix: .identity, translation: [0.5, -0.25, 0])
        // The moving landmarks are in moving space: the affine is applied after the field.
        let pairs = LandmarkPairs(fixed: Landmarks(points: f), moving: Landmarks(points: m.map { affine.apply($0) }))
        let result = try SyNRegistration(stage: stage).run(fixed: image, moving: image, affine: affine, landmarks: pairs)
        let errors = zip(f, m).map { (result.forward.map($0) - $1).length }
        let before = zip(f, m).map { ($0 - $1).length }
        #expect(errors.max()! < 0.5 * before.max()!, "errors \(errors.sorted().suffix(3)) from \(before.sorted().suffix(3))")
        #expect(errors.reduce(0, +) / Double(errors.count) < 0.6, "mean \(errors.reduce(0, +) / Double(errors.count))")
        let detJ = result.forward.jacobianDeterminant
        #expect(detJ.voxels.allSatisfy { $0 > 0 })
        // Without the weight the flat images leave the field at zero.
        let unguided = try SyNRegistration(stage: .synLocalCorrelation).run(fixed: image, moving: image, affine: affine, landmarks: pairs)
        #expect(unguided.forward.field.vectors.allSatisfy { $0 == 0 })
    }

    /// E = ½ Σ ‖φ_F⁻¹(p) − φ_M⁻¹(q)‖². Composing a uniform step ε·e_k into the fixed half field
    /// (applied first, as SyN's updates are) changes E at the rate the finite difference
    /// measures; the pull's fixed-side step for a single pair must be −½ of that gradient.
    @Test func theFixedSideStepIsMinusHalfTheEnergyGradientByFiniteDifferences() throws {
        let g = Self.grid
        func smooth(_ a: Double) -> VectorField {
            var field = VectorField(geometry: g)
            for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
                let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
                let o = 3 * g.offset(x, y, z)
                field.vectors[o] = Float(a * sin(p.y / 9)); field.vectors[o + 1] = Float(a * cos(p.z / 8)); field.vectors[o + 2] = Float(a * sin(p.x / 11))
            } } }
            return field
        }
        let fixedField = smooth(1.5), movingField = smooth(-1)
        let p = SIMD3<Double>(2, -3, 1.5), q = SIMD3<Double>(4, -1, 0.5)
        let pull = try LandmarkPull(fixed: [p], moving: [q], affine: .identity, weight: 1)
        let step = pull.steps(fixedField: fixedField, movingField: movingField).fixed[0]
        let mM = LandmarkPull.middle(of: q, under: DisplacementField(movingField))
        func energy(_ shift: SIMD3<Double>) -> Double {
            var uniform = VectorField(geometry: g)
            for i in stride(from: 0, to: uniform.vectors.count, by: 3) {
                uniform.vectors[i] = Float(shift.x); uniform.vectors[i + 1] = Float(shift.y); uniform.vectors[i + 2] = Float(shift.z)
            }
            let mF = LandmarkPull.middle(of: p, under: DisplacementField(FieldKernels.compose(fixedField, after: uniform)))
            return 0.5 * ((mF - mM) * (mF - mM)).sum()
        }
        let e = 1e-2
        for k in 0..<3 {
            var d = SIMD3<Double>(0, 0, 0)
            d[k] = e
            let gradient = (energy(d) - energy(-d)) / (2 * e)
            // Within 0.01 mm: the composition and the inversion both interpolate the grid trilinearly.
            #expect(abs(step[k] - (-0.5 * gradient)) < 0.01, "axis \(k): step \(step[k]), −½ dE/dε \(-0.5 * gradient)")
        }
    }

    @Test func theStepsSplitEachGapBetweenTheSidesAboutItsMiddle() throws {
        let (f, m) = Self.pairs()
        let pull = try LandmarkPull(fixed: f, moving: m, affine: .identity, weight: 0.2)
        var shifted = VectorField(geometry: Self.grid)
        for i in stride(from: 0, to: shifted.vectors.count, by: 3) { shifted.vectors[i] = 1 }   // φ_F = id + (1, 0, 0)
        let steps = pull.steps(fixedField: shifted, movingField: VectorField(geometry: Self.grid))
        for k in f.indices {
            // m_F = p − (1, 0, 0), m_M = q; each side moves half the gap, towards the other.
            let mF = f[k] - SIMD3(1, 0, 0), mM = m[k]
            #expect(Approx.maxDifference(steps.centres[k], (mF + mM) / 2) < 1e-3)
            #expect(Approx.maxDifference(steps.fixed[k], (mF - mM) / 2) < 1e-3)
            #expect(Approx.maxDifference(steps.moving[k], (mM - mF) / 2) < 1e-3)
        }
    }
}
