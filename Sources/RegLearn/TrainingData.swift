import RegCore

/// An image prepared for a network: intensities scaled to [0, 1] and, optionally, its labels on
/// the same grid. Networks see voxels only, so every image of a data set must share one grid.
///
/// ```swift
/// let v = NetworkImage(voxels: image.voxels, size: image.geometry.size)
/// let slice = v.slice(80)          // the plane z = 80, as a 2-D image
/// ```
public struct NetworkImage: Sendable {
    /// 1×1×grid.
    public var tensor: Tensor
    public var labels: [Int32]?

    /// Scales intensities so that 0 stays 0 and the 99.9th percentile of the non-zero voxels becomes 1, clamped to [0, 1].
    public init(voxels: [Float], size: SIMD3<Int>, labels: [Int32]? = nil) {
        let shape = TensorShape(channels: 1, depth: size.z, height: size.y, width: size.x)
        let positive = voxels.filter { $0 > 0 }.sorted()
        let top = positive.isEmpty ? 1 : max(positive[min(positive.count - 1, Int(0.999 * Double(positive.count)))], 1e-6)
        tensor = Tensor(shape: shape, values: voxels.map { min(max($0 / top, 0), 1) })
        self.labels = labels
    }

    init(tensor: Tensor, labels: [Int32]?) { (self.tensor, self.labels) = (tensor, labels) }

    public var size: SIMD3<Int> { tensor.shape.spatial }

    /// Plane `z` as a planar image.
    public func slice(_ z: Int) -> NetworkImage {
        let n = size.x * size.y, range = (z * n)..<((z + 1) * n)
        return NetworkImage(tensor: Tensor(shape: TensorShape(channels: 1, height: size.y, width: size.x), values: Array(tensor.values[range])),
                            labels: labels.map { Array($0[range]) })
    }

    /// Planes with at least `fraction` of their voxels inside the head: labelled, or else above 0.05.
    public func occupiedSlices(fraction: Double = 0.1) -> [Int] {
        let n = size.x * size.y
        return (0..<size.z).filter { z in
            let range = (z * n)..<((z + 1) * n)
            let inside = labels.map { $0[range].lazy.filter { $0 != 0 }.count } ?? tensor.values[range].lazy.filter { $0 > 0.05 }.count
            return Double(inside) >= fraction * Double(n)
        }
    }

    /// The labels one-hot, one channel per value in `classes` (N×L×grid), for the soft-Dice term; nil without labels or classes.
    public func oneHot(_ classes: [Int32]) -> Tensor? {
        guard let labels, !classes.isEmpty else { return nil }
        let n = labels.count
        var t = Tensor(shape: tensor.shape.with(channels: classes.count))
        for (c, value) in classes.enumerated() { for i in 0..<n where labels[i] == value { t.values[c * n + i] = 1 } }
        return t
    }
}

/// Draws training pairs: two different images (or, in `planar` mode, the same plane of two
/// different volumes, planes the volumes all occupy), from an explicit random generator.
///
/// ```swift
/// var sampler = try PairSampler(images: volumes, planar: true)
/// var rng = SplitMix64(seed: 1)
/// let (fixed, moving) = sampler.next(using: &rng)
/// ```
public struct PairSampler: Sendable {
    public let images: [NetworkImage]
    public let planar: Bool
    /// In planar mode, the planes drawn from.
    public let planes: [Int]

    public init(images: [NetworkImage], planar: Bool) throws {
        guard images.count >= 2 else { throw LearnError.invalidConfiguration("training needs at least two images, found \(images.count)") }
        guard Set(images.map(\.size)).count == 1 else {
            throw LearnError.invalidConfiguration("training images must share one grid, found \(Set(images.map(\.size)).map { "\($0.x)×\($0.y)×\($0.z)" })")
        }
        self.images = images
        self.planar = planar
        var common = Set(images[0].occupiedSlices())
        if planar { for image in images.dropFirst() { common.formIntersection(image.occupiedSlices()) } }
        planes = common.sorted()
        guard !planar || !planes.isEmpty else { throw LearnError.invalidConfiguration("the training volumes share no occupied slice") }
    }

    /// The next (fixed, moving) pair.
    public func next(using rng: inout SplitMix64) -> (fixed: NetworkImage, moving: NetworkImage) {
        let a = Int(rng.next() % UInt64(images.count))
        var b = Int(rng.next() % UInt64(images.count - 1))
        if b >= a { b += 1 }
        guard planar else { return (images[a], images[b]) }
        let z = planes[Int(rng.next() % UInt64(planes.count))]
        return (images[a].slice(z), images[b].slice(z))
    }
}

extension Image {
    /// Plane `z` of a volume as a 2-D image in voxel space: the in-plane spacing is kept, the
    /// plane is placed at the origin with identity directions. Planes of volumes that share a
    /// grid share a grid, which is all a 2-D network needs.
    ///
    /// ```swift
    /// let slice = try volume.plane(72)     // 160 × 192 × 1, dimension 2
    /// ```
    public func plane(_ z: Int) throws -> Image {
        let g = geometry, n = g.size.x * g.size.y
        let planeGeometry = try Geometry(size: SIMD3(g.size.x, g.size.y, 1), spacing: SIMD3(g.spacing.x, g.spacing.y, 1), dimension: 2)
        let start = z * n * components
        return try Image(geometry: planeGeometry, components: components, voxels: Array(voxels[start..<(start + n * components)]))
    }
}
