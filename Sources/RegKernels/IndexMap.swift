import RegCore

/// The affine map from target voxel index to continuous source index, plus the matrix that
/// takes a target-grid displacement (mm) into source index units. Built once per resample.
struct IndexMap {
    /// Source continuous index of target voxel (0, 0, 0).
    let base: SIMD3<Double>
    /// Source index step per target step along x, y, z (columns).
    let stepX: SIMD3<Double>, stepY: SIMD3<Double>, stepZ: SIMD3<Double>
    /// Source index change per mm of displacement.
    let displacementToIndex: Matrix3

    init(target: Geometry, source: Geometry, mapping: PointMapping) {
        let toSource = source.physicalToIndex * mapping.matrix
        let m = toSource * target.indexToPhysical
        base = toSource * target.origin + source.physicalToIndex * (mapping.translation - source.origin)
        stepX = m.column(0); stepY = m.column(1); stepZ = m.column(2)
        displacementToIndex = toSource
    }

    @inline(__always) func rowStart(y: Int, z: Int) -> SIMD3<Double> {
        base + stepY * Double(y) + stepZ * Double(z)
    }
}
