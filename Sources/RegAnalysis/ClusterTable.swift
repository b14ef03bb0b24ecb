import RegCore

/// Connected clusters of a statistic map above a threshold (26-connected in 3-D, 8 in 2-D),
/// largest first: each with its volume, its peak value and where it lies, and the label of an
/// optional label map at the peak.
///
/// ```swift
/// let table = try ClusterTable(z, threshold: 3, minimumVoxels: 20, labels: atlasLabels)
/// for c in table.clusters { print(c.volume, c.peak, c.peakPoint, c.labelAtPeak ?? 0) }
/// ```
public struct ClusterTable: Sendable, Codable, Equatable {
    public struct Cluster: Sendable, Codable, Equatable {
        public var voxels: Int
        /// mm³ (mm² on a 2-D grid).
        public var volume: Double
        /// The value of largest magnitude in the cluster, with its sign.
        public var peak: Double
        /// The peak's position and the cluster's centre of mass, LPS mm.
        public var peakPoint: [Double]
        public var centre: [Double]
        public var labelAtPeak: Int?
    }
    public var threshold: Double
    public var minimumVoxels: Int
    public var clusters: [Cluster]

    /// Clusters of voxels with `|map| > threshold` (`absolute`) or `map > threshold`.
    /// - Throws: `geometryMismatch` when `labels` is on another grid, `invalidArgument` for a
    ///   threshold that is not finite or a negative voxel count.
    public init(_ map: Image<Float>, threshold: Double, minimumVoxels: Int, absolute: Bool = true, labels: Image<Int32>? = nil) throws {
        guard threshold.isFinite, minimumVoxels >= 0 else {
            throw RegError.invalidArgument(name: "clusters", reason: "need a finite threshold and a voxel count ≥ 0, found \(threshold) and \(minimumVoxels)")
        }
        let g = map.geometry
        if let labels, !labels.geometry.sameGrid(as: g) {
            throw RegError.geometryMismatch("the labels (\(labels.geometry.brief)) are not on the map's grid (\(g.brief))")
        }
        self.threshold = threshold
        self.minimumVoxels = minimumVoxels
        let (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
        let planar = g.dimension == 2 || nz == 1
        func above(_ v: Float) -> Bool { absolute ? Double(abs(v)) > threshold : Double(v) > threshold }
        var visited = [Bool](repeating: false, count: map.voxels.count)
        var found: [Cluster] = []
        var stack: [Int] = []
        let voxelVolume = g.voxelVolume
        for start in map.voxels.indices where !visited[start] && above(map.voxels[start]) {
            visited[start] = true
            stack.append(start)
            var members = 0, peakIndex = start, sum = SIMD3<Double>.zero
            while let i = stack.popLast() {
                members += 1
                let (x, y, z) = (i % nx, i / nx % ny, i / (nx * ny))
                sum += SIMD3(Double(x), Double(y), Double(z))
                if abs(map.voxels[i]) > abs(map.voxels[peakIndex]) { peakIndex = i }
                for dz in planar ? 0...0 : -1...1 { for dy in -1...1 { for dx in -1...1 {
                    let (a, b, c) = (x + dx, y + dy, z + dz)
                    guard a >= 0, a < nx, b >= 0, b < ny, c >= 0, c < nz else { continue }
                    let j = a + nx * (b + ny * c)
                    if !visited[j] && above(map.voxels[j]) {
                        visited[j] = true
                        stack.append(j)
                    }
                } } }
            }
            guard members > minimumVoxels else { continue }
            let peakIdx = SIMD3<Double>(Double(peakIndex % nx), Double(peakIndex / nx % ny), Double(peakIndex / (nx * ny)))
            let p = g.physicalPoint(ofIndex: peakIdx), c = g.physicalPoint(ofIndex: sum / Double(members))
            found.append(Cluster(voxels: members, volume: Double(members) * voxelVolume, peak: Double(map.voxels[peakIndex]),
                                 peakPoint: [p.x, p.y, p.z], centre: [c.x, c.y, c.z],
                                 labelAtPeak: labels.map { Int($0.voxels[peakIndex]) }))
        }
        clusters = found.sorted { ($0.voxels, abs($0.peak)) > ($1.voxels, abs($1.peak)) }
    }
}
