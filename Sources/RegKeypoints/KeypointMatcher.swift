import Foundation
import RegCore

/// Finds fixed-image keypoints in the moving image by their MIND-SSC descriptors: for each
/// point, the sum of descriptor distances over a sparse patch (3 samples per axis, `patchStep`
/// voxels apart) is compared at every moving voxel within `searchRadius` mm of where `initial`
/// sends it, first on a grid about 2 mm apart, then voxel by voxel about the best place, and
/// refined below a voxel by a parabola through the neighbouring distances. With
/// `crossCheck`, the moving place is searched back in the fixed image and the match kept only
/// when it leads back to within a voxel of the keypoint. Patches are compared in physical
/// space (the moving patch is the fixed one carried by `initial`), so the two images may have
/// different grids, spacings and orientations.
///
/// ```swift
/// let points = try ForstnerDetector().detect(in: fixed)
/// let matches = KeypointMatcher(searchRadius: 15).match(points, fixed: fixed, moving: moving)
/// ```
public struct KeypointMatcher: Sendable {
    /// How far from the initial guess a match may lie, mm.
    public var searchRadius: Double
    /// Voxels between the patch's samples (3 per axis).
    public var patchStep: Int
    /// Keep a match only when searching back from it finds the keypoint again.
    public var crossCheck: Bool

    public init(searchRadius: Double = 15, patchStep: Int = 3, crossCheck: Bool = true) {
        self.searchRadius = searchRadius
        self.patchStep = patchStep
        self.crossCheck = crossCheck
    }

    /// The matches of `keypoints` (found in `fixed`), in their order; points whose patch leaves
    /// either image, or that fail the cross-check, are left out.
    /// - Parameter initial: fixed → moving physical map to search about (identity: the images
    ///   are already roughly aligned in physical space).
    public func match(_ keypoints: [Keypoint], fixed: Image<Float>, moving: Image<Float>, initial: AffineMap = .identity) -> [KeypointMatch] {
        let fixedMIND = MINDDescriptors(image: fixed), movingMIND = MINDDescriptors(image: moving)
        return match(keypoints, fixed: fixedMIND, moving: movingMIND, initial: initial)
    }

    /// The same with descriptors already computed (to match several point sets, or both ways).
    public func match(_ keypoints: [Keypoint], fixed: MINDDescriptors, moving: MINDDescriptors,
                      initial: AffineMap = .identity) -> [KeypointMatch] {
        let pair = PatchPair(fixed: fixed.geometry, moving: moving.geometry, linear: initial.matrix, step: patchStep)
        let forward = SearchWindow(around: moving.geometry, radius: searchRadius)
        let backward = SearchWindow(around: fixed.geometry, radius: searchRadius)
        var found = [KeypointMatch?](repeating: nil, count: keypoints.count)
        fixed.values.withUnsafeBufferPointer { fb in
            moving.values.withUnsafeBufferPointer { mb in
                found.withUnsafeMutableBufferPointer { out in
                    let f = UnsafeSendable(fb.baseAddress!), m = UnsafeSendable(mb.baseAddress!), o = UnsafeSendable(out.baseAddress!)
                    parallelFor(count: keypoints.count, chunkSize: 4) { range in
                        for k in range {
                            let point = keypoints[k]
                            guard pair.fits(point.voxel, in: fixed.geometry.size, side: .fixed) else { continue }
                            let guess = moving.geometry.continuousIndex(ofPhysicalPoint: initial.apply(point.position))
                            let fixedOffset = fixed.geometry.offset(point.voxel.x, point.voxel.y, point.voxel.z)
                            guard let best = forward.search(about: guess, valid: { pair.fits($0, in: moving.geometry.size, side: .moving) },
                                                            cost: { q in pair.cost(f.value, fixedOffset, m.value, moving.geometry.offset(q.x, q.y, q.z)) })
                            else { continue }
                            if crossCheck {
                                let movingOffset = moving.geometry.offset(best.voxel.x, best.voxel.y, best.voxel.z)
                                guard let back = backward.search(about: SIMD3<Double>(point.voxel),
                                                                 valid: { pair.fits($0, in: fixed.geometry.size, side: .fixed) },
                                                                 cost: { v in pair.cost(f.value, fixed.geometry.offset(v.x, v.y, v.z), m.value, movingOffset) }),
                                      magnitude(back.voxel &- point.voxel).max() <= 1 else { continue }
                            }
                            // The search matched the keypoint's voxel; its sub-voxel place is carried along.
                            let refinement = initial.matrix * (point.position - fixed.geometry.physicalPoint(ofIndex: SIMD3<Double>(point.voxel)))
                            o.value[k] = KeypointMatch(fixed: point.position, moving: moving.geometry.physicalPoint(ofIndex: best.position) + refinement,
                                                       confidence: best.confidence)
                        }
                    }
                }
            }
        }
        return found.compactMap { $0 }
    }
}

/// The sparse patch compared between a fixed and a moving voxel: fixed voxel offsets on a
/// 3-per-axis grid and the moving voxel offsets of the same physical displacements.
struct PatchPair: Sendable {
    enum Side { case fixed, moving }
    let fixedOffsets: [SIMD3<Int>]
    let movingOffsets: [SIMD3<Int>]
    /// The same offsets as byte offsets into each image's descriptors.
    let fixedBytes: [Int]
    let movingBytes: [Int]

    init(fixed: Geometry, moving: Geometry, linear: Matrix3, step: Int) {
        // 3 samples per axis in 3-D (27), 5 in 2-D (25), so a 2-D patch, whose descriptors have
        // 4 channels rather than 12, still compares as many samples.
        let line = fixed.dimension == 2 ? [-2 * step, -step, 0, step, 2 * step] : [-step, 0, step]
        let zs = fixed.dimension == 2 ? [0] : line
        var f: [SIMD3<Int>] = [], m: [SIMD3<Int>] = []
        for z in zs {
            for y in line {
                for x in line {
                    let o = SIMD3(x, y, z)
                    let mm = linear * (fixed.indexToPhysical * SIMD3<Double>(o))
                    var q = moving.physicalToIndex * mm
                    if moving.dimension == 2 { q.z = 0 }
                    f.append(o)
                    m.append(SIMD3(Int(q.x.rounded()), Int(q.y.rounded()), Int(q.z.rounded())))
                }
            }
        }
        fixedOffsets = f
        movingOffsets = m
        let stride = MINDDescriptors.channelStride
        fixedBytes = f.map { stride * ($0.x + fixed.size.x * ($0.y + fixed.size.y * $0.z)) }
        movingBytes = m.map { stride * ($0.x + moving.size.x * ($0.y + moving.size.y * $0.z)) }
    }

    /// Whether every patch sample about `voxel` lies inside a grid of `size`.
    func fits(_ voxel: SIMD3<Int>, in size: SIMD3<Int>, side: Side) -> Bool {
        for o in side == .fixed ? fixedOffsets : movingOffsets {
            let v = voxel &+ o
            if any(v .< 0) || any(v .>= size) { return false }
        }
        return true
    }

    /// The patch distance between fixed voxel offset `fixedVoxel` and moving voxel offset `movingVoxel`.
    @inline(__always) func cost(_ f: UnsafePointer<UInt8>, _ fixedVoxel: Int, _ m: UnsafePointer<UInt8>, _ movingVoxel: Int) -> Int32 {
        var total = 0
        let stride = MINDDescriptors.channelStride
        let a = f + fixedVoxel * stride, b = m + movingVoxel * stride
        for k in fixedBytes.indices { total += MINDDescriptors.distance(a + fixedBytes[k], b + movingBytes[k]) }
        return Int32(total)
    }
}

/// An exhaustive search over a grid's voxels within a radius: coarse (about 2 mm steps), then
/// every voxel about the coarse best, then a parabola per axis for the sub-voxel place.
struct SearchWindow: Sendable {
    let size: SIMD3<Int>
    let radius: SIMD3<Int>
    let step: SIMD3<Int>

    init(around g: Geometry, radius mm: Double) {
        size = g.size
        var r = SIMD3<Int>(Int((mm / g.spacing.x).rounded(.up)), Int((mm / g.spacing.y).rounded(.up)), Int((mm / g.spacing.z).rounded(.up)))
        var s = SIMD3<Int>(max(1, Int(2 / g.spacing.x)), max(1, Int(2 / g.spacing.y)), max(1, Int(2 / g.spacing.z)))
        if g.dimension == 2 { r.z = 0; s.z = 1 }
        radius = r
        step = s
    }

    struct Best { var voxel: SIMD3<Int>; var position: SIMD3<Double>; var confidence: Double }

    func search(about centre: SIMD3<Double>, valid: (SIMD3<Int>) -> Bool,
                cost: (SIMD3<Int>) -> Int32) -> Best? {
        let c = SIMD3(Int(centre.x.rounded()), Int(centre.y.rounded()), Int(centre.z.rounded()))
        // Coarse pass, remembering every cost for the runner-up.
        var coarse: [(SIMD3<Int>, Int32)] = []
        let counts = 2 &* radius / step &+ 1
        coarse.reserveCapacity(counts.x * counts.y * counts.z)
        var z = -radius.z
        while z <= radius.z {
            var y = -radius.y
            while y <= radius.y {
                var x = -radius.x
                while x <= radius.x {
                    let q = c &+ SIMD3(x, y, z)
                    if valid(q) { coarse.append((q, cost(q))) }
                    x += step.x
                }
                y += step.y
            }
            z += step.z
        }
        guard let first = coarse.min(by: { $0.1 < $1.1 }) else { return nil }
        // Every voxel about the coarse best.
        var best = first
        let reach = step &- 1
        for dz in -reach.z...reach.z {
            for dy in -reach.y...reach.y {
                for dx in -reach.x...reach.x where dx != 0 || dy != 0 || dz != 0 {
                    let q = first.0 &+ SIMD3(dx, dy, dz)
                    guard all(magnitude(q &- c) .<= radius), valid(q) else { continue }
                    let e = cost(q)
                    if e < best.1 || (e == best.1 && lexicallyBefore(q, best.0)) { best = (q, e) }
                }
            }
        }
        // The best elsewhere: more than two coarse steps away.
        var runnerUp = Int32.max
        for (q, e) in coarse where e < runnerUp && any(magnitude(q &- best.0) .> 2 &* step) { runnerUp = e }
        let confidence = runnerUp == Int32.max || runnerUp == 0 ? 0 : max(0, 1 - Double(best.1) / Double(runnerUp))
        var position = SIMD3<Double>(best.0)
        for axis in 0..<(size.z == 1 ? 2 : 3) {
            var e = SIMD3<Int>(0, 0, 0)
            e[axis] = 1
            guard valid(best.0 &- e), valid(best.0 &+ e) else { continue }
            let lo = Double(cost(best.0 &- e)), mid = Double(best.1), hi = Double(cost(best.0 &+ e))
            let curvature = lo - 2 * mid + hi
            if curvature > 0 { position[axis] += min(0.5, max(-0.5, (lo - hi) / (2 * curvature))) }
        }
        return Best(voxel: best.0, position: position, confidence: confidence)
    }

    private func lexicallyBefore(_ a: SIMD3<Int>, _ b: SIMD3<Int>) -> Bool {
        a.z != b.z ? a.z < b.z : (a.y != b.y ? a.y < b.y : a.x < b.x)
    }
}

/// The absolute value of each component.
@inline(__always) func magnitude(_ v: SIMD3<Int>) -> SIMD3<Int> { SIMD3(abs(v.x), abs(v.y), abs(v.z)) }
