// StepSource: where a composition's step comes from, a row at a time (ScaledField, StepWithGradient).
import RegCore
import Synchronization

/// Where a composition's step field comes from, a grid row at a time; specialised, so no call
/// per voxel.
protocol StepSource {
    /// Writes the steps of grid row `row` as three planes of the row's length (x, y and z parts).
    func fill(row: Int, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>)
}

/// The step `s·v(x)` of a field.
struct ScaledField: StepSource {
    let v: UnsafePointer<Float>, nx: Int, scale: Float
    init(_ v: UnsafePointer<Float>, nx: Int, scale: Float) { (self.v, self.nx, self.scale) = (v, nx, scale) }

    @inline(__always)
    func fill(row: Int, x sx: UnsafeMutablePointer<Float>, y sy: UnsafeMutablePointer<Float>, z sz: UnsafeMutablePointer<Float>) {
        let (v, scale) = (v + 3 &* row &* nx, scale)
        for x in 0..<nx { sx[x] = v[3 &* x] * scale; sy[x] = v[3 &* x &+ 1] * scale; sz[x] = v[3 &* x &+ 2] * scale }
    }
}

/// The step `s·v(x) + R·∇ᵢl(x)` (`R` the weighted index-to-mm rows) of a field and a scalar image.
struct StepWithGradient: StepSource {
    let v: UnsafePointer<Float>, scale: Float, l: UnsafePointer<Float>
    let size: SIMD3<Int>
    let rows: (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>)

    @inline(__always)
    func fill(row: Int, x sx: UnsafeMutablePointer<Float>, y sy: UnsafeMutablePointer<Float>, z sz: UnsafeMutablePointer<Float>) {
        let nx = size.x
        let (base, upY, downY, upZ, downZ, fy, fz) = RowStencil(row: row, nx: nx, ny: size.y, nz: size.z).parts
        let (v, scale, l, r0, r1, r2) = (v + 3 &* row &* nx, scale, l, rows.0, rows.1, rows.2)
        // Central differences inside, one-sided at the row's ends, none on a single voxel.
        @inline(__always) func write(_ x: Int, _ xm: Int, _ xp: Int, _ fx: Float) {
            let i = base &+ x
            let gi = SIMD3<Float>((l[xp] - l[xm]) * fx, (l[i &+ upY] - l[i &- downY]) * fy, (l[i &+ upZ] - l[i &- downZ]) * fz)
            let k = 3 &* x
            sx[x] = scale * v[k] + (r0 * gi).sum()
            sy[x] = scale * v[k &+ 1] + (r1 * gi).sum()
            sz[x] = scale * v[k &+ 2] + (r2 * gi).sum()
        }
        // The ends apart, so the interior loop has no branch and vectorises.
        write(0, base, base &+ min(1, nx &- 1), nx > 1 ? 1 : 0)
        if nx > 2 { for x in 1..<(nx &- 1) { write(x, base &+ x &- 1, base &+ x &+ 1, 0.5) } }
        if nx > 1 { write(nx &- 1, base &+ nx &- 2, base &+ nx &- 1, 1) }
    }
}
