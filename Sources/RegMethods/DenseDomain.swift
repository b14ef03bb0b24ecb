import RegCore

/// Where a dense stage (SyN, demons) iterates on the fixed grid (plan key `domain`).
///
/// ```swift
/// var syn = DeformableStage.synLocalCorrelation
/// syn.domain = .grid      // every voxel of the fixed grid, as ANTs does
/// ```
public enum StageDomain: String, CaseIterable, Equatable, Sendable, Codable {
    /// The box around the fixed image's content (its mask, else its voxels above a tenth of its
    /// 99th percentile) grown by a margin (`DenseDomain`), when that box leaves out over a fifth
    /// of the grid: a whole head in a 256³ field of view then spends no iteration on the air
    /// around it. The default.
    case content
    /// The whole fixed grid.
    case grid
}

/// The box of the fixed grid a dense stage iterates on with `StageDomain.content`: the fixed
/// image's content (its mask, else `ContentRegion`) grown by a margin on every side, in whole
/// blocks of the pyramid's shrink factors. The fields are carried back onto the whole grid at
/// the end, held at their value on the box's faces beyond it.
struct DenseDomain {
    let low: SIMD3<Int>
    let high: SIMD3<Int>

    /// The box, or nil when it would keep most of the grid anyway (over `keepAll` of its voxels)
    /// or the image has no content: the stage then runs on the whole grid.
    init?(fixed: Image<Float>, mask: Image<UInt8>?, margin: Double, blocks: Int = 1, keepAll: Double = 0.8) {
        let g = fixed.geometry, n = g.size
        var low = n, high = SIMD3<Int>(repeating: -1)
        guard let threshold = mask == nil ? ContentRegion.threshold(fixed) : 0 else { return nil }
        let values = fixed.voxels, flags = mask?.voxels
        for z in 0..<n.z { for y in 0..<n.y {
            let row = g.offset(0, y, z)
            var first = -1, last = -1
            if let flags {
                for x in 0..<n.x where flags[row + x] != 0 { if first < 0 { first = x }; last = x }
            } else {
                for x in 0..<n.x where values[row + x] > threshold { if first < 0 { first = x }; last = x }
            }
            guard first >= 0 else { continue }
            low = pointwiseMin(low, SIMD3(first, y, z)); high = pointwiseMax(high, SIMD3(last, y, z))
        } }
        guard high.x >= 0 else { return nil }
        var grow = SIMD3<Int>.zero
        for a in 0..<3 where n[a] > 1 { grow[a] = Int((margin / g.spacing[a]).rounded(.up)) }
        // Whole blocks of the pyramid's shrink factors from the grid's corner, so every level's
        // voxels are those of the whole grid's pyramid.
        var from = pointwiseMax(low &- grow, .zero), to = pointwiseMin(high &+ 1 &+ grow, n)
        for a in 0..<3 where n[a] > 1 {
            from[a] = from[a] / blocks * blocks
            to[a] = min(n[a], from[a] + (to[a] - from[a] + blocks - 1) / blocks * blocks)
        }
        let extent = SIMD3<Double>(to &- from)
        guard extent.x * extent.y * extent.z <= keepAll * Double(g.voxelCount) else { return nil }
        self.low = from
        self.high = to
    }

    /// The box of `stage` on `fixed` (already unit-ranged): the margin is the update smoothing's
    /// σ at the coarsest level (at least three of its voxels), so the fields near the box's faces
    /// hold most of the spill of the content's forces; nil with `.grid` or where the whole grid
    /// is kept.
    init?(_ stage: DeformableStage, fixed: Image<Float>, mask: Image<UInt8>?) {
        guard stage.domain == .content else { return nil }
        let shrinks = stage.levels.map(\.shrink)
        let voxel = Double(shrinks.max() ?? 1) * fixed.geometry.spacing.max()
        self.init(fixed: fixed, mask: mask, margin: voxel * max(3, stage.updateSigma),
                  blocks: shrinks.reduce(1) { a, b in a / Self.gcd(a, b) * b })
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
