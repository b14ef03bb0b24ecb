import Foundation
import RegCore
import RegTransforms

/// Robust filters that keep the matches consistent with each other.
///
/// ```swift
/// let (affine, inliers) = try MatchFilter.ransac(matches, model: .affine, dimension: 3, threshold: 3)
/// let smoothKept = MatchFilter.smooth(matches, tolerance: 2)
/// ```
public enum MatchFilter {
    /// RANSAC (Fischler & Bolles): the transform of `model` that most matches agree with
    /// within `threshold` mm, from random minimal samples (a fixed seed, so the same input
    /// gives the same answer), refitted by least squares on its inliers.
    /// - Returns: the transform (fixed → moving) and the indices of the matches within
    ///   `threshold` of it.
    /// - Throws: `RegError.invalidArgument` when there are fewer matches than the model needs.
    public static func ransac(_ matches: [KeypointMatch], model: LinearModel, dimension: Int, threshold: Double,
                              iterations: Int = 2000, seed: UInt64 = 1) throws -> (transform: LinearTransform, inliers: [Int]) {
        let needed = LandmarkFit.minimumCount(model, dimension: dimension)
        guard matches.count >= needed else {
            throw RegError.invalidArgument(name: "matches", reason: "a \(model.rawValue) fit needs at least \(needed) matches, found \(matches.count)")
        }
        let fixed = matches.map(\.fixed), moving = matches.map(\.moving)
        func inliers(of t: LinearTransform) -> [Int] {
            matches.indices.filter { (t.map(fixed[$0]) - moving[$0]).length < threshold }
        }
        var rng = SplitMix64(seed: seed)
        var best: [Int] = []
        for _ in 0..<iterations {
            var sample = Set<Int>()
            while sample.count < needed { sample.insert(Int.random(in: 0..<matches.count, using: &rng)) }
            let ordered = sample.sorted()
            guard let t = try? LandmarkFit.fit(model, dimension: dimension, fixed: ordered.map { fixed[$0] }, moving: ordered.map { moving[$0] }),
                  t.affineMap.matrix.determinant > 0 else { continue }
            let kept = inliers(of: t)
            if kept.count > best.count { best = kept }
        }
        guard best.count >= needed else {
            throw RegError.invalidArgument(name: "matches", reason: "no \(model.rawValue) transform agrees with \(needed) of the \(matches.count) matches within \(threshold) mm")
        }
        // Refit on the inliers until the set stops changing (a few rounds at most).
        var transform = try LandmarkFit.fit(model, dimension: dimension, fixed: best.map { fixed[$0] }, moving: best.map { moving[$0] })
        for _ in 0..<5 {
            let kept = inliers(of: transform)
            if kept == best || kept.count < needed { break }
            best = kept
            transform = try LandmarkFit.fit(model, dimension: dimension, fixed: best.map { fixed[$0] }, moving: best.map { moving[$0] })
        }
        return (transform, best)
    }

    /// The matches whose displacement lies near the median displacement of their `neighbours`
    /// nearest kept matches (by fixed position): within `tolerance` mm plus `slope` times the
    /// neighbours' mean distance (a smooth deformation's displacement changes by at most
    /// `slope` mm per mm), repeated until nothing more is dropped. A smooth deformation moves
    /// nearby points alike, while a wrong match stands out from its neighbours. Returns the
    /// indices kept, in order.
    public static func smooth(_ matches: [KeypointMatch], neighbours: Int = 8, tolerance: Double, slope: Double = 0.2) -> [Int] {
        var kept = Array(matches.indices)
        for _ in 0..<5 {
            guard kept.count > neighbours else { return kept }
            let positions = kept.map { matches[$0].fixed }, displacements = kept.map { matches[$0].displacement }
            var consistent = [Bool](repeating: false, count: kept.count)
            consistent.withUnsafeMutableBufferPointer { out in
                let o = UnsafeSendable(out.baseAddress!)
                parallelFor(count: kept.count, chunkSize: 64) { range in
                    for a in range {
                        let near = nearest(neighbours, to: a, among: positions)
                        let median = SIMD3(medianValue(near.map { displacements[$0].x }), medianValue(near.map { displacements[$0].y }),
                                           medianValue(near.map { displacements[$0].z }))
                        let reach = near.reduce(0.0) { $0 + (positions[$1] - positions[a]).length } / Double(near.count)
                        o.value[a] = (displacements[a] - median).length <= tolerance + slope * reach
                    }
                }
            }
            let next = kept.indices.filter { consistent[$0] }.map { kept[$0] }
            if next.count == kept.count { break }
            kept = next
        }
        return kept
    }

    /// Indices of the `k` points nearest to point `a` (itself left out), nearest first.
    static func nearest(_ k: Int, to a: Int, among points: [SIMD3<Double>]) -> [Int] {
        var best: [(Double, Int)] = []
        best.reserveCapacity(k + 1)
        for b in points.indices where b != a {
            let d = ((points[b] - points[a]) * (points[b] - points[a])).sum()
            if best.count < k || d < best[best.count - 1].0 {
                let at = best.firstIndex { $0.0 > d } ?? best.count
                best.insert((d, b), at: at)
                if best.count > k { best.removeLast() }
            }
        }
        return best.map(\.1)
    }

    static func medianValue(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
