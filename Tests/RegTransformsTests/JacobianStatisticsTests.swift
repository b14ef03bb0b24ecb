import Foundation
import Testing
import RegCore
import RegTestSupport
import RegTransforms

/// det J statistics of analytic warps on an oblique grid whose direction flips two axes (LPS vs
/// RAS): the flip must not change the sign of det J.
@Suite struct JacobianStatisticsTests {
    static let grid: Geometry = {
        let flip = Matrix3.diagonal(SIMD3(-1, -1, 1)) * Phantoms.rotation(0.2, 0.1, -0.3)
        return try! Geometry(size: SIMD3(22, 20, 16), spacing: SIMD3(1.2, 0.8, 1.5), origin: SIMD3(30, -12, 8), direction: flip)
    }()

    @Test func linearMapHasItsDeterminantEverywhere() {
        let a = Matrix3(rowMajor: [1.1, 0.2, 0, -0.1, 0.9, 0.15, 0.05, 0, 1.2])
        let warp = DisplacementField(VectorField(sampling: Self.grid) { p in a * p + SIMD3(2, -1, 0.5) })
        let stats = JacobianStatistics(determinant: warp.jacobianDeterminant)
        #expect(abs(stats.minimum - a.determinant) < 1e-4 && abs(stats.maximum - a.determinant) < 1e-4)
        #expect(stats.folded == 0 && stats.sdLogJ < 1e-4 && abs(stats.meanLogJ - log(a.determinant)) < 1e-4)
        let mirror = DisplacementField(VectorField(sampling: Self.grid) { p in SIMD3(-p.x, p.y, p.z) })
        let folded = JacobianStatistics(determinant: mirror.jacobianDeterminant)
        #expect(folded.foldedFraction == 1 && abs(folded.minimum + 1) < 1e-4)
    }

    /// A smooth nonlinear map: det J at interior voxels matches the analytic determinant (to the
    /// accuracy of central differences), and SDlogJ matches the one computed from it.
    @Test func nonlinearMapMatchesTheAnalyticDeterminant() {
        let k = 0.08
        let map = { (p: SIMD3<Double>) in SIMD3(p.x + 1.5 * sin(k * p.y), p.y + 1.2 * sin(k * p.z), p.z + sin(k * p.x)) }
        // J = [[1, 1.5k cos(k y), 0], [0, 1, 1.2k cos(k z)], [k cos(k x), 0, 1]].
        let analytic = { (p: SIMD3<Double>) in
            Matrix3(rowMajor: [1, 1.5 * k * cos(k * p.y), 0, 0, 1, 1.2 * k * cos(k * p.z), k * cos(k * p.x), 0, 1]).determinant
        }
        let g = Self.grid
        let det = DisplacementField(VectorField(sampling: g, map: map)).jacobianDeterminant
        var mask = Image<UInt8>(geometry: g)
        var logs: [Double] = []
        for z in 1..<(g.size.z - 1) { for y in 1..<(g.size.y - 1) { for x in 1..<(g.size.x - 1) {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            #expect(abs(Double(det[x, y, z]) - analytic(p)) < 5e-3)
            mask[x, y, z] = 1
            logs.append(log(analytic(p)))
        } } }
        let stats = JacobianStatistics(determinant: det, mask: mask)
        let mean = logs.reduce(0, +) / Double(logs.count)
        let sd = (logs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(logs.count)).squareRoot()
        #expect(stats.voxels == logs.count && stats.folded == 0)
        #expect(abs(stats.sdLogJ - sd) < 0.1 * sd + 1e-4)
    }
    /// Over many chunks of voxels, with a mask and folded voxels: the plain serial sums, and
    /// the same bits for any thread count.
    @Test func statisticsOfManyChunksAreTheSerialOnesForAnyThreadCount() throws {
        let g = try Geometry(size: SIMD3(90, 80, 60), spacing: SIMD3(1.2, 0.8, 1.5), origin: SIMD3(30, -12, 8), direction: Self.grid.direction)
        let values = Phantoms.randomValues(count: g.voxelCount, seed: 11, range: -0.2...3).map { Float($0) }
        let det = try Image<Float>(geometry: g, voxels: values)
        let inside = Phantoms.randomValues(count: g.voxelCount, seed: 12, range: 0...1).map { $0 < 0.7 ? UInt8(1) : 0 }
        let mask = try Image<UInt8>(geometry: g, voxels: inside)
        var logs: [Double] = [], folded = 0, count = 0
        for (v, m) in zip(values, inside) where m != 0 {
            count += 1
            if v <= 0 { folded += 1 } else { logs.append(log(Double(v))) }
        }
        let mean = logs.reduce(0, +) / Double(logs.count)
        let sd = (logs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(logs.count)).squareRoot()
        let results = [1, 2, 3].map { threads in Parallelism.withThreadCount(threads) { JacobianStatistics(determinant: det, mask: mask) } }
        #expect(results[0] == results[1] && results[1] == results[2])
        let stats = results[0]
        #expect(stats.voxels == count && stats.folded == folded && folded > 0 && count < g.voxelCount)
        #expect(abs(stats.meanLogJ - mean) < 1e-9 && abs(stats.sdLogJ - sd) < 1e-9, "\(stats) against \(mean), \(sd)")
        let masked = zip(values, inside).filter { $0.1 != 0 }.map { Double($0.0) }
        #expect(stats.minimum == masked.min()! && stats.maximum == masked.max()!)
    }
}
