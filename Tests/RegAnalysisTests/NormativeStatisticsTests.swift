import Foundation
import RegAnalysis
import RegCore
import RegTestSupport
import Testing

struct NormativeStatisticsTests {
    static let grid = Phantoms.obliqueGeometry(size: SIMD3(9, 8, 7))

    /// Running mean and sample SD match the two-pass formulas; z-scores use the floor.
    @Test func meanStandardDeviationAndZScoresMatchDirectFormulas() throws {
        let maps: [Image<Float>] = try (0..<5).map { k in
            let values: [Float] = Phantoms.randomValues(count: Self.grid.voxelCount, seed: UInt64(k + 1), range: -2...3).map { Float($0) }
            return try Image<Float>(geometry: Self.grid, voxels: values)
        }
        var stats = VoxelStatistics(geometry: Self.grid)
        for m in maps { try stats.add(m) }
        #expect(stats.count == 5)
        let mean = stats.mean, sd = stats.standardDeviation
        for i in stride(from: 0, to: Self.grid.voxelCount, by: 37) {
            let xs: [Double] = maps.map { Double($0.voxels[i]) }
            let m: Double = xs.reduce(0, +) / 5
            let squares: Double = xs.map { ($0 - m) * ($0 - m) }.reduce(0, +)
            let s: Double = (squares / 4).squareRoot()
            #expect(abs(Double(mean.voxels[i]) - m) < 1e-5)
            #expect(abs(Double(sd.voxels[i]) - s) < 1e-5)
        }
        let z = try VoxelStatistics.zScore(maps[0], mean: mean, standardDeviation: sd, floor: 0.5)
        let i = 11
        #expect(abs(z.voxels[i] - (maps[0].voxels[i] - mean.voxels[i]) / max(sd.voxels[i], 0.5)) < 1e-6)
        #expect(throws: RegError.self) { try stats.add(Image<Float>(geometry: Phantoms.obliqueGeometry(size: SIMD3(9, 8, 6)))) }
    }

    /// Two separate blobs above the threshold give two clusters with their sizes, signed peaks
    /// and centres; one below the voxel count is left out; labels are read at the peak.
    @Test func clustersOfTwoBlobs() throws {
        let g = try Geometry(size: SIMD3(30, 20, 16), spacing: SIMD3(1, 1.5, 2), origin: SIMD3(10, -5, 3))
        var map = Image<Float>(geometry: g)
        var labels = Image<Int32>(geometry: g)
        // A 4×4×3 box of +4 peaking at +6, a 3×3×2 box of −5, and a single voxel of 10.
        for z in 2..<5 { for y in 3..<7 { for x in 3..<7 { map[x, y, z] = 4; labels[x, y, z] = 8 } } }
        map[5, 4, 3] = 6
        for z in 9..<11 { for y in 10..<13 { for x in 20..<23 { map[x, y, z] = -5 } } }
        map[27, 1, 14] = 10
        let table = try ClusterTable(map, threshold: 3, minimumVoxels: 5, labels: labels)
        #expect(table.clusters.count == 2)
        let big = table.clusters[0], small = table.clusters[1]
        #expect(big.voxels == 48 && abs(big.volume - 48 * 3) < 1e-9 && big.peak == 6 && big.labelAtPeak == 8)
        let peak = g.physicalPoint(ofIndex: SIMD3(5, 4, 3))
        #expect(Approx.maxDifference(SIMD3(big.peakPoint[0], big.peakPoint[1], big.peakPoint[2]), peak) < 1e-9)
        let centre = g.physicalPoint(ofIndex: SIMD3(4.5, 4.5, 3))
        #expect(Approx.maxDifference(SIMD3(big.centre[0], big.centre[1], big.centre[2]), centre) < 1e-9)
        #expect(small.voxels == 18 && small.peak == -5 && small.labelAtPeak == 0)
        // Positive only: the negative box is not a cluster.
        #expect(try ClusterTable(map, threshold: 3, minimumVoxels: 5, absolute: false).clusters.count == 1)
    }
}

/// Student's t tails and their z-equivalents against scipy (`2 * t.sf(|t|, ν)`, `norm.isf(p / 2)`).
struct StudentTTests {
    @Test(arguments: [(3.0, 5.0, 0.03009924789746257, 2.168781875419219), (-1.2, 9.0, 0.26077319739046156, -1.1245655063452817),
                      (12.0, 4.0, 0.000276428548502973, 3.6364432123362005), (0.5, 30.0, 0.6207230048851273, 0.49482592179452206)])
    func tailsAndEquivalentZMatchScipy(t: Double, nu: Double, tail: Double, z: Double) {
        #expect(abs(StudentT.twoSidedTail(t, degreesOfFreedom: nu) / tail - 1) < 1e-9)
        #expect(abs(StudentT.equivalentZ(t, degreesOfFreedom: nu) - z) < 1e-8)
    }
}

/// The combined z of a two-sided and a one-sided z-map against scipy
/// (`norm.isf(0.5 * chi2.sf(q, 1) + 0.5 * chi2.sf(q, 2))`, q = a² + max(b, 0)², at least 0).
struct CombinedZScoreTests {
    @Test func combinedZMatchesScipy() throws {
        let cases: [(Float, Float, Double)] = [(3, 3, 3.7986262636000676), (3, 0, 2.462199259157356), (0, 4, 3.5408732503610443),
                                               (5, 2, 4.998852168953837), (-2, -1, 1.3381868117917022), (8, 6, 9.737748234312336), (0.5, 0.2, 0)]
        let g = try Geometry(size: SIMD3(cases.count, 1, 1), spacing: SIMD3(1, 1, 1), origin: .zero)
        let a = try Image<Float>(geometry: g, voxels: cases.map(\.0)), b = try Image<Float>(geometry: g, voxels: cases.map(\.1))
        let z = try VoxelStatistics.combinedZScore(twoSided: a, oneSided: b)
        for (k, c) in cases.enumerated() { #expect(abs(Double(z.voxels[k]) - c.2) < 1e-5, "a \(c.0), b \(c.1)") }
        #expect(throws: RegError.self) { try VoxelStatistics.combinedZScore(twoSided: a, oneSided: Image<Float>(geometry: Phantoms.obliqueGeometry(size: SIMD3(2, 2, 2)))) }
    }
}
