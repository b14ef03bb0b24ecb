/// The exact Euclidean distance transform of Felzenszwalb and Huttenlocher: three separable
/// passes of the 1-D lower envelope of parabolas, one per axis, each weighted by that axis's
/// voxel spacing, so distances are physical (mm) on anisotropic grids. Direction cosines are a
/// rotation and leave distances unchanged.
///
/// ```swift
/// let d2 = DistanceTransform.squared(features: border, size: SIMD3(40, 30, 20), spacing: SIMD3(0.9, 0.9, 2.5))
/// let mm = d2[i].squareRoot()   // distance from voxel i to the nearest feature voxel
/// ```
public enum DistanceTransform {
    /// Squared distance (mm²) from each voxel of a box (x fastest) to the nearest voxel whose
    /// `features` entry is non-zero; `.infinity` everywhere when there is none.
    public static func squared(features: [UInt8], size: SIMD3<Int>, spacing: SIMD3<Double>) -> [Double] {
        precondition(features.count == size.x * size.y * size.z)
        var d = features.map { $0 != 0 ? 0.0 : .infinity }
        let (nx, ny, nz) = (size.x, size.y, size.z)
        d.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            pass(base, length: nx, stride: 1, spacing: spacing.x, lines: ny * nz) { line in (line % ny) &* nx &+ (line / ny) &* nx &* ny }
            pass(base, length: ny, stride: nx, spacing: spacing.y, lines: nx * nz) { line in (line % nx) &+ (line / nx) &* nx &* ny }
            pass(base, length: nz, stride: nx * ny, spacing: spacing.z, lines: nx * ny) { line in line }
        }
        return d
    }

    /// One axis: the 1-D transform of every line `start(line) + k·stride`, k < length.
    private static func pass(_ d: UnsafeMutablePointer<Double>, length n: Int, stride: Int, spacing s: Double, lines: Int,
                             start: (Int) -> Int) {
        guard n > 1 else { return }
        var f = [Double](repeating: 0, count: n)
        var vertex = [Int](repeating: 0, count: n)
        var boundary = [Double](repeating: 0, count: n + 1)
        let s2 = s * s
        for line in 0..<lines {
            let o = start(line)
            var k = -1
            for q in 0..<n {
                f[q] = d[o &+ q &* stride]
                guard f[q].isFinite else { continue }
                let fq = f[q] + s2 * Double(q * q)
                while k >= 0 {
                    let v = vertex[k]
                    let cross = (fq - (f[v] + s2 * Double(v * v))) / (2 * s2 * Double(q - v))
                    if cross <= boundary[k] { k -= 1 } else {
                        k += 1; vertex[k] = q; boundary[k] = cross
                        break
                    }
                }
                if k < 0 { k = 0; vertex[0] = q; boundary[0] = -.infinity }
                boundary[k + 1] = .infinity
            }
            guard k >= 0 else { continue }
            var j = 0
            for q in 0..<n {
                while boundary[j + 1] < Double(q) { j += 1 }
                let t = Double(q - vertex[j]) * s
                d[o &+ q &* stride] = t * t + f[vertex[j]]
            }
        }
    }
}
