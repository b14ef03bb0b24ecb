import RegCore

/// Distances between the boundaries of one label in two label images on one grid, in mm.
///
/// A boundary voxel holds the label and has a face neighbour (6 in 3-D, 4 in 2-D) that does not,
/// or lies on the image edge (the definition of MedPy and of scipy's `binary_erosion` with a
/// zero border). Each boundary voxel of one image gets the exact Euclidean distance to the
/// nearest boundary voxel of the other. HD95 is the 95th percentile of both directions' distances
/// together (linear interpolation, as numpy's default), ASSD the mean of the two directions' means.
///
/// ```swift
/// let d = SurfaceDistance(reference: fixedSeg, test: warpedSeg, label: 2)
/// print(d?.hd95, d?.assd)      // nil when either image lacks the label
/// ```
public struct SurfaceDistance: Sendable, Codable, Equatable {
    /// 95th percentile of the symmetric boundary distances.
    public var hd95: Double
    /// Average symmetric surface distance.
    public var assd: Double
    /// The largest boundary distance (Hausdorff distance).
    public var maximum: Double

    public init?(reference: Image<Int32>, test: Image<Int32>, label: Int) {
        let g = reference.geometry
        var low = SIMD3(repeating: Int.max), high = SIMD3(repeating: Int.min)
        for image in [reference, test] {
            for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x where image[x, y, z] == Int32(label) {
                low = pointwiseMin(low, SIMD3(x, y, z)); high = pointwiseMax(high, SIMD3(x, y, z))
            } } }
        }
        guard low.x <= high.x else { return nil }
        self.init(reference: reference, test: test, label: label, low: low, high: high)
    }

    /// The distances computed inside the box `low…high` (voxel indices), which must hold every
    /// voxel of the label in both images.
    init?(reference: Image<Int32>, test: Image<Int32>, label: Int, low: SIMD3<Int>, high: SIMD3<Int>) {
        let crop = Crop(low: low, high: high, dimension: reference.geometry.dimension)
        let a = crop.boundary(of: reference, label: Int32(label)), b = crop.boundary(of: test, label: Int32(label))
        guard a.contains(1), b.contains(1) else { return nil }
        let spacing = reference.geometry.spacing
        let toB = DistanceTransform.squared(features: b, size: crop.size, spacing: spacing)
        let toA = DistanceTransform.squared(features: a, size: crop.size, spacing: spacing)
        let ab: [Double] = a.indices.filter { a[$0] != 0 }.map { toB[$0].squareRoot() }
        let ba: [Double] = b.indices.filter { b[$0] != 0 }.map { toA[$0].squareRoot() }
        let all = (ab + ba).sorted()
        hd95 = Self.percentile(all, 0.95)
        let meanAB = ab.reduce(0, +) / Double(ab.count), meanBA = ba.reduce(0, +) / Double(ba.count)
        assd = (meanAB + meanBA) / 2
        maximum = all.last!
    }

    /// numpy's default percentile of sorted values: linear between the closest ranks.
    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let i = Int(position.rounded(.down)), t = position - Double(i)
        return i + 1 < sorted.count ? sorted[i] + t * (sorted[i + 1] - sorted[i]) : sorted[i]
    }

    /// A box of the image grid, x fastest.
    struct Crop {
        let origin: SIMD3<Int>
        let size: SIMD3<Int>
        let dimension: Int

        init(low: SIMD3<Int>, high: SIMD3<Int>, dimension: Int) {
            origin = low
            size = high &- low &+ 1
            self.dimension = dimension
        }

        /// 1 at boundary voxels of `label` (see the type's definition). Outside the box is not
        /// the label: the box holds every voxel of it, and the image edge counts as outside.
        func boundary(of image: Image<Int32>, label: Int32) -> [UInt8] {
            let (nx, ny, nz) = (size.x, size.y, size.z)
            var inside = [Bool](repeating: false, count: nx * ny * nz)
            for z in 0..<nz { for y in 0..<ny {
                let row = image.geometry.offset(origin.x, origin.y + y, origin.z + z)
                for x in 0..<nx { inside[x + nx * (y + ny * z)] = image.voxels[row + x] == label }
            } }
            let atEdge = { (x: Int, y: Int, z: Int) -> Bool in
                x == 0 || x == nx - 1 || y == 0 || y == ny - 1 || (dimension == 3 && (z == 0 || z == nz - 1))
            }
            var border = [UInt8](repeating: 0, count: inside.count)
            for z in 0..<nz { for y in 0..<ny { for x in 0..<nx {
                let o = x + nx * (y + ny * z)
                guard inside[o] else { continue }
                if atEdge(x, y, z) || !inside[o - 1] || !inside[o + 1] || !inside[o - nx] || !inside[o + nx]
                    || (dimension == 3 && (!inside[o - nx * ny] || !inside[o + nx * ny])) {
                    border[o] = 1
                }
            } } }
            return border
        }
    }
}
