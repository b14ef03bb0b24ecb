import RegCore

/// Linear interpolation in one channel grid, zero outside it: the weights and corners of a point,
/// shared by the spatial transformer, its gradients and field resizing.
struct LinearStencil {
    /// Corner offsets into the grid and their weights (4 in a plane, 8 in a volume); invalid corners weigh 0.
    var index: SIMD8<Int> = .zero
    var weight: SIMD8<Float> = .zero
    /// ∂weight/∂x, ∂weight/∂y, ∂weight/∂z of each corner.
    var dx: SIMD8<Float> = .zero, dy: SIMD8<Float> = .zero, dz: SIMD8<Float> = .zero

    @inline(__always)
    init(x: Float, y: Float, z: Float, size: SIMD3<Int>) {
        let fx = x.rounded(.down), fy = y.rounded(.down), fz = z.rounded(.down)
        let ax = x - fx, ay = y - fy, az = z - fz
        let x0 = Int(fx), y0 = Int(fy), z0 = Int(fz)
        let corners = size.z == 1 ? 4 : 8
        for c in 0..<corners {
            let (cx, cy, cz) = (c & 1, (c >> 1) & 1, c >> 2)
            let (px, py, pz) = (x0 &+ cx, y0 &+ cy, z0 &+ cz)
            guard px >= 0, px < size.x, py >= 0, py < size.y, pz >= 0, pz < size.z else { continue }
            let wx: Float = cx == 1 ? ax : 1 - ax, wy: Float = cy == 1 ? ay : 1 - ay
            let wz: Float = size.z == 1 ? 1 : (cz == 1 ? az : 1 - az)
            let sx: Float = cx == 1 ? 1 : -1, sy: Float = cy == 1 ? 1 : -1, sz: Float = cz == 1 ? 1 : -1
            index[c] = (pz &* size.y &+ py) &* size.x &+ px
            weight[c] = wx * wy * wz
            dx[c] = sx * wy * wz
            dy[c] = wx * sy * wz
            dz[c] = size.z == 1 ? 0 : wx * wy * sz
        }
    }

    @inline(__always) func value(_ grid: UnsafePointer<Float>) -> Float {
        var s: Float = 0
        for c in 0..<8 { s += weight[c] * grid[index[c]] }   // invalid corners: index 0, weight 0
        return s
    }

    /// The interpolant's spatial gradient at the point.
    @inline(__always) func gradient(_ grid: UnsafePointer<Float>) -> SIMD3<Float> {
        var g = SIMD3<Float>.zero
        for c in 0..<8 {
            let v = grid[index[c]]
            g += SIMD3(dx[c], dy[c], dz[c]) * v
        }
        return g
    }

    @inline(__always) func scatter(_ value: Float, into grid: UnsafeMutablePointer<Float>) {
        for c in 0..<8 where weight[c] != 0 { grid[index[c]] += weight[c] * value }
    }
}

extension Tape {
    /// The spatial transformer: samples `image` (N×C×grid) at p + u(p), linearly, zero outside,
    /// where `field` (N×2×grid in a plane, N×3×grid in a volume) holds u in voxels, components
    /// (x, y[, z]) along (width, height[, depth]). Gradients flow to both.
    ///
    /// ```swift
    /// let warped = tape.warp(moving, by: flow)
    /// ```
    public func warp(_ image: Variable, by field: Variable) -> Variable {
        let xs = shape(image), fs = shape(field)
        precondition(fs.channels == xs.spatialDimension && fs.with(channels: 1) == xs.with(channels: 1),
                     "warp: field \(fs) does not fit image \(xs)")
        let size = xs.spatial, n = xs.spatialCount, channels = xs.channels, dim = fs.channels
        var y = [Float](repeating: 0, count: xs.count)
        withValue(image) { iv in
            withValue(field) { fv in
                y.withUnsafeMutableBufferPointer { yp in
                    let (si, sy) = (UnsafeSendable(iv), UnsafeSendable(yp.baseAddress!))
                    for item in 0..<xs.batch {
                        forEachSample(of: fv + item * dim * n, size: size) { p, s in
                            for c in 0..<channels {
                                let off = (item * channels + c) * n
                                sy.value[off + p] = s.value(si.value + off)
                            }
                        }
                    }
                }
            }
        }
        return record(xs, y, inputs: [image, field]) { [unowned self] out in
            withGradient(out) { g in
                withValue(image) { iv in
                    withValue(field) { fv in
                        let (si, sg) = (UnsafeSendable(iv), UnsafeSendable(g))
                        accumulate(field) { gf in
                            let sgf = UnsafeSendable(gf)
                            for item in 0..<xs.batch {
                                forEachSample(of: fv + item * dim * n, size: size) { p, s in
                                    var d = SIMD3<Float>.zero
                                    for c in 0..<channels {
                                        let off = (item * channels + c) * n
                                        d += s.gradient(si.value + off) * sg.value[off + p]
                                    }
                                    for k in 0..<dim { sgf.value[(item * dim + k) * n + p] += d[k] }
                                }
                            }
                        }
                        accumulate(image) { gi in
                            for item in 0..<xs.batch {
                                for p in 0..<n {
                                    let x = p % size.x
                                    let s = stencil(fv + item * dim * n, p: p, x: x, row: p / size.x, size: size, n: n)
                                    for c in 0..<channels {
                                        let off = (item * channels + c) * n
                                        s.scatter(g[off + p], into: gi + off)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Integrates a stationary velocity field (voxels) by scaling and squaring: u = v / 2^steps,
    /// then `steps` times u ← u + u∘(id + u). The result is the displacement of exp(v).
    public func integrate(_ velocity: Variable, steps: Int = 7) -> Variable {
        var u = scaled(velocity, by: 1 / Float(1 << steps))
        for _ in 0..<steps { u = add(u, warp(u, by: u)) }
        return u
    }

    /// Resamples every channel linearly onto a grid of `size` voxels with the corners aligned
    /// (output voxel o reads input position o · (in − 1)/(out − 1)), as VoxelMorph resizes fields.
    /// Values are not rescaled; scale a displacement with `scaled(_:by:)`.
    public func resized(_ x: Variable, to size: SIMD3<Int>) -> Variable {
        let xs = shape(x), ys = xs.with(spatial: size), planes = xs.batch * xs.channels
        let (inN, outN) = (xs.spatialCount, ys.spatialCount)
        func ratio(_ i: Int, _ o: Int) -> Float { o > 1 ? Float(i - 1) / Float(o - 1) : 0 }
        let r = SIMD3(ratio(xs.width, size.x), ratio(xs.height, size.y), ratio(xs.depth, size.z))
        var stencils = [LinearStencil]()
        stencils.reserveCapacity(outN)
        for z in 0..<size.z {
            for yy in 0..<size.y {
                for xx in 0..<size.x {
                    stencils.append(LinearStencil(x: Float(xx) * r.x, y: Float(yy) * r.y, z: Float(z) * r.z, size: xs.spatial))
                }
            }
        }
        var y = [Float](repeating: 0, count: ys.count)
        withValue(x) { xv in
            for plane in 0..<planes { for o in 0..<outN { y[plane * outN + o] = stencils[o].value(xv + plane * inN) } }
        }
        return record(ys, y, inputs: [x]) { [unowned self] out in
            withGradient(out) { g in
                accumulate(x) { gx in
                    for plane in 0..<planes { for o in 0..<outN { stencils[o].scatter(g[plane * outN + o], into: gx + plane * inN) } }
                }
            }
        }
    }
}

/// Calls `body(p, stencil)` for every voxel p of a grid, with the stencil of p displaced by the
/// field's vector there; in parallel over fixed blocks of rows, each voxel written by one call only.
@inline(__always)
private func forEachSample(of field: UnsafePointer<Float>, size: SIMD3<Int>, _ body: (Int, LinearStencil) -> Void) {
    let n = size.x * size.y * size.z, f = UnsafeSendable(field)
    parallelFor(count: size.y * size.z, chunkSize: 16) { rows in
        for row in rows {
            for x in 0..<size.x {
                let p = row &* size.x &+ x
                body(p, stencil(f.value, p: p, x: x, row: row, size: size, n: n))
            }
        }
    }
}

/// The stencil at voxel `p` = (x, row) displaced by the field's vector there.
@inline(__always)
private func stencil(_ field: UnsafePointer<Float>, p: Int, x: Int, row: Int, size: SIMD3<Int>, n: Int) -> LinearStencil {
    let yy = row % size.y, z = row / size.y
    let ux = field[p], uy = field[n &+ p], uz: Float = size.z == 1 ? 0 : field[2 &* n &+ p]
    return LinearStencil(x: Float(x) + ux, y: Float(yy) + uy, z: Float(z) + uz, size: size)
}
