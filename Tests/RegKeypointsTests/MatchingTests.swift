import Foundation
import RegCore
@testable import RegKeypoints
import RegTestSupport
import RegTransforms
import Testing

/// Descriptor matching and robust filtering against known correspondences.
@Suite struct MatchingTests {
    /// A textured object: many small blobs.
    static let texture = Phantoms.blobs(center: [0, 0, 0], extent: [18, 18, 16], count: 60, seed: 7)

    @Test func matchesAcrossGridsAndContrastsAtTheKnownShift() throws {
        let shift = SIMD3<Double>(3.4, -2.1, 1.6)
        let fixedGrid = try Geometry(size: [44, 44, 40], spacing: [1, 1, 1], origin: [-22, -22, -20])
        let movingGrid = try Geometry(size: [40, 42, 44], spacing: [1.1, 1, 0.95], origin: [-20, -21, -19],
                                      direction: Phantoms.rotation(0.1, 0.05, -0.08))
        let fixed = Phantoms.image(on: fixedGrid, Self.texture)
        // Another contrast: the intensity mapped through a decreasing curve.
        let moving = Phantoms.image(on: movingGrid) { p in 400 - 0.02 * pow(Self.texture(p - shift), 2) }
        let found = try KeypointCorrespondence(detector: ForstnerDetector(count: 200), matcher: KeypointMatcher(searchRadius: 8),
                                               filter: .smooth).find(fixed: fixed, moving: moving)
        #expect(found.detected.count >= 20)
        #expect(Double(found.kept.count) >= 0.75 * Double(found.detected.count), "kept \(found.kept.count) of \(found.matched.count) matched, \(found.detected.count) detected")
        let errors = found.kept.map { ($0.displacement - shift).length }
        let within = errors.filter { $0 < 1 }.count
        #expect(Double(within) >= 0.9 * Double(errors.count), "errors \(errors.sorted().suffix(5))")
        #expect(errors.allSatisfy { $0 < 2 }, "errors \(errors.sorted().suffix(5))")
        #expect(found.kept.allSatisfy { (0...1).contains($0.confidence) })
    }

    @Test func ransacRecoversAnAffineDespiteHalfTheMatchesBeingWrong() throws {
        let truth = AffineMap(matrix: Matrix3(rows: [1.05, 0.1, -0.04], [-0.08, 0.95, 0.06], [0.03, -0.05, 1.1]), translation: [4, -7, 2.5])
        var rng = SplitMix64(seed: 3)
        var matches: [KeypointMatch] = []
        for i in 0..<200 {
            let p = SIMD3(rng.nextUnit() * 120 - 60, rng.nextUnit() * 140 - 70, rng.nextUnit() * 100 - 50)
            let wrong = i % 2 == 1
            let q = wrong ? SIMD3(rng.nextUnit() * 120 - 60, rng.nextUnit() * 140 - 70, rng.nextUnit() * 100 - 50) : truth.apply(p)
            matches.append(KeypointMatch(fixed: p, moving: q, confidence: 1))
        }
        let (transform, inliers) = try MatchFilter.ransac(matches, model: .affine, dimension: 3, threshold: 2)
        #expect(Set(inliers) == Set(stride(from: 0, to: 200, by: 2)))
        #expect(transform.affineMap.matrix.maxAbsDifference(truth.matrix) < 1e-9)
        #expect(Approx.maxDifference(transform.affineMap.translation, truth.translation) < 1e-7)
        #expect(throws: RegError.self) { try MatchFilter.ransac(Array(matches.prefix(3)), model: .affine, dimension: 3, threshold: 2) }
    }

    @Test func theSmoothFilterDropsMatchesThatDisagreeWithTheirNeighbours() {
        var rng = SplitMix64(seed: 11)
        var matches: [KeypointMatch] = [], wrong = Set<Int>()
        for i in 0..<400 {
            let p = SIMD3(rng.nextUnit() * 100, rng.nextUnit() * 100, rng.nextUnit() * 100)
            var d = SIMD3(4 * sin(p.x / 30), 3 * cos(p.y / 25), 2 * sin((p.x + p.z) / 40))   // smooth
            if i % 5 == 0 {   // off by 5–20 mm in a random direction
                wrong.insert(i)
                let direction = SIMD3(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian())
                d += direction / direction.length * (5 + 15 * rng.nextUnit())
            }
            matches.append(KeypointMatch(fixed: p, moving: p + d, confidence: 1))
        }
        let kept = Set(MatchFilter.smooth(matches, tolerance: 2))
        #expect(kept.isDisjoint(with: wrong))
        #expect(kept.count >= 310, "kept \(kept.count) of the 320 right ones")
    }
}
