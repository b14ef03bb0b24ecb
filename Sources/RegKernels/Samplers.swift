import RegCore

/// A per-voxel reader of a source image at a continuous index. Implementations are structs
/// over raw pointers; the resampling loop is generic over them and specialised by the compiler,
/// so no dynamic call happens per voxel.
protocol VoxelSampler {
    associatedtype Output
    /// The value at continuous index `j`, or `outside` when `j` lies outside the image
    /// (beyond half a voxel from the centre of an edge voxel, as in ITK).
    func sample(_ x: Double, _ y: Double, _ z: Double, outside: Output) -> Output
}

/// `floor(v)` for `0 ≤ v < 2^51` without a trapping conversion or a libm call: adding 2^52 puts
/// the rounded integer in the low mantissa bits.
@inline(__always) func floorNonNegative(_ v: Double) -> Int {
    let r = Int(truncatingIfNeeded: (v + 4503599627370496.0).bitPattern & 0x000F_FFFF_FFFF_FFFF)
    return Double(r) > v ? r &- 1 : r
}

/// Trilinear interpolation in the cell whose first corner is `p`, rows `nx` and slices `nxy` apart.
@inline(__always) func trilinear(_ p: UnsafePointer<Float>, _ nx: Int, _ nxy: Int, _ tx: Float, _ ty: Float, _ tz: Float) -> Float {
    let c00 = p[0] + tx * (p[1] - p[0])
    let c10 = p[nx] + tx * (p[nx &+ 1] - p[nx])
    let c01 = p[nxy] + tx * (p[nxy &+ 1] - p[nxy])
    let c11 = p[nxy &+ nx] + tx * (p[nxy &+ nx &+ 1] - p[nxy &+ nx])
    let c0 = c00 + ty * (c10 - c00)
    let c1 = c01 + ty * (c11 - c01)
    return c0 + tz * (c1 - c0)
}

/// Bounds shared by the samplers: inside means `-0.5 ≤ j < size − 0.5` on every axis.
struct SourceBounds {
    let nx: Int, ny: Int, nz: Int, nxy: Int
    let hiX: Double, hiY: Double, hiZ: Double

    init(_ size: SIMD3<Int>) {
        nx = size.x; ny = size.y; nz = size.z; nxy = size.x * size.y
        hiX = Double(nx) - 0.5; hiY = Double(ny) - 0.5; hiZ = Double(nz) - 0.5
    }

    @inline(__always) func contains(_ x: Double, _ y: Double, _ z: Double) -> Bool {
        x >= -0.5 && x < hiX && y >= -0.5 && y < hiY && z >= -0.5 && z < hiZ
    }
}

/// The 8 trilinear neighbours of a continuous index, clamped to the grid, with weights.
struct LinearStencil {
    var offsets: (Int, Int, Int, Int, Int, Int, Int, Int)
    var tx: Float, ty: Float, tz: Float

    /// The point must lie inside the bounds (each coordinate ≥ −0.5).
    @inline(__always) init(_ jx: Double, _ jy: Double, _ jz: Double, _ b: SourceBounds) {
        var x0 = floorNonNegative(jx + 1) &- 1, y0 = floorNonNegative(jy + 1) &- 1, z0 = floorNonNegative(jz + 1) &- 1
        tx = Float(jx - Double(x0)); ty = Float(jy - Double(y0)); tz = Float(jz - Double(z0))
        var x1 = x0 &+ 1, y1 = y0 &+ 1, z1 = z0 &+ 1
        if x0 < 0 { x0 = 0 }; if y0 < 0 { y0 = 0 }; if z0 < 0 { z0 = 0 }
        if x1 >= b.nx { x1 = b.nx &- 1 }; if y1 >= b.ny { y1 = b.ny &- 1 }; if z1 >= b.nz { z1 = b.nz &- 1 }
        let r00 = y0 &* b.nx &+ z0 &* b.nxy, r10 = y1 &* b.nx &+ z0 &* b.nxy
        let r01 = y0 &* b.nx &+ z1 &* b.nxy, r11 = y1 &* b.nx &+ z1 &* b.nxy
        offsets = (r00 &+ x0, r00 &+ x1, r10 &+ x0, r10 &+ x1, r01 &+ x0, r01 &+ x1, r11 &+ x0, r11 &+ x1)
    }
}

struct LinearSampler: VoxelSampler {
    let data: UnsafePointer<Float>
    let bounds: SourceBounds
    /// Upper limits of the interior, where all 8 neighbours exist: `size − 1`.
    let lastX: Double, lastY: Double, lastZ: Double

    init(data: UnsafePointer<Float>, bounds: SourceBounds) {
        self.data = data
        self.bounds = bounds
        lastX = Double(bounds.nx - 1); lastY = Double(bounds.ny - 1); lastZ = Double(bounds.nz - 1)
    }

    @inline(__always) func sample(_ jx: Double, _ jy: Double, _ jz: Double, outside: Float) -> Float {
        if jx >= 0 && jx < lastX && jy >= 0 && jy < lastY && jz >= 0 && jz < lastZ {
            // Interior: no clamping, neighbours at fixed strides.
            let x0 = floorNonNegative(jx), y0 = floorNonNegative(jy), z0 = floorNonNegative(jz)
            let tx = Float(jx - Double(x0)), ty = Float(jy - Double(y0)), tz = Float(jz - Double(z0))
            return trilinear(data + (x0 &+ y0 &* bounds.nx &+ z0 &* bounds.nxy), bounds.nx, bounds.nxy, tx, ty, tz)
        }
        return border(jx, jy, jz, outside: outside)
    }

    /// Near or outside the edge: neighbours clamped, half a voxel of extrapolation as in ITK.
    @inline(never) func border(_ jx: Double, _ jy: Double, _ jz: Double, outside: Float) -> Float {
        guard bounds.contains(jx, jy, jz) else { return outside }
        let s = LinearStencil(jx, jy, jz, bounds)
        let o = s.offsets
        let c00 = data[o.0] + s.tx * (data[o.1] - data[o.0])
        let c10 = data[o.2] + s.tx * (data[o.3] - data[o.2])
        let c01 = data[o.4] + s.tx * (data[o.5] - data[o.4])
        let c11 = data[o.6] + s.tx * (data[o.7] - data[o.6])
        let c0 = c00 + s.ty * (c10 - c00)
        let c1 = c01 + s.ty * (c11 - c01)
        return c0 + s.tz * (c1 - c0)
    }
}

struct NearestSampler<T>: VoxelSampler {
    let data: UnsafePointer<T>
    let bounds: SourceBounds

    @inline(__always) func sample(_ jx: Double, _ jy: Double, _ jz: Double, outside: T) -> T {
        guard bounds.contains(jx, jy, jz) else { return outside }
        // Round half up, as ITK's nearest-neighbour interpolator does.
        var x = floorNonNegative(jx + 0.5), y = floorNonNegative(jy + 0.5), z = floorNonNegative(jz + 0.5)
        if x >= bounds.nx { x = bounds.nx &- 1 }; if y >= bounds.ny { y = bounds.ny &- 1 }; if z >= bounds.nz { z = bounds.nz &- 1 }
        return data[x &+ y &* bounds.nx &+ z &* bounds.nxy]
    }
}

/// Label-aware interpolation: the label with the largest summed trilinear weight.
struct LabelSampler<T: Equatable>: VoxelSampler {
    let data: UnsafePointer<T>
    let bounds: SourceBounds

    @inline(__always) func sample(_ jx: Double, _ jy: Double, _ jz: Double, outside: T) -> T {
        guard bounds.contains(jx, jy, jz) else { return outside }
        let s = LinearStencil(jx, jy, jz, bounds)
        let wx = (1 - s.tx, s.tx), wy = (1 - s.ty, s.ty), wz = (1 - s.tz, s.tz)
        let weights: (Float, Float, Float, Float, Float, Float, Float, Float) = (
            wx.0 * wy.0 * wz.0, wx.1 * wy.0 * wz.0, wx.0 * wy.1 * wz.0, wx.1 * wy.1 * wz.0,
            wx.0 * wy.0 * wz.1, wx.1 * wy.0 * wz.1, wx.0 * wy.1 * wz.1, wx.1 * wy.1 * wz.1)
        return withUnsafeBytes(of: s.offsets) { ob in
            withUnsafeBytes(of: weights) { wb in
                let offs = ob.bindMemory(to: Int.self), ws = wb.bindMemory(to: Float.self)
                var best = data[offs[0]], bestWeight: Float = -1
                // Sum the weight of each distinct label once, in stencil order (deterministic).
                for a in 0..<8 {
                    let label = data[offs[a]]
                    var seen = false
                    for b in 0..<a where data[offs[b]] == label { seen = true; break }
                    if seen { continue }
                    var w: Float = 0
                    for b in a..<8 where data[offs[b]] == label { w += ws[b] }
                    if w > bestWeight { bestWeight = w; best = label }
                }
                return best
            }
        }
    }
}

/// Cubic B-spline evaluation on prefiltered coefficients, mirror boundary.
struct BSplineSampler: VoxelSampler {
    let coefficients: UnsafePointer<Float>
    let bounds: SourceBounds

    @inline(__always) static func weights(_ t: Double) -> (Double, Double, Double, Double) {
        let t2 = t * t, t3 = t2 * t, u = 1 - t
        return (u * u * u / 6, (3 * t3 - 6 * t2 + 4) / 6, (-3 * t3 + 3 * t2 + 3 * t + 1) / 6, t3 / 6)
    }

    @inline(__always) static func mirror(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        let period = 2 &* n &- 2
        var k = i % period
        if k < 0 { k += period }
        return k < n ? k : period &- k
    }

    @inline(__always) func sample(_ jx: Double, _ jy: Double, _ jz: Double, outside: Float) -> Float {
        guard bounds.contains(jx, jy, jz) else { return outside }
        let fx = floorNonNegative(jx + 2) &- 2, fy = floorNonNegative(jy + 2) &- 2, fz = floorNonNegative(jz + 2) &- 2
        let wx = Self.weights(jx - Double(fx)), wy = Self.weights(jy - Double(fy)), wz = Self.weights(jz - Double(fz))
        let ix = fx &- 1, iy = fy &- 1, iz = fz &- 1
        let nx = bounds.nx, ny = bounds.ny, nz = bounds.nz
        let flat = nz == 1
        let interior = ix >= 0 && ix &+ 3 < nx && iy >= 0 && iy &+ 3 < ny && (flat || (iz >= 0 && iz &+ 3 < nz))
        var xs = (ix, ix &+ 1, ix &+ 2, ix &+ 3), ys = (iy, iy &+ 1, iy &+ 2, iy &+ 3), zs = (iz, iz &+ 1, iz &+ 2, iz &+ 3)
        if !interior {
            xs = (Self.mirror(xs.0, nx), Self.mirror(xs.1, nx), Self.mirror(xs.2, nx), Self.mirror(xs.3, nx))
            ys = (Self.mirror(ys.0, ny), Self.mirror(ys.1, ny), Self.mirror(ys.2, ny), Self.mirror(ys.3, ny))
            if !flat { zs = (Self.mirror(zs.0, nz), Self.mirror(zs.1, nz), Self.mirror(zs.2, nz), Self.mirror(zs.3, nz)) }
        }
        @inline(__always) func plane(_ z: Int) -> Double {
            let base = coefficients + z &* bounds.nxy
            @inline(__always) func line(_ y: Int) -> Double {
                let row = base + y &* nx
                return wx.0 * Double(row[xs.0]) + wx.1 * Double(row[xs.1]) + wx.2 * Double(row[xs.2]) + wx.3 * Double(row[xs.3])
            }
            return wy.0 * line(ys.0) + wy.1 * line(ys.1) + wy.2 * line(ys.2) + wy.3 * line(ys.3)
        }
        if flat { return Float(plane(0)) }
        return Float(wz.0 * plane(zs.0) + wz.1 * plane(zs.1) + wz.2 * plane(zs.2) + wz.3 * plane(zs.3))
    }
}
