import Foundation
import Testing
import RegAnalysis
import RegCore
import RegIO
import RegTestSupport
import RegTransforms

@Suite struct TargetRegistrationErrorTests {
    static let affine = AffineMap(matrix: Phantoms.rotation(0.2, -0.1, 0.3) * Matrix3.diagonal(SIMD3(1.1, 0.9, 1.05)),
                                  translation: SIMD3(4, -7, 2.5))

    /// Moving points are the affine image of the fixed points plus known offsets: the TRE through
    /// the affine is the offsets' length, point by point.
    @Test func throughAKnownAffine() throws {
        let fixed: [SIMD3<Double>] = (0..<12).map { i in
            let x = Double(i) * 3.1 - 10, y = Double(i * i % 7) * 2 - 5, z = Double(i % 4) * 6
            return SIMD3(x, y, z)
        }
        let offsets: [SIMD3<Double>] = (0..<12).map { i in
            let x = Double(i % 3) * 0.5, y = -0.25 * Double(i % 2), z = 0.1 * Double(i)
            return SIMD3(x, y, z)
        }
        let moving = zip(fixed, offsets).map { Self.affine.apply($0) + $1 }
        let chain = TransformChain([Self.affine])
        let tre = try TargetRegistrationError(fixed: Landmarks(points: fixed), moving: Landmarks(points: moving), transform: chain.map)
        let lengths = offsets.map { ($0 * $0).sum().squareRoot() }
        for (p, l) in zip(tre.points, lengths) { #expect(abs(p.error - l) < 1e-9) }
        let mean = lengths.reduce(0, +) / 12
        let variance = lengths.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 12
        #expect(abs(tre.mean - mean) < 1e-9)
        #expect(abs(tre.maximum - lengths.max()!) < 1e-9)
        #expect(abs(tre.standardDeviation - variance.squareRoot()) < 1e-9)
    }

    /// The lung CT landmarks of elastix's example under a known smooth warp followed by an
    /// affine: through the sampled warp and the affine the TRE is near zero (interpolation only);
    /// through the affine alone it equals the analytic displacement at each point.
    @Test(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
    func lungLandmarksUnderAKnownWarp() throws {
        let fixed = try LandmarkFile.read(SharedData.path("ct/elastix_lung/CT_3D_lung_fixed_point_set_corrected.txt"))
        let ct = try ImageFile.read(SharedData.path("ct/elastix_lung/3DCT_lung_baseline_small.mha")).image
        let grid = try ct.geometry.resampled(toSpacing: ct.geometry.spacing * 2)
        let u = { (p: SIMD3<Double>) in SIMD3(3 * sin(p.y / 40), 2 * cos(p.z / 35), 2.5 * sin(p.x / 50)) }
        let warp = DisplacementField(VectorField(sampling: grid) { p in p + u(p) })
        let moving = Landmarks(points: fixed.points.map { Self.affine.apply($0 + u($0)) })
        let chain = TransformChain([.displacement(warp), .affine(Self.affine)])
        let full = try TargetRegistrationError(fixed: fixed, moving: moving, transform: chain.map)
        #expect(full.points.count == fixed.count)
        #expect(full.mean < 0.05, "mean TRE through the sampled warp \(full.mean) mm" as Comment)
        let affineOnly = try TargetRegistrationError(fixed: fixed, moving: moving, transform: Self.affine.apply)
        for (p, q) in zip(affineOnly.points, fixed.points) {
            let d = Self.affine.matrix * u(q)
            #expect(abs(p.error - (d * d).sum().squareRoot()) < 1e-9)
        }
    }

    @Test func differentPointCountsAreAClearError() {
        let a = Landmarks(points: [.zero, SIMD3(1, 0, 0)]), b = Landmarks(points: [.zero])
        do {
            _ = try TargetRegistrationError(fixed: a, moving: b) { $0 }
            Issue.record("sets of 2 and 1 unlabelled points were paired")
        } catch {
            #expect("\(error)".contains("2 and 1"))
        }
    }
}

@Suite struct LabelTableTests {
    @Test func readsFreeSurferAndCSVTables() throws {
        let fs = try LabelTable(parsing: """
            #No. Label Name:  R G B A
            0   Unknown   0 0 0 0
            2   Left-Cerebral-White-Matter  245 245 245 0
            41  Right-Cerebral-White-Matter 245 245 245 0   # comment
            """, source: "lut.txt")
        #expect(fs.names == [0: "Unknown", 2: "Left-Cerebral-White-Matter", 41: "Right-Cerebral-White-Matter"])
        #expect(fs.colors[2] == SIMD3(245, 245, 245))
        let csv = try LabelTable(parsing: "id,name\n1,grey matter\n2,white matter\n", source: "t.csv")
        #expect(csv.names == [1: "grey matter", 2: "white matter"])
        #expect(throws: RegError.self) { try csv.validate(ids: [1, 3], source: "t.csv") }
        do { try csv.validate(ids: [1, 3], source: "t.csv") } catch { #expect("\(error)".contains("label 3")) }
        #expect(throws: RegError.self) { try LabelTable(parsing: "1 a\n1 b\n", source: "dup.txt") }
        #expect(throws: RegError.self) { try LabelTable(parsing: "1 a\nx y\n", source: "bad.txt") }
    }
}
