import RegCore
import RegKernels

/// Local normalised cross-correlation of two images on one grid, with its exact derivative with
/// respect to every voxel of both images (as greedy and ANTs' `CC` metric define it).
///
/// For each voxel `x` with window `W(x)` of radius `r` (clipped at the edges),
/// `cc(x) = A² / (B·C)` with `A = Σ(I − μI)(J − μJ)`, `B = Σ(I − μI)²`, `C = Σ(J − μJ)²` over
/// `W(x)`; the metric is the mean of `cc` over the voxels of the mask whose windows have
/// variance in both images. Because `∂cc(x)/∂J(y) = α(x)(I(y) − μI(x)) − β(x)(J(y) − μJ(x))`
/// with `α = 2A/(BC)`, `β = 2A²/(BC²)`, the derivative at `y` sums box sums of `α`, `αμI`, `β`,
/// `βμJ` over the windows that contain `y`: two rounds of box sums, no per-window loop.
///
/// ```swift
/// let lcc = LocalCorrelation.evaluate(fixed: warpedFixed, moving: warpedMoving, radius: 2)
/// let force = FieldKernels.force(weights: lcc.movingDerivative, image: warpedMoving)
/// ```
public enum LocalCorrelation {
    /// Windows whose variance is below this (per voxel, in squared intensity units) are ignored.
    static let varianceFloor: Float = 1e-5

    /// Computes the metric and both derivatives; `mask` (nonzero = inside, on the same grid)
    /// restricts the windows that count. Intensities should be of order 1 (the sums are `Float`).
    public static func evaluate(fixed: Image<Float>, moving: Image<Float>, radius: Int, mask: Image<UInt8>? = nil) -> VoxelwiseSimilarity {
        let g = fixed.geometry
        precondition(g.sameGrid(as: moving.geometry) && fixed.components == 1 && moving.components == 1)
        if let mask { precondition(mask.geometry.voxelCount == g.voxelCount) }
        let n = g.voxelCount, size = g.size
        let (nx, ny) = (size.x, size.y), rows = size.y * size.z
        let rowChunk = max(1, ny / 2)
        // Window sizes per axis: the count of voxel (x, y, z) is cx[x]·cy[y]·cz[z].
        let counts = (0..<3).map { a in (0..<size[a]).map { Float(BoxSums.axisCount($0, size[a], radius)) } }
        // Seven channels of n values in one buffer: first ΣI, ΣJ, ΣI², ΣJ², ΣIJ; then, per
        // window, α, αμI, αμJ, βJ, βJ·μJ, βI, βI·μI, box-summed again.
        // Every channel and both derivatives are written whole before they are read: no zero fill.
        var work = [Float](unsafeUninitializedCapacity: 7 * n) { _, count in count = 7 * n }
        var dI = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
        var dJ = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
        let totals = work.withUnsafeMutableBufferPointer { buffer in
            fixed.voxels.withUnsafeBufferPointer { fb in
                moving.voxels.withUnsafeBufferPointer { mb in
                    let c = UnsafeSendable(buffer.baseAddress!), fp = UnsafeSendable(fb.baseAddress!), mp = UnsafeSendable(mb.baseAddress!)
                    let maskVoxels = mask?.voxels ?? []
                    parallelFor(count: rows, chunkSize: rowChunk) { rowRange in
                        let p = c.value, i0 = rowRange.lowerBound * nx, i1 = rowRange.upperBound * nx
                        let f = fp.value, m = mp.value
                        for i in i0..<i1 {
                            let a = f[i], b = m[i]
                            p[i] = a; p[n &+ i] = b; p[2 &* n &+ i] = a * a; p[3 &* n &+ i] = b * b; p[4 &* n &+ i] = a * b
                        }
                    }
                    BoxSums.sum(c.value, channels: 5, size: size, radius: radius)
                    let totals = parallelReduce(count: rows, chunkSize: rowChunk, initial: SIMD2<Double>.zero, combine: +) { rowRange in
                        var s = SIMD2<Double>.zero
                        let p = c.value
                        let (c0, c1, c2, c3, c4, c5, c6) = (p, p + n, p + 2 * n, p + 3 * n, p + 4 * n, p + 5 * n, p + 6 * n)
                        counts[0].withUnsafeBufferPointer { cx in
                            for row in rowRange {
                                let rowCount = counts[1][row % ny] * counts[2][row / ny]
                                for x in 0..<nx {
                                    let i = row &* nx &+ x
                                    let count = cx[x] * rowCount
                                    let muI = c0[i] / count, muJ = c1[i] / count
                                    let a = c4[i] - count * muI * muJ
                                    let b = c2[i] - count * muI * muI, cj = c3[i] - count * muJ * muJ
                                    let floor = varianceFloor * count
                                    let inside = maskVoxels.isEmpty || maskVoxels[i] != 0
                                    // Branch-free, so the loop vectorises: invalid windows get 0.
                                    let valid = inside && b > floor && cj > floor
                                    let bs = valid ? b : 1, cs = valid ? cj : 1, aa = valid ? a : 0
                                    let inverseBC = 1 / (bs * cs)
                                    let cc = aa * aa * inverseBC
                                    s += SIMD2(Double(cc), valid ? 1 : 0)
                                    let al = 2 * aa * inverseBC, bj = al * aa / cs, bi = al * aa / bs
                                    c0[i] = al; c1[i] = al * muI; c2[i] = al * muJ
                                    c3[i] = bj; c4[i] = bj * muJ; c5[i] = bi; c6[i] = bi * muI
                                }
                            }
                        }
                        return s
                    }
                    BoxSums.sum(c.value, channels: 7, size: size, radius: radius)
                    let scale = Float(1 / max(1, totals.y))
                    dI.withUnsafeMutableBufferPointer { dib in
                        dJ.withUnsafeMutableBufferPointer { djb in
                            let oi = UnsafeSendable(dib.baseAddress!), oj = UnsafeSendable(djb.baseAddress!)
                            parallelFor(count: rows, chunkSize: rowChunk) { rowRange in
                                let p = c.value, f = fp.value, m = mp.value, di = oi.value, dj = oj.value
                                let i0 = rowRange.lowerBound * nx, i1 = rowRange.upperBound * nx
                                for i in i0..<i1 {
                                    let a = f[i], b = m[i]
                                    dj[i] = scale * (a * p[i] - p[n &+ i] - b * p[3 &* n &+ i] + p[4 &* n &+ i])
                                    di[i] = scale * (b * p[i] - p[2 &* n &+ i] - a * p[5 &* n &+ i] + p[6 &* n &+ i])
                                }
                            }
                        }
                    }
                    return totals
                }
            }
        }
        return VoxelwiseSimilarity(value: totals.x / max(1, totals.y), fixedDerivative: dI, movingDerivative: dJ)
    }
}
