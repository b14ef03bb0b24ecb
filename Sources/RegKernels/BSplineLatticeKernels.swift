import RegCore

/// Where the voxels of one grid axis fall on one axis of a cubic B-spline control lattice: for
/// each voxel index, the first of its 4 supporting control points and their 4 weights. An axis
/// with a single control point (the z axis of a 2-D lattice) has support 1 and weight 1.
///
/// ```swift
/// // voxel i sits at lattice coordinate 1.5 + 0.25·i
/// let axis = BSplineAxis(count: 64, start: 1.5, step: 0.25, latticeCount: 20)
/// ```
public struct BSplineAxis: Sendable {
    /// The first supporting control point of each voxel index.
    public let first: [Int32]
    /// `support` weights per voxel index.
    public let weights: [Float]
    /// 4, or 1 for a single-point axis.
    public let support: Int
    public let latticeCount: Int

    /// Voxel `i` sits at continuous lattice coordinate `start + step·i`, clamped to the
    /// lattice's valid span `[1, latticeCount − 2]` (the field is continued flat beyond it).
    public init(count: Int, start: Double, step: Double, latticeCount: Int) {
        self.latticeCount = latticeCount
        if latticeCount < 4 {
            precondition(latticeCount == 1, "a cubic lattice axis needs 1 or at least 4 control points")
            support = 1
            first = [Int32](repeating: 0, count: count)
            weights = [Float](repeating: 1, count: count)
            return
        }
        support = 4
        var first = [Int32](repeating: 0, count: count), weights = [Float](repeating: 0, count: 4 * count)
        for i in 0..<count {
            let t = min(max(start + step * Double(i), 1), Double(latticeCount - 2))
            let base = min(Int(t.rounded(.down)), latticeCount - 3)
            let w = BSplineAxis.cubicWeights(t - Double(base))
            first[i] = Int32(base - 1)
            for k in 0..<4 { weights[4 * i + k] = Float(w[k]) }
        }
        self.first = first
        self.weights = weights
    }

    /// The cubic B-spline weights of control points `base − 1 … base + 2` at `base + u`, `0 ≤ u ≤ 1`.
    public static func cubicWeights(_ u: Double) -> SIMD4<Double> {
        let u2 = u * u, u3 = u2 * u, v = 1 - u
        return SIMD4(v * v * v, 3 * u3 - 6 * u2 + 4, -3 * u3 + 3 * u2 + 3 * u + 1, u3) / 6
    }
}

/// The two hot passes of a B-spline free-form deformation, separable over the three axes:
/// evaluating the dense field from the control coefficients, and its adjoint, which carries a
/// dense gradient (∂C/∂u at every voxel) back onto the coefficients. Coefficients and fields hold
/// 3 interleaved components, x fastest. Rows run in parallel; every sum runs in a fixed order,
/// so results are bitwise identical for any thread count.
///
/// ```swift
/// BSplineLatticeKernels.evaluate(coefficients, lattice: latticeSize, axes: (ax, ay, az), into: &field.vectors)
/// BSplineLatticeKernels.adjoint(gradient.vectors, lattice: latticeSize, axes: (ax, ay, az), into: &coefficientGradient)
/// ```
public enum BSplineLatticeKernels {
    public typealias Axes = (x: BSplineAxis, y: BSplineAxis, z: BSplineAxis)

    /// `out[v] = Σ_c B(v, c)·coefficients[c]` over the grid `axes` describe.
    public static func evaluate(_ coefficients: VoxelBuffer<Float>, lattice: SIMD3<Int>, axes: Axes, into out: inout VoxelBuffer<Float>) {
        let (lx, ly, lz) = (lattice.x, lattice.y, lattice.z)
        let (nx, ny, nz) = (axes.x.first.count, axes.y.first.count, axes.z.first.count)
        precondition(coefficients.count == 3 * lx * ly * lz && out.count == 3 * nx * ny * nz)
        precondition(axes.x.latticeCount == lx && axes.y.latticeCount == ly && axes.z.latticeCount == lz)
        // Along z: one lattice plane per voxel plane.
        let plane = 3 &* lx &* ly
        var planes = [Float](repeating: 0, count: nz * plane)
        coefficients.withUnsafeBufferPointer { cb in
            planes.withUnsafeMutableBufferPointer { pb in
                let c = UnsafeSendable(cb.baseAddress!), p = UnsafeSendable(pb.baseAddress!)
                parallelFor(count: nz) { zs in
                    for z in zs { accumulate(axes.z, index: z, from: c.value, stride: plane, into: p.value + z &* plane, count: plane) }
                }
            }
        }
        // Along y, then x, one row at a time.
        let rowWidth = 3 &* lx
        planes.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { ob in
                let p = UnsafeSendable(pb.baseAddress!), o = UnsafeSendable(ob.baseAddress!)
                parallelFor(count: ny * nz, chunkSize: max(1, ny / 4)) { rows in
                    let line = UnsafeMutablePointer<Float>.allocate(capacity: rowWidth)
                    defer { line.deallocate() }
                    for row in rows {
                        let y = row % ny, z = row / ny
                        line.update(repeating: 0, count: rowWidth)
                        accumulate(axes.y, index: y, from: p.value + z &* plane, stride: rowWidth, into: line, count: rowWidth)
                        expandRow(line, axis: axes.x, into: o.value + 3 &* row &* nx)
                    }
                }
            }
        }
    }

    /// The adjoint of `evaluate`: `out[c] = Σ_v B(v, c)·gradient[v]`.
    public static func adjoint(_ gradient: VoxelBuffer<Float>, lattice: SIMD3<Int>, axes: Axes, into out: inout VoxelBuffer<Float>) {
        let (lx, ly, lz) = (lattice.x, lattice.y, lattice.z)
        let (nx, ny, nz) = (axes.x.first.count, axes.y.first.count, axes.z.first.count)
        precondition(gradient.count == 3 * nx * ny * nz && out.count == 3 * lx * ly * lz)
        let plane = 3 &* lx &* ly, rowWidth = 3 &* lx
        // Rows onto lattice lines, then lines onto one lattice plane per voxel plane.
        var planes = [Float](repeating: 0, count: nz * plane)
        gradient.withUnsafeBufferPointer { gb in
            planes.withUnsafeMutableBufferPointer { pb in
                let g = UnsafeSendable(gb.baseAddress!), p = UnsafeSendable(pb.baseAddress!)
                parallelFor(count: nz) { zs in
                    let line = UnsafeMutablePointer<Float>.allocate(capacity: rowWidth)
                    defer { line.deallocate() }
                    for z in zs {
                        let target = p.value + z &* plane
                        for y in 0..<ny {
                            collapseRow(g.value + 3 &* (z &* ny &+ y) &* nx, count: nx, axis: axes.x, into: line, width: rowWidth)
                            scatter(axes.y, index: y, from: line, into: target, stride: rowWidth, count: rowWidth)
                        }
                    }
                }
            }
        }
        // Voxel planes onto lattice planes: each worker owns a band of lattice rows.
        out.withUnsafeMutableBufferPointer { ob in
            ob.update(repeating: 0)
            planes.withUnsafeBufferPointer { pb in
                let p = UnsafeSendable(pb.baseAddress!), o = UnsafeSendable(ob.baseAddress!)
                parallelFor(count: ly) { cys in
                    let offset = cys.lowerBound &* rowWidth, width = cys.count &* rowWidth
                    for z in 0..<nz {
                        scatter(axes.z, index: z, from: p.value + z &* plane + offset, into: o.value + offset, stride: plane, count: width)
                    }
                }
            }
        }
    }

    /// `into[0..<count] += Σ_k w_k · from[(first + k)·stride + …]` for voxel `index` of `axis`.
    @inline(__always)
    static func accumulate(_ axis: BSplineAxis, index: Int, from: UnsafePointer<Float>, stride: Int,
                           into: UnsafeMutablePointer<Float>, count: Int) {
        let first = Int(axis.first[index])
        for k in 0..<axis.support {
            let w = axis.weights[axis.support &* index &+ k]
            let source = from + (first &+ k) &* stride
            for i in 0..<count { into[i] += w * source[i] }
        }
    }

    /// `into[(first + k)·stride + …] += w_k · from[0..<count]`: the transpose of `accumulate`.
    @inline(__always)
    static func scatter(_ axis: BSplineAxis, index: Int, from: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>,
                        stride: Int, count: Int) {
        let first = Int(axis.first[index])
        for k in 0..<axis.support {
            let w = axis.weights[axis.support &* index &+ k]
            let target = into + (first &+ k) &* stride
            for i in 0..<count { target[i] += w * from[i] }
        }
    }

    /// One output row from one lattice line along x.
    @inline(__always)
    static func expandRow(_ line: UnsafePointer<Float>, axis: BSplineAxis, into row: UnsafeMutablePointer<Float>) {
        axis.first.withUnsafeBufferPointer { fb in
            axis.weights.withUnsafeBufferPointer { wb in
                let support = axis.support
                for x in 0..<fb.count {
                    var v = SIMD3<Float>.zero
                    let base = 3 &* Int(fb[x]), w = wb.baseAddress! + support &* x
                    for k in 0..<support {
                        let c = base &+ 3 &* k
                        v += w[k] * SIMD3(line[c], line[c &+ 1], line[c &+ 2])
                    }
                    row[3 &* x] = v.x; row[3 &* x &+ 1] = v.y; row[3 &* x &+ 2] = v.z
                }
            }
        }
    }

    /// One lattice line from one gradient row along x: the transpose of `expandRow`.
    @inline(__always)
    static func collapseRow(_ row: UnsafePointer<Float>, count: Int, axis: BSplineAxis, into line: UnsafeMutablePointer<Float>, width: Int) {
        line.update(repeating: 0, count: width)
        axis.first.withUnsafeBufferPointer { fb in
            axis.weights.withUnsafeBufferPointer { wb in
                let support = axis.support
                for x in 0..<count {
                    let g = SIMD3<Float>(row[3 &* x], row[3 &* x &+ 1], row[3 &* x &+ 2])
                    if g == .zero { continue }
                    let base = 3 &* Int(fb[x]), w = wb.baseAddress! + support &* x
                    for k in 0..<support {
                        let c = base &+ 3 &* k
                        line[c] += w[k] * g.x; line[c &+ 1] += w[k] * g.y; line[c &+ 2] += w[k] * g.z
                    }
                }
            }
        }
    }
}
