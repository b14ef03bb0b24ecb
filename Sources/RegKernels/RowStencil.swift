// RowStencil: one grid row's central-difference offsets and factors along y and z.
import RegCore
import Synchronization

/// One grid row's central differences along y and z: the row's first voxel, the offsets to the
/// neighbours above and below (0 at an edge, where the difference is one-sided) and the factors
/// that turn the differences into derivatives per voxel (½ inside, 1 at an edge, 0 on a one-voxel axis).
struct RowStencil {
    let parts: (base: Int, upY: Int, downY: Int, upZ: Int, downZ: Int, sy: Float, sz: Float)

    @inline(__always) init(row: Int, nx: Int, ny: Int, nz: Int) {
        let y = row % ny, z = row / ny, slice = nx &* ny
        let (ym, yp) = (max(0, y - 1), min(ny - 1, y + 1)), (zm, zp) = (max(0, z - 1), min(nz - 1, z + 1))
        parts = (row &* nx, (yp &- y) &* nx, (y &- ym) &* nx, (zp &- z) &* slice, (z &- zm) &* slice,
                 yp > ym ? 1 / Float(yp - ym) : 0, zp > zm ? 1 / Float(zp - zm) : 0)
    }
}
