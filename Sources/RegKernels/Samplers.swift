import RegCore

/// A per-voxel reader of a source image at a continuous index. Implementations are structs
/// over raw pointers; the resampling loop is generic over them and specialised by the compiler,
/// so no dynamic call happens per voxel.
protocol VoxelSampler {
    associatedtype Output
    /// The value at continuous index `j`, or `outside` when `j` lies outside the image
    /// (beyond half a voxel from the centre of an edge voxel, as in ITK).
    func sample(_ j: SIMD3<Double>, outside: Output) -> Output
}

/// Bounds shared by the samplers: inside means `-0.5 ≤ j < size − 0.5` on every axis.
struct SourceBounds {
    let nx: Int, ny: Int, nz: Int, nxy: Int
    let hiX: Double, hiY: Double, hiZ: Double

    init(_ size: SIMD3<Int>) {
        nx = size.x; ny = size.y; nz = size.z; nxy = size.x * size.y
        hiX = Double(nx) - 0.5; hiY = Double(ny) - 0.5; hiZ = Double(nz) - 0.5
    }

    @inline(__always) func contains(_ j: SIMD3<Double>) -> Bool {
        j.x >= -0.5 && j.x < hiX && j.y >= -0.5 && j.y < hiY && j.z >= -0.5 && j.z < hiZ
    }
}

/// The 8 trilinear neighbours of a continuous index, clamped to the grid, with weights.
struct LinearStencil {
    var offsets: (Int, Int, Int, Int, Int, Int, Int, Int)
    var tx: Float, ty: Float, tz: Float

    @inline(__always) init(_ j: SIMD3<Double>, _ b: SourceBounds) {
        let fx = j.x.rounded(.down), fy = j.y.rounded(.down), fz = j.z.rounded(.down)
        tx = Float(j.x - fx); ty = Float(j.y - fy); tz = Float(j.z - fz)
        var x0 = Int(fx), y0 = Int(fy), z0 = Int(fz)
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

    @inline(__always) func sample(_ j: SIMD3<Double>, outside: Float) -> Float {
        guard bounds.contains(j) else { return outside }
        let s = LinearStencil(j, bounds)
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

    @inline(__always) func sample(_ j: SIMD3<Double>, outside: T) -> T {
        guard bounds.contains(j) else { return outside }
        // Round half up, as ITK's nearest-neighbour interpolator does.
        var x = Int((j.x + 0.5).rounded(.down)), y = Int((j.y + 0.5).rounded(.down)), z = Int((j.z + 0.5).rounded(.down))
        if x >= bounds.nx { x = bounds.nx &- 1 }; if y >= bounds.ny { y = bounds.ny &- 1 }; if z >= bounds.nz { z = bounds.nz &- 1 }
        return data[x &+ y &* bounds.nx &+ z &* bounds.nxy]
    }
}

/// Label-aware interpolation: the label with the largest summed trilinear weight.
struct LabelSampler<T: Equatable>: VoxelSampler {
    let data: UnsafePointer<T>
    let bounds: SourceBounds

    @inline(__always) func sample(_ j: SIMD3<Double>, outside: T) -> T {
        guard bounds.contains(j) else { return outside }
        let s = LinearStencil(j, bounds)
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

    @inline(__always) static func tap(_ w: (Double, Double, Double, Double), _ k: Int) -> Double {
        k == 0 ? w.0 : (k == 1 ? w.1 : (k == 2 ? w.2 : w.3))
    }

    @inline(__always) func sample(_ j: SIMD3<Double>, outside: Float) -> Float {
        guard bounds.contains(j) else { return outside }
        let fx = j.x.rounded(.down), fy = j.y.rounded(.down), fz = j.z.rounded(.down)
        let wx = Self.weights(j.x - fx), wy = Self.weights(j.y - fy), wz = Self.weights(j.z - fz)
        let ix = Int(fx) &- 1, iy = Int(fy) &- 1, iz = Int(fz) &- 1
        let nx = bounds.nx
        let x0 = Self.mirror(ix, nx), x1 = Self.mirror(ix &+ 1, nx), x2 = Self.mirror(ix &+ 2, nx), x3 = Self.mirror(ix &+ 3, nx)
        let flat = bounds.nz == 1
        var sum = 0.0
        for c in 0..<(flat ? 1 : 4) {
            let z = flat ? 0 : Self.mirror(iz &+ c, bounds.nz)
            let wzc = flat ? 1.0 : Self.tap(wz, c)
            for b in 0..<4 {
                let y = Self.mirror(iy &+ b, bounds.ny)
                let row = coefficients + (y &* nx &+ z &* bounds.nxy)
                let line = wx.0 * Double(row[x0]) + wx.1 * Double(row[x1]) + wx.2 * Double(row[x2]) + wx.3 * Double(row[x3])
                sum += wzc * Self.tap(wy, b) * line
            }
        }
        return Float(sum)
    }
}
