import Foundation
import RegCore
@testable import RegSegment
import Testing

/// Fusion on phantoms whose right answer is known.
@Suite struct LabelFusionTests {
    static let grid2D = try! Geometry(size: SIMD3(24, 20, 1), spacing: SIMD3(1.2, 0.9, 1), origin: SIMD3(-3, 7, 0))
    static let grid3D = try! Geometry(size: SIMD3(14, 12, 10), spacing: SIMD3(1, 1.5, 2), origin: SIMD3(5, -2, 1))

    /// Seeded noise, lightly smoothed along x so patches have structure.
    static func noise(_ g: Geometry, seed: UInt64, scale: Float = 100) -> Image<Float> {
        var rng = SplitMix64(seed: seed)
        var image = Image<Float>(geometry: g)
        for i in image.voxels.indices { image.voxels[i] = Float(rng.nextUnit()) * scale }
        var smooth = image
        for i in 1..<(image.voxels.count - 1) { smooth.voxels[i] = (image.voxels[i - 1] + 2 * image.voxels[i] + image.voxels[i + 1]) / 4 }
        return smooth
    }

    static func labels(_ g: Geometry, _ f: (Int, Int, Int) -> Int32) -> Image<Int32> {
        var out = Image<Int32>(geometry: g)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x { out[x, y, z] = f(x, y, z) } } }
        return out
    }

    static let everywhere2D = Image<UInt8>(geometry: grid2D, filledWith: 1)

    @Test func majorityCountsVotesAndBreaksTiesTowardsTheSmallerLabel() throws {
        let g = Self.grid2D
        let a = Self.labels(g) { x, _, _ in x < 12 ? 1 : 2 }
        let b = Self.labels(g) { x, _, _ in x < 8 ? 1 : 2 }
        let c = Self.labels(g) { x, _, _ in x < 4 ? 1 : 5 }
        let fused = try LabelFusion(method: .majority).fuse(try AtlasStack(labels: [a, b, c]), mask: Self.everywhere2D)
        #expect(fused.labelValues == [1, 2, 5])
        #expect(fused.labels[2, 3, 0] == 1 && fused.confidence[2, 3, 0] == 1)
        #expect(fused.labels[6, 3, 0] == 1 && abs(fused.confidence[6, 3, 0] - 2.0 / 3) < 1e-6)
        // Three different votes: a tie, won by the smallest label.
        #expect(fused.labels[10, 3, 0] == 1 && abs(fused.posterior(ofLabelAt: 0)[10, 3, 0] - 1.0 / 3) < 1e-6)
        #expect(fused.labels[20, 3, 0] == 2 && abs(fused.confidence[20, 3, 0] - 2.0 / 3) < 1e-6)
        // Two atlases: a tie goes to the smaller label.
        let tie = try LabelFusion(method: .majority).fuse(try AtlasStack(labels: [b, c]), mask: Self.everywhere2D)
        #expect(tie.labels[5, 0, 0] == 1 && tie.labels[10, 0, 0] == 2)
        let total = (0..<3).map { tie.posterior(ofLabelAt: $0)[10, 0, 0] }.reduce(0, +)
        #expect(abs(total - 1) < 1e-6)
    }

    @Test func theDefaultMaskIsTheAtlasForegroundGrown() throws {
        let g = Self.grid2D
        let a = Self.labels(g) { x, y, _ in x == 10 && y == 10 ? 3 : 0 }
        let fused = try LabelFusion(method: .majority).fuse(try AtlasStack(labels: [a]))
        #expect(fused.mask.voxels.filter { $0 != 0 }.count == 11 * 11)   // grown by search + patch radius, 5
        #expect(fused.labels == a)
    }

    @Test func jointFusionGivesAnExactAtlasNearlyAllTheWeight() throws {
        for g in [Self.grid2D, Self.grid3D] {
            let target = Self.noise(g, seed: 1)
            let truth = Self.labels(g) { x, y, _ in x + y < 14 ? 1 : 2 }
            let wrong1 = Self.labels(g) { _, _, _ in 7 }, wrong2 = Self.labels(g) { _, _, _ in 9 }
            let stack = try AtlasStack(labels: [wrong1, truth, wrong2],
                                       images: [Self.noise(g, seed: 2), target, Self.noise(g, seed: 3)])
            let everywhere = Image<UInt8>(geometry: g, filledWith: 1)
            let fused = try LabelFusion(method: .jlf).fuse(stack, target: target, mask: everywhere)
            #expect(fused.labels == truth)
            // Its weight is 1/α against the others' 1/(their error + α): far ahead, and all of it as α → 0.
            #expect(fused.confidence.voxels.min()! > 0.7, "the exact atlas's share \(fused.confidence.voxels.min()!)")
            var sharp = LabelFusion(method: .jlf)
            sharp.alpha = 0.001
            let all = try sharp.fuse(stack, target: target, mask: everywhere)
            #expect(all.confidence.voxels.min()! > 0.99, "the exact atlas's share \(all.confidence.voxels.min()!) with α = 0.001")
            // Majority voting cannot tell it from the others.
            let majority = try LabelFusion(method: .majority).fuse(stack, mask: everywhere)
            #expect(majority.confidence.voxels.max()! < 0.34)
        }
    }

    @Test func jointFusionSharesTheWeightOfAtlasesThatMakeTheSameErrors() throws {
        let g = Self.grid2D
        let target = Self.noise(g, seed: 11)
        let a = Self.noise(g, seed: 12), b = Self.noise(g, seed: 13)
        let la = Self.labels(g) { _, _, _ in 1 }, lb = Self.labels(g) { _, _, _ in 2 }
        // The copy adds no information: the two copies share what one had (a copy only halves
        // α on its diagonal), where majority voting would give a a third more votes.
        for (alpha, tolerance) in [(0.1, 0.08), (0.001, 2e-3)] {
            var fusion = LabelFusion(method: .jlf)
            fusion.alpha = alpha
            let pair = try fusion.fuse(try AtlasStack(labels: [la, lb], images: [a, b]), target: target, mask: Self.everywhere2D)
            let twice = try fusion.fuse(try AtlasStack(labels: [la, la, lb], images: [a, a, b]), target: target, mask: Self.everywhere2D)
            let share = pair.posterior(ofLabelAt: 0), shareTwice = twice.posterior(ofLabelAt: 0)
            let difference = Double(zip(share.voxels, shareTwice.voxels).map { abs($0 - $1) }.max()!)
            #expect(difference < tolerance, "α \(alpha): a duplicated atlas changed its share by \(difference)")
            #expect(share.voxels.contains { $0 > 0.2 && $0 < 0.8 })
        }
    }

    /// Where every atlas has one label throughout the search window (the voxels JLF votes for
    /// without weights), against a direct check of every window.
    @Test func uniformLabelsAreWhereEveryAtlasHasOneLabelThroughoutTheWindow() {
        let size = SIMD3(11, 9, 7), radius = SIMD3(2, 1, 3), n = size.x * size.y * size.z
        var generator = SplitMix64(seed: 5)
        // Three atlases, mostly label 1 in a block and 0 elsewhere, with a few scattered changes.
        let atlases: [[UInt16]] = (0..<3).map { _ in
            (0..<n).map { v in
                let x = v % size.x, z = v / (size.x * size.y)
                let base: UInt16 = x < 6 && z < 4 ? 1 : 0
                return generator.next() % 400 == 0 ? 2 : base
            }
        }
        let uniform = JointFusion.uniformLabels(atlases, size: size, radius: radius)
        var found = 0
        for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
            let first = atlases[0][x + size.x * (y + size.y * z)]
            var same = true
            for a in atlases {
                for zz in max(0, z - radius.z)...min(size.z - 1, z + radius.z) {
                    for yy in max(0, y - radius.y)...min(size.y - 1, y + radius.y) {
                        for xx in max(0, x - radius.x)...min(size.x - 1, x + radius.x) where a[xx + size.x * (yy + size.y * zz)] != first { same = false }
                    }
                }
            }
            let u = uniform[x + size.x * (y + size.y * z)]
            #expect(u == (same ? Int32(first) : -1), "voxel \(x), \(y), \(z)")
            if same { found += 1 }
        } } }
        #expect(found > 20 && found < n / 2, "\(found) uniform voxels: the case must have both kinds")
    }

    /// On the whole grid and on a box of some rows and slices (the fusion searches boxes of 16
    /// slices × 24 rows), every voxel's best offset is the direct search's.
    @Test(arguments: [false, true])
    func theBoxSumSearchFindsTheSameMatchesAsADirectSearch(inABox: Bool) throws {
        let g = Self.grid3D
        let target = Self.noise(g, seed: 21), atlas = Self.noise(g, seed: 22)
        let stack = try AtlasStack(labels: [Self.labels(g) { _, _, _ in 1 }], images: [atlas])
        let mask = Image<UInt8>(geometry: g, filledWith: 1)
        let fusion = JointFusion(settings: LabelFusion(method: .jlf), target: target.voxels, stack: stack, mask: mask)
        let (t, a) = (target.voxels, atlas.voxels)
        let box = inABox ? fusion.coreBox(z: 1..<8, y: 2..<9)! : fusion.coreBox(z: 0..<g.size.z, y: 0..<g.size.y)!
        #expect(box.low == (inABox ? SIMD3(0, 2, 1) : .zero))
        let search = SlabSearch(fusion: fusion, box: box, target: IntensityLevel(t, mask: mask), atlases: [IntensityLevel(a, mask: mask)],
                                offsets: fusion.offsets)
        let found = search.searchAtlas(0)
        // Direct: the Pearson correlation of clamped patches, for every offset.
        func value(_ v: some ContiguousValues<Float>, _ p: SIMD3<Int>) -> Double {
            let q = pointwiseMin(pointwiseMax(p, .zero), g.size &- 1)
            return Double(v[q.x + g.size.x * (q.y + g.size.y * q.z)])
        }
        func correlation(_ x: SIMD3<Int>, _ o: SIMD3<Int>) -> Double {
            var tv: [Double] = [], av: [Double] = []
            for dz in -2...2 { for dy in -2...2 { for dx in -2...2 {
                let d = SIMD3(dx, dy, dz)
                tv.append(value(t, x &+ d)); av.append(value(a, x &+ o &+ d))
            } } }
            let mt = tv.reduce(0, +) / 125, ma = av.reduce(0, +) / 125
            let cov = zip(tv, av).reduce(0) { $0 + ($1.0 - mt) * ($1.1 - ma) }
            let va = av.reduce(0) { $0 + ($1 - ma) * ($1 - ma) }
            return cov / max(va.squareRoot(), 1e-12)
        }
        var mismatches = 0, checked = 0
        let points = inABox ? [SIMD3(0, 2, 1), SIMD3(7, 6, 5), SIMD3(13, 8, 7), SIMD3(3, 4, 2), SIMD3(10, 3, 6)]
            : [SIMD3(0, 0, 0), SIMD3(7, 6, 5), SIMD3(13, 11, 9), SIMD3(3, 9, 2), SIMD3(10, 1, 7)]
        let core = box.high &- box.low
        for x in points {
            let c = x &- box.low
            let index = c.x + core.x * (c.y + core.y * c.z)
            let scores = fusion.offsets.map { correlation(x, $0) }
            let best = scores.indices.max { scores[$0] < scores[$1] }!
            checked += 1
            if Int(found[index]) != best && abs(scores[Int(found[index])] - scores[best]) > 1e-4 * abs(scores[best]) { mismatches += 1 }
        }
        #expect(checked == 5 && mismatches == 0)
    }

    @Test func stapleRecoversKnownSensitivities() throws {
        let g = try Geometry(size: SIMD3(80, 80, 8))
        let truth = Self.labels(g) { x, y, z in (x - 40) * (x - 40) + (y - 40) * (y - 40) < 500 + 20 * z ? 1 : 0 }
        let sensitivities = [0.95, 0.85, 0.7, 0.9, 0.8], specificities = [0.97, 0.9, 0.95, 0.85, 0.99]
        var rng = SplitMix64(seed: 5)
        let raters = zip(sensitivities, specificities).map { (p, q) in
            var r = truth
            for i in r.voxels.indices {
                let u = rng.nextUnit()
                r.voxels[i] = truth.voxels[i] == 1 ? (u < p ? 1 : 0) : (u < q ? 0 : 1)
            }
            return r
        }
        let fused = try LabelFusion(method: .staple).fuse(try AtlasStack(labels: raters), mask: Image<UInt8>(geometry: g, filledWith: 1))
        let performance = try #require(fused.raters)
        for (k, p) in sensitivities.enumerated() {
            #expect(abs(performance[k].sensitivity(ofLabelAt: 1) - p) < 0.02, "rater \(k) sensitivity \(performance[k].sensitivity(ofLabelAt: 1)) vs \(p)")
            #expect(abs(performance[k].sensitivity(ofLabelAt: 0) - specificities[k]) < 0.02)
        }
        let wrong = zip(fused.labels.voxels, truth.voxels).filter { $0 != $1 }.count
        let majority = try LabelFusion(method: .majority).fuse(try AtlasStack(labels: raters), mask: Image<UInt8>(geometry: g, filledWith: 1))
        let wrongMajority = zip(majority.labels.voxels, truth.voxels).filter { $0 != $1 }.count
        #expect(wrong < wrongMajority, "STAPLE \(wrong) wrong voxels, majority \(wrongMajority)")
    }

    @Test func weightedVotingFollowsTheLocallySimilarAtlas() throws {
        let g = Self.grid2D
        let target = Self.noise(g, seed: 31)
        // Atlas 1 matches the target on the left half, atlas 2 on the right half.
        var a = Self.noise(g, seed: 32), b = Self.noise(g, seed: 33)
        for y in 0..<g.size.y { for x in 0..<g.size.x { if x < 12 { a[x, y, 0] = target[x, y, 0] } else { b[x, y, 0] = target[x, y, 0] } } }
        let fused = try LabelFusion(method: .weighted).fuse(
            try AtlasStack(labels: [Self.labels(g) { _, _, _ in 1 }, Self.labels(g) { _, _, _ in 2 }], images: [a, b]),
            target: target, mask: Self.everywhere2D)
        #expect(fused.labels[2, 10, 0] == 1 && fused.labels[21, 10, 0] == 2)
        #expect(fused.confidence[2, 10, 0] > 0.9 && fused.confidence[21, 10, 0] > 0.9)
    }

    @Test func nonNegativeWeightsSolveTheConstrainedProblem() {
        // Symmetric positive definite, with a negative entry in the plain solution of A w = 1.
        let a: [Double] = [1, 0.9, 0.6, 0.9, 1, 0.2, 0.6, 0.2, 1]
        func leastSquares(_ columns: [Int]) -> (x: [Double], residual: Double) {
            // Normal equations by Gaussian elimination (at most 3 unknowns).
            let n = columns.count
            var m = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
            for r in 0..<n {
                for c in 0..<n { m[r][c] = (0..<3).reduce(0) { $0 + a[$1 * 3 + columns[r]] * a[$1 * 3 + columns[c]] } }
                m[r][n] = (0..<3).reduce(0) { $0 + a[$1 * 3 + columns[r]] }
            }
            for c in 0..<n { for r in c + 1..<max(c + 1, n) { let f = m[r][c] / m[c][c]; for k in c...n { m[r][k] -= f * m[c][k] } } }
            var x = [Double](repeating: 0, count: n)
            for r in stride(from: n - 1, through: 0, by: -1) {
                x[r] = (m[r][n] - (r + 1..<max(r + 1, n)).reduce(0) { $0 + m[r][$1] * x[$1] }) / m[r][r]
            }
            var full = [0.0, 0, 0]
            for (k, c) in columns.enumerated() { full[c] = x[k] }
            let residual = (0..<3).reduce(0.0) { s, r in
                let e = 1 - (0..<3).reduce(0) { $0 + a[r * 3 + $1] * full[$1] }
                return s + e * e
            }
            return (full, residual)
        }
        let plain = leastSquares([0, 1, 2]).x
        #expect(plain.contains { $0 < 0 }, "the phantom must need the constraint: \(plain)")
        // The constrained optimum: the best least-squares fit over supports whose solution is positive.
        let supports = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]
        let best = supports.map(leastSquares).filter { $0.x.allSatisfy { $0 >= 0 } }.min { $0.residual < $1.residual }!.x
        let total = best.reduce(0, +)
        var solver = WeightSolver(count: 3)
        let constrained = solver.weights(a, nonNegative: true)
        for k in 0..<3 { #expect(abs(constrained[k] - best[k] / total) < 1e-9, "\(constrained) vs \(best.map { $0 / total })") }
        // Without the constraint: the plain solution with its negative weight set to 0, scaled to sum 1.
        let clipped = plain.map { max(0, $0) }, clippedTotal = clipped.reduce(0, +)
        let unconstrained = solver.weights(a, nonNegative: false)
        for k in 0..<3 { #expect(abs(unconstrained[k] - clipped[k] / clippedTotal) < 1e-9) }
    }

    @Test func mismatchedInputsAreRefusedByName() throws {
        let other = try Geometry(size: SIMD3(24, 20, 1), spacing: SIMD3(1, 1, 1))
        let a = Self.labels(Self.grid2D) { _, _, _ in 1 }, b = Self.labels(other) { _, _, _ in 1 }
        #expect(throws: RegError.self) { try AtlasStack(labels: [a, b], names: ["a.nii.gz", "b.nii.gz"]) }
        do {
            _ = try AtlasStack(labels: [a, b], names: ["a.nii.gz", "b.nii.gz"])
        } catch {
            #expect("\(error)".contains("b.nii.gz") && "\(error)".contains("a.nii.gz"))
        }
        let stack = try AtlasStack(labels: [a])
        #expect(throws: RegError.self) { try LabelFusion(method: .jlf).fuse(stack, target: Self.noise(Self.grid2D, seed: 1)) }
        #expect(throws: RegError.self) { try LabelFusion(method: .majority).fuse(stack, mask: Image<UInt8>(geometry: other)) }
    }
}
