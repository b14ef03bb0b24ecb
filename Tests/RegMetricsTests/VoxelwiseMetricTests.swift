import Foundation
import RegCore
import RegKernels
import RegMetrics
import RegTestSupport
import Testing

/// The dense metrics' values against a brute-force computation, and their voxel-wise derivatives
/// against central finite differences, on a small oblique 3-D pair.
@Suite struct VoxelwiseMetricTests {
    static let grid = try! Geometry(size: SIMD3(11, 9, 8), spacing: SIMD3(1.2, 0.8, 1.5), origin: SIMD3(4, -3, 9),
                                    direction: Phantoms.rotation(12, -5, 20))
    static let fixed = Phantoms.image(on: grid) { p in 0.5 + 0.3 * sin(0.5 * p.x + 0.2 * p.y) * cos(0.3 * p.z) }
    static let moving: Image<Float> = {
        var m = Phantoms.image(on: grid) { p in 0.4 + 0.35 * sin(0.45 * p.x + 0.25 * p.y + 0.3) * cos(0.35 * p.z - 0.2) }
        let noise = Phantoms.randomValues(count: grid.voxelCount, seed: 9, range: -0.05...0.05)
        for i in m.voxels.indices { m.voxels[i] += Float(noise[i]) }
        return m
    }()

    /// Mean local correlation by explicit windows, in `Double`.
    static func bruteForceLocalCorrelation(_ f: some ContiguousValues<Float>, _ m: some ContiguousValues<Float>, radius r: Int) -> Double {
        let s = grid.size
        var total = 0.0, count = 0
        for z in 0..<s.z { for y in 0..<s.y { for x in 0..<s.x {
            var a: [Double] = [], b: [Double] = []
            for k in max(0, z - r)...min(s.z - 1, z + r) { for j in max(0, y - r)...min(s.y - 1, y + r) {
                for i in max(0, x - r)...min(s.x - 1, x + r) {
                    let o = i + s.x * (j + s.y * k)
                    a.append(Double(f[o])); b.append(Double(m[o]))
                }
            } }
            let n = Double(a.count), ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
            var sab = 0.0, saa = 0.0, sbb = 0.0
            for (p, q) in zip(a, b) { sab += (p - ma) * (q - mb); saa += (p - ma) * (p - ma); sbb += (q - mb) * (q - mb) }
            guard saa > 1e-5 * n, sbb > 1e-5 * n else { continue }
            total += sab * sab / (saa * sbb); count += 1
        } } }
        return total / Double(count)
    }

    @Test func localCorrelationMatchesExplicitWindows() {
        let value = LocalCorrelation.evaluate(fixed: Self.fixed, moving: Self.moving, radius: 2).value
        let expected = Self.bruteForceLocalCorrelation(Self.fixed.voxels, Self.moving.voxels, radius: 2)
        #expect(abs(value - expected) < 1e-4, "\(value) vs \(expected)")
    }

    @Test(arguments: [Metric.localCorrelation(radius: 2), .localCorrelation(radius: 1), .meanSquares, .mutualInformation(bins: 16)])
    func derivativesMatchFiniteDifferences(_ metric: Metric) {
        let s = metric.evaluate(fixed: Self.fixed, moving: Self.moving, mask: nil)
        let h: Float = 2e-3
        var worst = 0.0, scale = 0.0
        for voxel in [0, 13, 200, 371, 500, 790] {
            for side in 0..<2 {
                func value(_ delta: Float) -> Double {
                    var f = Self.fixed, m = Self.moving
                    if side == 0 { f.voxels[voxel] += delta } else { m.voxels[voxel] += delta }
                    return metric.evaluate(fixed: f, moving: m, mask: nil).value
                }
                let numeric = (value(h) - value(-h)) / Double(2 * h)
                let analytic = Double(side == 0 ? s.fixedDerivative[voxel] : s.movingDerivative[voxel])
                worst = max(worst, abs(numeric - analytic)); scale = max(scale, abs(numeric))
            }
        }
        #expect(scale > 0)
        #expect(worst < 0.03 * scale, "\(metric.name): worst difference \(worst) against derivatives up to \(scale)")
    }

    /// Each thread runs its own slices through the pipeline (with the slices its windows reach
    /// beyond them): 1 to 5 threads give the same bits, with and without a mask.
    @Test func localCorrelationIsTheSameForAnyThreadCount() {
        var mask = Image<UInt8>(geometry: Self.grid)
        for i in stride(from: 0, to: Self.grid.voxelCount, by: 3) { mask.voxels[i] = 1 }
        for m in [nil, mask] {
            let runs = [1, 2, 3, 4, 5].map { threads -> VoxelwiseSimilarity in
                Parallelism.withThreadCount(threads) { LocalCorrelation.evaluate(fixed: Self.fixed, moving: Self.moving, radius: 2, mask: m) }
            }
            for s in runs.dropFirst() {
                #expect(s.value == runs[0].value)
                #expect(s.fixedDerivative == runs[0].fixedDerivative && s.movingDerivative == runs[0].movingDerivative)
            }
        }
    }

    @Test func maskRestrictsTheWindows() {
        var mask = Image<UInt8>(geometry: Self.grid)
        for i in 0..<(Self.grid.voxelCount / 2) { mask.voxels[i] = 1 }
        let s = LocalCorrelation.evaluate(fixed: Self.fixed, moving: Self.moving, radius: 1, mask: mask)
        // Voxels beyond the reach of any masked window get no derivative.
        let reach = Self.grid.voxelCount / 2 + 2 * Self.grid.size.x * Self.grid.size.y
        #expect(s.movingDerivative[reach...].allSatisfy { $0 == 0 })
        #expect(s.movingDerivative[..<(Self.grid.voxelCount / 2)].contains { $0 != 0 })
    }
}
