import Foundation
import RegCore
import RegKernels

/// Joint label fusion (Wang & Yushkevich 2013) as `antsJointFusion` computes it:
///
/// 1. At every voxel x of the mask, each atlas i's patch (radius `patchRadius`) may move by an
///    offset sᵢ within `searchRadius` to the position whose patch correlates best with the
///    target's patch (the closer offset on a tie).
/// 2. With dᵢ the absolute differences of the target's patch and atlas i's matched patch,
///    each normalised to mean 0 and standard deviation 1: Mᵢⱼ = (Σₚ dᵢₚ dⱼₚ / (P − 1))^β, and
///    the weights solve (M + αI) w = 1, negative weights set to 0 (or, with `nonNegative`,
///    the non-negative least-squares solution), scaled to sum 1.
/// 3. Each patch votes for every voxel it covers: voxel y hears, from every mask voxel x within
///    the patch radius and every atlas i, the label of atlas i at y + sᵢ(x) with weight wᵢ(x);
///    the probabilities are the votes over their sum.
///
/// The search runs on box sums: for each offset, the products of the target and the shifted
/// atlas are summed over every patch of a slab at once. Where `antsJointFusion` floors the
/// patch standard deviation at 1 (an intensity unit), this floors it at 1 % of the image's
/// standard deviation in the mask, so the result does not depend on the intensity scale.
struct JointFusion {
    let settings: LabelFusion
    let target: VoxelBuffer<Float>
    let stack: AtlasStack
    let mask: Image<UInt8>

    /// Patch and search radii per axis (0 along an axis of one voxel).
    var patch: SIMD3<Int> { radii(settings.patchRadius) }
    var search: SIMD3<Int> { radii(settings.searchRadius) }

    func radii(_ r: Int) -> SIMD3<Int> {
        let s = stack.geometry.size
        return SIMD3(s.x > 1 ? r : 0, s.y > 1 ? r : 0, s.z > 1 ? r : 0)
    }

    /// The search offsets, nearest (in mm) first; equal distances in raster order.
    var offsets: [SIMD3<Int>] {
        let s = search, spacing = stack.geometry.spacing
        var list: [SIMD3<Int>] = []
        for dz in -s.z...s.z { for dy in -s.y...s.y { for dx in -s.x...s.x { list.append(SIMD3(dx, dy, dz)) } } }
        let distance = { (o: SIMD3<Int>) -> Double in
            let d = SIMD3<Double>(Double(o.x), Double(o.y), Double(o.z)) * spacing
            return (d * d).sum()
        }
        return list.enumerated().sorted { (a, b) in
            let (da, db) = (distance(a.element), distance(b.element))
            return da != db ? da < db : a.offset < b.offset
        }.map(\.element)
    }

    func fuse() -> FusedLabels {
        let g = stack.geometry, atlasCount = stack.count
        var rank = [Int32](repeating: -1, count: g.voxelCount)
        var masked = 0
        for v in 0..<g.voxelCount where mask.voxels[v] != 0 { rank[v] = Int32(masked); masked += 1 }
        let targetLevel = IntensityLevel(target, mask: mask)
        let atlasLevels = stack.images.map { IntensityLevel($0, mask: mask) }
        var weights = [Float](repeating: 0, count: masked * atlasCount)
        var shifts = [UInt16](repeating: 0, count: masked * atlasCount)
        let offsets = self.offsets
        // Boxes of 16 slices × 24 rows: the sums of one offset stay in the core's cache (a fifth
        // faster than whole slabs on 256³ heads).
        let depth = 16, height = 24
        let rowBlocks = (g.size.y + height - 1) / height, slabs = (g.size.z + depth - 1) / depth * rowBlocks
        weights.withUnsafeMutableBufferPointer { w in
            shifts.withUnsafeMutableBufferPointer { s in
                let wOut = UnsafeSendable(w.baseAddress!), sOut = UnsafeSendable(s.baseAddress!)
                parallelFor(count: slabs) { range in
                    for slab in range {
                        let (zBlock, yBlock) = slab.quotientAndRemainder(dividingBy: rowBlocks)
                        let z = (zBlock * depth)..<min(g.size.z, (zBlock + 1) * depth)
                        let y = (yBlock * height)..<min(g.size.y, (yBlock + 1) * height)
                        guard let box = coreBox(z: z, y: y) else { continue }
                        var work = SlabSearch(fusion: self, box: box, target: targetLevel, atlases: atlasLevels, offsets: offsets)
                        work.findWeights(rank: rank, weights: wOut.value, shifts: sOut.value)
                    }
                }
            }
        }
        // Votes: each voxel of the mask hears every patch that covers it. Where every atlas has
        // one label throughout the search window, every vote is for it.
        let p = patch
        let (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
        let delta = offsets.map { $0.x + nx * ($0.y + ny * $0.z) }
        let uniform = Self.uniformLabels(stack.labels, size: g.size, radius: search)
        let sr = search
        return rank.withUnsafeBufferPointer { rk in
            weights.withUnsafeBufferPointer { wt in
                shifts.withUnsafeBufferPointer { sh in
                    let rank = UnsafeSendable(rk.baseAddress!), weights = UnsafeSendable(wt.baseAddress!), shifts = UnsafeSendable(sh.baseAddress!)
                    return stack.withLabelPointers { labelPointers in
                    delta.withUnsafeBufferPointer { deltaBuffer in
                    let labels = labelPointers.map(UnsafeSendable.init), delta = UnsafeSendable(deltaBuffer.baseAddress!)
                    return FusedLabels.gather(stack: stack, mask: mask) { slab, out in
                        var tally = VoteTally(labelCount: stack.labelValues.count)
                        for z in slab { for y in 0..<ny { for x in 0..<nx {
                            let v = x + nx * (y + ny * z)
                            guard mask.voxels[v] != 0 else { continue }
                            tally.reset()
                            if uniform[v] >= 0 {
                                tally.add(UInt16(uniform[v]), 1)
                                out.record(v - out.firstVoxel, votes: tally)
                                continue
                            }
                            // Away from the grid's faces every shifted voxel is inside it.
                            let interior = x >= sr.x && x < nx - sr.x && y >= sr.y && y < ny - sr.y && z >= sr.z && z < nz - sr.z
                            for cz in max(0, z - p.z)...min(nz - 1, z + p.z) {
                                for cy in max(0, y - p.y)...min(ny - 1, y + p.y) {
                                    for cx in max(0, x - p.x)...min(nx - 1, x + p.x) {
                                        let r = Int(rank.value[cx + nx * (cy + ny * cz)])
                                        guard r >= 0 else { continue }
                                        let base = r * atlasCount
                                        for i in 0..<atlasCount {
                                            let k = Int(shifts.value[base + i])
                                            if !interior {
                                                let o = offsets[k]
                                                let (qx, qy, qz) = (x + o.x, y + o.y, z + o.z)
                                                guard qx >= 0, qx < nx, qy >= 0, qy < ny, qz >= 0, qz < nz else { continue }
                                            }
                                            tally.add(labels[i].value[v + delta.value[k]], Double(weights.value[base + i]))
                                        }
                                    }
                                }
                            }
                            out.record(v - out.firstVoxel, votes: tally)
                        } } }
                    }
                    }
                    }
                }
            }
        }
    }

    /// Per voxel: the label index every atlas has throughout the window of `radius` around it,
    /// or −1 where any label differs (separable running minima and maxima of the indices).
    /// The atlases agree on a label throughout the window exactly where their consensus (the label
    /// all of them give a voxel, −1 where any differs) is that label throughout the window: one
    /// running minimum and maximum of the consensus instead of one per atlas.
    static func uniformLabels(_ atlases: [[UInt16]], size: SIMD3<Int>, radius: SIMD3<Int>) -> [Int32] {
        var consensus = atlases[0].map(Int32.init)
        for labels in atlases.dropFirst() {
            for v in consensus.indices where consensus[v] != Int32(labels[v]) { consensus[v] = -1 }
        }
        var low = consensus, high = consensus
        for axis in 0..<3 where radius[axis] > 0 {
            low = Self.runningExtreme(low, size: size, axis: axis, radius: radius[axis], min)
            high = Self.runningExtreme(high, size: size, axis: axis, radius: radius[axis], max)
        }
        return zip(low, high).map { $0 == $1 ? $0 : -1 }
    }

    /// The minimum (or maximum) over windows of `radius` along one axis (clipped at the edges).
    static func runningExtreme(_ values: [Int32], size: SIMD3<Int>, axis: Int, radius r: Int,
                               _ pick: (Int32, Int32) -> Int32) -> [Int32] {
        let strides = [1, size.x, size.x * size.y], n = size[axis], stride = strides[axis]
        let others = (0..<3).filter { $0 != axis }
        var out = values
        for b in 0..<size[others[1]] { for a in 0..<size[others[0]] {
            let start = a * strides[others[0]] + b * strides[others[1]]
            for i in 0..<n {
                var e = values[start + i * stride]
                for j in max(0, i - r)...min(n - 1, i + r) { e = pick(e, values[start + j * stride]) }
                out[start + i * stride] = e
            }
        } }
        return out
    }

    /// The bounding box of the mask's voxels in slices `z`, rows `y` (nil when it has none).
    func coreBox(z: Range<Int>, y rows: Range<Int>) -> (low: SIMD3<Int>, high: SIMD3<Int>)? {
        let g = stack.geometry
        var low = SIMD3(Int.max, Int.max, Int.max), high = SIMD3(-1, -1, -1)
        for zz in z { for y in rows {
            let row = g.size.x * (y + g.size.y * zz)
            for x in 0..<g.size.x where mask.voxels[row + x] != 0 {
                low = pointwiseMin(low, SIMD3(x, y, zz)); high = pointwiseMax(high, SIMD3(x, y, zz))
            }
        } }
        return high.x < 0 ? nil : (low, high &+ 1)
    }
}

/// An image's mean in the mask, subtracted from every value the search reads (the box sums of
/// products then stay small against the products' means), and the floor of its patch standard
/// deviations: 1 % of its standard deviation in the mask (a tiny positive number for a flat image).
struct IntensityLevel {
    let mean: Float
    let floor: Float

    init(_ values: VoxelBuffer<Float>, mask: Image<UInt8>) {
        var n = 0.0, sum = 0.0, sum2 = 0.0
        for (v, m) in mask.voxels.enumerated() where m != 0 {
            let t = Double(values[v])
            n += 1; sum += t; sum2 += t * t
        }
        let mean = n > 0 ? sum / n : 0
        let sd = n > 1 ? (max(0, sum2 - n * mean * mean) / (n - 1)).squareRoot() : 0
        self.mean = Float(mean)
        floor = Float(max(0.01 * sd, 1e-12))
    }
}

/// The search and the weights of one slab's core box (the mask's voxels in a few slices).
struct SlabSearch {
    let fusion: JointFusion
    let low: SIMD3<Int>, core: SIMD3<Int>
    let patch: SIMD3<Int>, search: SIMD3<Int>
    let offsets: [SIMD3<Int>]
    /// The target over the core box grown by the patch radius; its patch means and inverse
    /// standard deviations over the core box.
    var target: [Float]
    var targetMean: [Float], targetScale: [Float]
    /// Atlas after atlas: the atlas over the core grown by patch + search radius (`atlasBox`),
    /// and its patch means and inverse standard deviations over the core grown by the search
    /// radius (`statsBox`).
    var atlas: [Float] = [], atlasMean: [Float] = [], atlasScale: [Float] = []
    var atlasCount = 0
    /// Per atlas: the best offset's index at every core voxel.
    var best: [[UInt16]] = []

    var targetBox: SIMD3<Int> { core &+ 2 &* patch }
    var atlasBox: SIMD3<Int> { core &+ 2 &* (patch &+ search) }
    var statsBox: SIMD3<Int> { core &+ 2 &* search }

    init(fusion: JointFusion, box: (low: SIMD3<Int>, high: SIMD3<Int>), target level: IntensityLevel,
         atlases: [IntensityLevel], offsets: [SIMD3<Int>]) {
        self.fusion = fusion
        low = box.low
        core = box.high &- box.low
        patch = fusion.patch
        search = fusion.search
        self.offsets = offsets
        let grid = fusion.stack.geometry.size
        target = Self.gather(fusion.target, less: level.mean, grid: grid, from: low &- patch, size: core &+ 2 &* patch)
        (targetMean, targetScale) = Self.patchStatistics(target, size: core &+ 2 &* patch, patch: patch, inner: core, floor: level.floor)
        for (values, level) in zip(fusion.stack.images, atlases) {
            let a = Self.gather(values, less: level.mean, grid: grid, from: low &- patch &- search, size: core &+ 2 &* (patch &+ search))
            let (mean, scale) = Self.patchStatistics(a, size: core &+ 2 &* (patch &+ search), patch: patch, inner: core &+ 2 &* search,
                                                     floor: level.floor)
            atlas += a; atlasMean += mean; atlasScale += scale
            atlasCount += 1
        }
    }

    /// Values of a box of the grid less `level`, coordinates clamped to the grid (edge voxels repeat).
    static func gather(_ values: VoxelBuffer<Float>, less level: Float, grid: SIMD3<Int>, from start: SIMD3<Int>, size: SIMD3<Int>) -> [Float] {
        var out = [Float](repeating: 0, count: size.x * size.y * size.z)
        var i = 0
        for z in 0..<size.z {
            let gz = min(max(start.z + z, 0), grid.z - 1)
            for y in 0..<size.y {
                let gy = min(max(start.y + y, 0), grid.y - 1)
                let row = grid.x * (gy + grid.y * gz)
                for x in 0..<size.x {
                    out[i] = values[row + min(max(start.x + x, 0), grid.x - 1)] - level
                    i += 1
                }
            }
        }
        return out
    }

    /// Patch means and inverse (sample) standard deviations, floored, at the `inner` box centred
    /// in a box of `size` (whose margins are the patch radius).
    static func patchStatistics(_ values: [Float], size: SIMD3<Int>, patch: SIMD3<Int>, inner: SIMD3<Int>,
                                floor: Float) -> ([Float], [Float]) {
        let n = Double((2 * patch.x + 1) * (2 * patch.y + 1) * (2 * patch.z + 1))
        var s1 = values.map(Double.init), s2 = values.map { Double($0) * Double($0) }
        // Windows clipped at the box's faces: only the inner box, a full patch from them, is read
        // (an axis without a patch radius is one voxel long).
        BoxSums.sum(&s1, size: size, radius: patch.max())
        BoxSums.sum(&s2, size: size, radius: patch.max())
        var mean = [Float](repeating: 0, count: inner.x * inner.y * inner.z), scale = mean
        var i = 0
        for z in 0..<inner.z { for y in 0..<inner.y {
            let row = (z + patch.z) * size.x * size.y + (y + patch.y) * size.x + patch.x
            for x in 0..<inner.x {
                let m = s1[row + x] / n
                let variance = n > 1 ? max(0, (s2[row + x] - n * m * m) / (n - 1)) : 0
                mean[i] = Float(m)
                scale[i] = 1 / max(Float(variance.squareRoot()), floor)
                i += 1
            }
        } }
        return (mean, scale)
    }

    /// Finds every core voxel's best offset per atlas, then the weights of the mask's voxels.
    mutating func findWeights(rank: [Int32], weights: UnsafeMutablePointer<Float>, shifts: UnsafeMutablePointer<UInt16>) {
        for i in 0..<atlasCount { best.append(searchAtlas(i)) }
        let g = fusion.stack.geometry.size
        let settings = fusion.settings
        let p = patch, tb = targetBox, ab = atlasBox, sb = statsBox, s = search
        let patchSize = (2 * p.x + 1) * (2 * p.y + 1) * (2 * p.z + 1), width = 2 * p.x + 1
        let norm = Float(max(1, patchSize - 1)), squared = settings.beta == 2
        var d = [Float](repeating: 0, count: atlasCount * patchSize)
        var m = [Double](repeating: 0, count: atlasCount * atlasCount)
        var solver = WeightSolver(count: atlasCount)
        let atlasVoxels = ab.x * ab.y * ab.z, statsVoxels = sb.x * sb.y * sb.z
        atlas.withUnsafeBufferPointer { abuf in
        d.withUnsafeMutableBufferPointer { dbuf in
        target.withUnsafeBufferPointer { tbuf in
            let dp = dbuf.baseAddress!, t = tbuf.baseAddress!, atlases = abuf.baseAddress!
            var c = 0
            for z in 0..<core.z { for y in 0..<core.y { for x in 0..<core.x {
                defer { c += 1 }
                let r = Int(rank[(low.x + x) + g.x * ((low.y + y) + g.y * (low.z + z))])
                guard r >= 0 else { continue }
                // Normalised patch differences, atlas by atlas.
                let tMean = targetMean[c], tScale = targetScale[c]
                for i in 0..<atlasCount {
                    let o = offsets[Int(best[i][c])]
                    let sc = SIMD3(x, y, z) &+ s &+ o
                    let si = sc.x + sb.x * (sc.y + sb.y * sc.z)
                    let aMean = atlasMean[i * statsVoxels + si], aScale = atlasScale[i * statsVoxels + si]
                    let a = atlases + i * atlasVoxels
                    var k = i * patchSize
                    for pz in 0...(2 * p.z) { for py in 0...(2 * p.y) {
                        let trow = t + x + tb.x * ((y + py) + tb.y * (z + pz))
                        let arow = a + sc.x + ab.x * ((sc.y + py) + ab.y * (sc.z + pz))
                        for px in 0..<width { dp[k + px] = abs((trow[px] - tMean) * tScale - (arow[px] - aMean) * aScale) }
                        k += width
                    } }
                }
                for i in 0..<atlasCount {
                    let di = dp + i * patchSize
                    for j in i..<atlasCount {
                        let dj = dp + j * patchSize
                        // Eight products at a time, then the rest (a fixed order: the same bits on any machine).
                        var lanes = SIMD8<Float>(), k = 0
                        while k + 8 <= patchSize {
                            lanes += UnsafeRawPointer(di + k).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(dj + k).loadUnaligned(as: SIMD8<Float>.self)
                            k += 8
                        }
                        var sum = lanes.sum()
                        while k < patchSize { sum += di[k] * dj[k]; k += 1 }
                        let mean = Double(sum / norm)
                        let v = squared ? mean * mean : pow(mean, settings.beta)
                        m[i * atlasCount + j] = v
                        m[j * atlasCount + i] = v
                    }
                    m[i * atlasCount + i] += settings.alpha
                }
                let w = solver.weights(m, nonNegative: settings.nonNegative)
                for i in 0..<atlasCount {
                    weights[r * atlasCount + i] = Float(w[i])
                    shifts[r * atlasCount + i] = best[i][c]
                }
            } } }
        } } }
    }

    /// The index of the best-correlating offset at every core voxel for atlas `i`: for each
    /// offset, window sums of target × shifted atlas along x (over every row of the target's
    /// box), then y, then z, where each core voxel's score is compared with its best so far.
    func searchAtlas(_ i: Int) -> [UInt16] {
        let tb = targetBox, ab = atlasBox, sb = statsBox, p = patch, s = search, c = core
        let coreCount = c.x * c.y * c.z
        var bestIndex = [Float](repeating: 0, count: coreCount)
        var bestScore = [Float](repeating: -.infinity, count: coreCount)
        var rows = [Float](repeating: 0, count: c.x * tb.y * tb.z)
        var planes = [Float](repeating: 0, count: c.x * c.y * tb.z)
        var zSums = [Float](repeating: 0, count: c.x * c.y)
        let invN = 1 / Float((2 * p.x + 1) * (2 * p.y + 1) * (2 * p.z + 1))
        target.withUnsafeBufferPointer { tbuf in
        atlas.withUnsafeBufferPointer { abuf in
        targetMean.withUnsafeBufferPointer { tmean in
        atlasMean.withUnsafeBufferPointer { amean in
        atlasScale.withUnsafeBufferPointer { ascale in
        rows.withUnsafeMutableBufferPointer { rowBuf in
        planes.withUnsafeMutableBufferPointer { planeBuf in
        zSums.withUnsafeMutableBufferPointer { zBuf in
        bestIndex.withUnsafeMutableBufferPointer { bestI in
        bestScore.withUnsafeMutableBufferPointer { bestS in
            let atlasVoxels = ab.x * ab.y * ab.z, statsVoxels = sb.x * sb.y * sb.z
            let t = tbuf.baseAddress!, a = abuf.baseAddress! + i * atlasVoxels, tm = tmean.baseAddress!
            let am = amean.baseAddress! + i * statsVoxels, asc = ascale.baseAddress! + i * statsVoxels
            let rs = rowBuf.baseAddress!, ps = planeBuf.baseAddress!, zs = zBuf.baseAddress!
            let bi = bestI.baseAddress!, bs = bestS.baseAddress!
            for (index, o) in offsets.enumerated() {
                let label = Float(index)
                // x: Σ over 2p.x + 1 products, for the core's x positions of every row of the target box.
                for z in 0..<tb.z { for y in 0..<tb.y {
                    let trow = t + tb.x * (y + tb.y * z)
                    let arow = a + (s.x + o.x) + ab.x * ((y + s.y + o.y) + ab.y * (z + s.z + o.z))
                    let out = rs + c.x * (y + tb.y * z)
                    for x in 0..<c.x { out[x] = trow[x] * arow[x] }
                    for k in stride(from: 1, through: 2 * p.x, by: 1) {
                        let tk = trow + k, ak = arow + k
                        for x in 0..<c.x { out[x] += tk[x] * ak[x] }
                    }
                } }
                // y: Σ over 2p.y + 1 rows, sliding (one row in, one out).
                for z in 0..<tb.z {
                    let first = rs + c.x * tb.y * z, out = ps + c.x * c.y * z
                    for x in 0..<c.x { out[x] = first[x] }
                    for k in stride(from: 1, through: 2 * p.y, by: 1) {
                        let row = first + c.x * k
                        for x in 0..<c.x { out[x] += row[x] }
                    }
                    for y in stride(from: 1, to: c.y, by: 1) {
                        let o = out + c.x * y, previous = o - c.x, incoming = first + c.x * (y + 2 * p.y), outgoing = first + c.x * (y - 1)
                        for x in 0..<c.x { o[x] = previous[x] + incoming[x] - outgoing[x] }
                    }
                }
                // z: Σ over 2p.z + 1 planes, sliding, then cov · σ_A⁻¹ against the best so far.
                let planeSize = c.x * c.y
                for z in 0..<c.z {
                    if z == 0 {
                        for i in 0..<planeSize { zs[i] = ps[i] }
                        for k in stride(from: 1, through: 2 * p.z, by: 1) {
                            let plane = ps + planeSize * k
                            for i in 0..<planeSize { zs[i] += plane[i] }
                        }
                    } else {
                        let incoming = ps + planeSize * (z + 2 * p.z), outgoing = ps + planeSize * (z - 1)
                        for i in 0..<planeSize { zs[i] += incoming[i] - outgoing[i] }
                    }
                    for y in 0..<c.y {
                        let col = zs + c.x * y
                        let cv = c.x * (y + c.y * z)
                        let srow = (s.x + o.x) + sb.x * ((y + s.y + o.y) + sb.y * (z + s.z + o.z))
                        let tmRow = tm + cv, amRow = am + srow, ascRow = asc + srow, bsRow = bs + cv, biRow = bi + cv
                        var x = 0
                        let labels = SIMD8<Float>(repeating: label)
                        while x + 8 <= c.x {
                            func load(_ q: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(q + x).loadUnaligned(as: SIMD8<Float>.self) }
                            let score = (load(col) * invN - load(tmRow) * load(amRow)) * load(ascRow)
                            var best = load(bsRow), index = load(biRow)
                            let better = score .> best
                            best.replace(with: score, where: better)
                            index.replace(with: labels, where: better)
                            UnsafeMutableRawPointer(bsRow + x).storeBytes(of: best, as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(biRow + x).storeBytes(of: index, as: SIMD8<Float>.self)
                            x += 8
                        }
                        while x < c.x {
                            let score = (col[x] * invN - tmRow[x] * amRow[x]) * ascRow[x]
                            if score > bsRow[x] { bsRow[x] = score; biRow[x] = label }
                            x += 1
                        }
                    }
                }
            }
        } } } } } } } } } }
        return bestIndex.map { UInt16($0) }
    }
}
