import RegCore

/// Atlases warped onto one target grid, ready to fuse: each atlas's labels as indices into one
/// sorted list of the label values all atlases use (2 bytes a voxel), and, for the fusions that
/// compare intensities (`weighted`, `jlf`), each atlas's warped image.
///
/// ```swift
/// let stack = try AtlasStack(labels: [seg1, seg2, seg3], images: [img1, img2, img3])
/// print(stack.count, stack.labelValues)   // 3 [0, 2, 3, 4, …]
/// ```
public struct AtlasStack: Sendable {
    public let geometry: Geometry
    /// The label values the atlases may use, ascending; fusion results index into it.
    public let labelValues: [Int32]
    /// Per atlas: the index into `labelValues` of every voxel.
    private(set) var labels: [[UInt16]] = []
    /// Per atlas: its warped image (empty when the stack holds labels only).
    private(set) var images: [VoxelBuffer<Float>] = []
    /// A name per atlas for messages (its files).
    public private(set) var names: [String] = []
    private let low: Int32
    private let index: [UInt16]

    public var count: Int { labels.count }

    /// Whether every atlas came with its image (`weighted` and `jlf` need them).
    public var hasImages: Bool { !labels.isEmpty && images.count == labels.count }

    /// At most this many distinct label values (indices are 16-bit).
    public static let largestLabelCount = Int(UInt16.max)

    /// An empty stack on `geometry` for atlases whose labels are among `labelValues`; atlases
    /// are added one at a time (`append`), each held in 2 bytes a voxel (6 with its image).
    ///
    /// ```swift
    /// var stack = try AtlasStack(geometry: subject.geometry, labelValues: try AtlasStack.values(in: atlasLabels))
    /// for (labels, image) in warpedAtlases { try stack.append(labels: labels, image: image, name: "atlas") }
    /// let mask = stack.foreground(dilatedBy: 5)
    /// ```
    public init(geometry: Geometry, labelValues: [Int32]) throws {
        let values = Array(Set(labelValues)).sorted()
        guard let first = values.first, let last = values.last else {
            throw RegError.invalidArgument(name: "atlases", reason: "no label values")
        }
        guard values.count <= Self.largestLabelCount, Int(last) - Int(first) < 1 << 24 else {
            throw RegError.invalidArgument(name: "atlases", reason: "\(values.count) distinct labels spanning \(first)…\(last); fusion handles at most \(Self.largestLabelCount) labels spanning 2²⁴")
        }
        var index = [UInt16](repeating: 0, count: Int(last) - Int(first) + 1)
        for (k, v) in values.enumerated() { index[Int(v) - Int(first)] = UInt16(k) }
        self.geometry = geometry
        self.labelValues = values
        low = first
        self.index = index
    }

    /// Stacks `labels` (and their `images`, one per atlas, when given); every one must lie on
    /// the first label map's grid. `names` (one per atlas, e.g. the label file) appear in errors.
    /// - Throws: `RegError.geometryMismatch` naming the atlas that is off the grid,
    ///   `RegError.invalidArgument` for an empty list, mismatched counts, or more than
    ///   `largestLabelCount` distinct labels.
    public init(labels maps: [Image<Int32>], images: [Image<Float>]? = nil, names given: [String]? = nil) throws {
        guard let first = maps.first else { throw RegError.invalidArgument(name: "atlases", reason: "fusion needs at least one atlas") }
        let names = given ?? maps.indices.map { "atlas \($0 + 1)" }
        guard names.count == maps.count else {
            throw RegError.invalidArgument(name: "atlases", reason: "\(names.count) names for \(maps.count) atlases")
        }
        if let images, images.count != maps.count {
            throw RegError.invalidArgument(name: "atlases", reason: "\(images.count) images for \(maps.count) label maps")
        }
        try self.init(geometry: first.geometry, labelValues: try Self.values(in: maps))
        for (k, map) in maps.enumerated() { try append(labels: map, image: images?[k], name: names[k]) }
    }

    /// The distinct values of label maps, ascending.
    public static func values(in maps: [Image<Int32>]) throws -> [Int32] {
        var low = Int32.max, high = Int32.min
        for map in maps { for v in map.voxels { low = min(low, v); high = max(high, v) } }
        guard high >= low else { return [] }
        guard Int(high) - Int(low) < 1 << 24 else {
            throw RegError.invalidArgument(name: "atlases", reason: "label values span \(low)…\(high); fusion handles a span of at most 2²⁴")
        }
        var present = [Bool](repeating: false, count: Int(high) - Int(low) + 1)
        for map in maps { for v in map.voxels { present[Int(v) - Int(low)] = true } }
        return present.indices.filter { present[$0] }.map { Int32($0 + Int(low)) }
    }

    /// Adds an atlas: its label map on the stack's grid (values among `labelValues`) and, for
    /// intensity-based fusion, its warped image on the same grid.
    public mutating func append(labels map: Image<Int32>, image: Image<Float>?, name: String) throws {
        guard map.components == 1 else {
            throw RegError.invalidArgument(name: name, reason: "a label map has one value per voxel; this one has \(map.components)")
        }
        guard map.geometry.sameGrid(as: geometry) else {
            throw RegError.geometryMismatch("\(name) is on another grid than \(names.first ?? "the target") (\(Self.describe(map.geometry)) against \(Self.describe(geometry)))")
        }
        if let image {
            guard image.components == 1, image.geometry.sameGrid(as: geometry) else {
                throw RegError.geometryMismatch("the image of \(name) is not on its label map's grid (\(Self.describe(image.geometry)) against \(Self.describe(geometry)))")
            }
        }
        var out = [UInt16](repeating: 0, count: map.voxels.count)
        let span = index.count
        for (i, v) in map.voxels.enumerated() {
            let k = Int(v) - Int(low)
            guard k >= 0, k < span, labelValues[Int(index[k])] == v else {
                throw RegError.invalidArgument(name: name, reason: "label \(v) is not among the atlases' labels")
            }
            out[i] = index[k]
        }
        labels.append(out)
        if let image { images.append(image.voxels) }
        names.append(name)
    }

    /// Runs `body` with a pointer to each atlas's label indices (valid only inside `body`).
    func withLabelPointers<R>(_ body: ([UnsafePointer<UInt16>]) -> R) -> R {
        func nest(_ k: Int, _ collected: [UnsafePointer<UInt16>]) -> R {
            guard k < labels.count else { return body(collected) }
            return labels[k].withUnsafeBufferPointer { nest(k + 1, collected + [$0.baseAddress!]) }
        }
        return nest(0, [])
    }

    /// A grid in words, for errors: size, spacing and origin.
    public static func describe(_ g: Geometry) -> String {
        let size = g.dimension == 2 ? "\(g.size.x)×\(g.size.y)" : "\(g.size.x)×\(g.size.y)×\(g.size.z)"
        return "\(size) voxels of \(g.spacing.x)×\(g.spacing.y)×\(g.spacing.z) mm at \(g.origin.x), \(g.origin.y), \(g.origin.z)"
    }

    /// 1 where any atlas has a label other than 0, grown by `radius` voxels (a box, in the
    /// grid's dimensions): the default region to fuse in.
    public func foreground(dilatedBy radius: Int) -> Image<UInt8> {
        let zero = labelValues.firstIndex(of: 0).map(UInt16.init)
        var mask = Image<UInt8>(geometry: geometry)
        for atlas in labels {
            for (i, v) in atlas.enumerated() where v != zero { mask.voxels[i] = 1 }
        }
        return Self.dilated(mask, radius: radius)
    }

    /// A box dilation of a 0/1 mask (separable running maxima along each axis).
    static func dilated(_ mask: Image<UInt8>, radius r: Int) -> Image<UInt8> {
        guard r > 0 else { return mask }
        var out = mask
        let size = mask.geometry.size
        let strides = [1, size.x, size.x * size.y]
        for axis in 0..<(mask.geometry.dimension == 2 ? 2 : 3) {
            let n = size[axis], stride = strides[axis]
            let src = out.voxels
            let lines = size.x * size.y * size.z / n
            out.voxels.withUnsafeMutableBufferPointer { dst in
                let d = UnsafeSendable(dst.baseAddress!)
                src.withUnsafeBufferPointer { s in
                    let sp = UnsafeSendable(s.baseAddress!)
                    parallelFor(count: lines, chunkSize: 256) { range in
                        for line in range {
                            // The line's first voxel: lines run along `axis`, the other two axes enumerate them.
                            let start: Int
                            switch axis {
                            case 0: start = line * size.x
                            case 1: start = (line / size.x) * size.x * size.y + line % size.x
                            default: start = line
                            }
                            var lastOne = -r - 1
                            for i in 0..<n + r {
                                if i < n, sp.value[start + i * stride] != 0 { lastOne = i }
                                // Voxel j = i − r sees [i − 2r, i].
                                let j = i - r
                                if j >= 0 { d.value[start + j * stride] = i - lastOne <= 2 * r ? 1 : 0 }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
