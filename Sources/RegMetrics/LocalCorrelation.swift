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
    ///
    /// Slice by slice, so no channel crosses memory: each thread takes a run of slices and keeps
    /// the x/y window sums of the five products, then of the seven per-window terms, in rings of
    /// `2r + 1` slices from which the z sums are read. The values are those of whole-volume box
    /// sums (the same additions in the same order) for any split.
    public static func evaluate(fixed: Image<Float>, moving: Image<Float>, radius: Int, mask: Image<UInt8>? = nil) -> VoxelwiseSimilarity {
        let g = fixed.geometry
        precondition(g.sameGrid(as: moving.geometry) && fixed.components == 1 && moving.components == 1)
        if let mask { precondition(mask.geometry.voxelCount == g.voxelCount) }
        let n = g.voxelCount, nz = g.size.z
        // Written whole before they are read: no zero fill.
        var dI = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
        var dJ = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
        // Per slice: Σ cc and the number of windows that count, added in slice order at the end.
        var perSlice = [SIMD2<Double>](repeating: .zero, count: nz)
        fixed.voxels.withUnsafeBufferPointer { fb in
            moving.voxels.withUnsafeBufferPointer { mb in
                (mask?.voxels ?? []).withUnsafeBufferPointer { maskBuffer in
                    dI.withUnsafeMutableBufferPointer { dib in
                        dJ.withUnsafeMutableBufferPointer { djb in
                            perSlice.withUnsafeMutableBufferPointer { sb in
                                let pipeline = SlicePipeline(size: g.size, radius: radius, fixed: fb.baseAddress!, moving: mb.baseAddress!,
                                                             mask: mask == nil ? nil : maskBuffer.baseAddress!,
                                                             dI: dib.baseAddress!, dJ: djb.baseAddress!, perSlice: sb.baseAddress!)
                                let runs = min(nz, Parallelism.threadCount)
                                parallelFor(count: runs, chunkSize: 1) { rs in
                                    for run in rs { pipeline.run(slices: (run * nz / runs)..<((run + 1) * nz / runs)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        let totals = perSlice.reduce(SIMD2<Double>.zero, +)
        // The derivatives so far are per window sum; the mean is over the windows that count.
        func scale(_ values: inout [Float], by factor: Float) {
            values.withUnsafeMutableBufferPointer { b in
                let p = UnsafeSendable(b.baseAddress!)
                parallelFor(count: n, chunkSize: 1 << 16) { r in for i in r { p.value[i] = factor * p.value[i] } }
            }
        }
        scale(&dI, by: Float(1 / max(1, totals.y)))
        scale(&dJ, by: Float(1 / max(1, totals.y)))
        return VoxelwiseSimilarity(value: totals.x / max(1, totals.y), fixedDerivative: dI, movingDerivative: dJ)
    }

    /// One evaluation's inputs, outputs and grid, and the slice pipeline of one run of slices.
    struct SlicePipeline: @unchecked Sendable {
        let nx: Int, ny: Int, nz: Int, r: Int
        let fixed: UnsafePointer<Float>, moving: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?
        let dI: UnsafeMutablePointer<Float>, dJ: UnsafeMutablePointer<Float>, perSlice: UnsafeMutablePointer<SIMD2<Double>>
        /// Window sizes per axis: the count of voxel (x, y, z) is cx[x]·(cy[y]·cz[z]).
        let counts: [[Float]]
        var sliceSize: Int { nx * ny }

        init(size: SIMD3<Int>, radius: Int, fixed: UnsafePointer<Float>, moving: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?,
             dI: UnsafeMutablePointer<Float>, dJ: UnsafeMutablePointer<Float>, perSlice: UnsafeMutablePointer<SIMD2<Double>>) {
            (nx, ny, nz, r) = (size.x, size.y, size.z, radius)
            (self.fixed, self.moving, self.mask, self.dI, self.dJ, self.perSlice) = (fixed, moving, mask, dI, dJ, perSlice)
            counts = (0..<3).map { a in (0..<size[a]).map { Float(BoxSums.axisCount($0, size[a], radius)) } }
        }

        /// Output slices `zs`: the derivative slices (before the 1/count scale) and their Σ cc.
        /// Products are made for slices up to 2r beyond the run, terms up to r beyond.
        func run(slices zs: Range<Int>) {
            guard !zs.isEmpty else { return }
            let s = sliceSize, ringCount = 2 * r + 1
            // Rings of x/y-summed slices: 5 product channels, then 7 term channels.
            let products = UnsafeMutablePointer<Float>.allocate(capacity: 5 * ringCount * s)
            let terms = UnsafeMutablePointer<Float>.allocate(capacity: 7 * ringCount * s)
            // One slice of each set of channels, z-summed or before x/y sums, and a scratch slice.
            let slice = UnsafeMutablePointer<Float>.allocate(capacity: 7 * s)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: s)
            let arrays = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: ringCount)
            defer { products.deallocate(); terms.deallocate(); slice.deallocate(); scratch.deallocate(); arrays.deallocate() }
            @inline(__always) func product(_ c: Int, _ k: Int) -> UnsafeMutablePointer<Float> { products + ((k % ringCount) * 5 + c) * s }
            @inline(__always) func term(_ c: Int, _ k: Int) -> UnsafeMutablePointer<Float> { terms + ((k % ringCount) * 7 + c) * s }
            /// Channel `c` of slice `k` summed over the z window from `ring`, into `slice + c·s`.
            func zSum(_ ring: (Int, Int) -> UnsafeMutablePointer<Float>, channels: Int, slice k: Int) {
                let lo = max(0, k - r), hi = min(nz - 1, k + r)
                for c in 0..<channels {
                    for j in lo...hi { arrays[j - lo] = UnsafePointer(ring(c, j)) }
                    BoxSums.sum(arrays: arrays, count: hi - lo + 1, width: s, into: slice + c * s)
                }
            }
            // The first term slice's window starts 2r below the run: no product slice before it.
            var madeProducts = max(0, zs.lowerBound - 2 * r) - 1, madeTerms = -1, next = zs.lowerBound
            for k in max(0, zs.lowerBound - r)...min(nz - 1, zs.upperBound - 1 + r) {
                // The product slices that term slice k's z window needs.
                let top = min(nz - 1, k + r)
                while madeProducts < top {
                    madeProducts += 1
                    makeProducts(slice: madeProducts, into: slice)
                    for c in 0..<5 {
                        BoxSums.sumSlice(slice + c * s, into: product(c, madeProducts), scratch: scratch, width: nx, height: ny, radius: r)
                    }
                }
                zSum(product, channels: 5, slice: k)
                let sums = makeTerms(slice: k, from: slice)
                if zs.contains(k) { perSlice[k] = sums }
                for c in 0..<7 { BoxSums.sumSlice(slice + c * s, into: term(c, k), scratch: scratch, width: nx, height: ny, radius: r) }
                madeTerms = k
                // Every output slice whose z window of terms is complete.
                while next < zs.upperBound && min(nz - 1, next + r) <= madeTerms {
                    zSum(term, channels: 7, slice: next)
                    makeDerivatives(slice: next, from: slice)
                    next += 1
                }
            }
        }

        /// The five products I, J, I², J², IJ of slice `z`, one channel after another.
        func makeProducts(slice z: Int, into p: UnsafeMutablePointer<Float>) {
            let s = sliceSize, f = fixed + z * s, m = moving + z * s
            for i in 0..<s {
                let a = f[i], b = m[i]
                p[i] = a; p[s &+ i] = b; p[2 &* s &+ i] = a * a; p[3 &* s &+ i] = b * b; p[4 &* s &+ i] = a * b
            }
        }

        /// From the window sums of slice `z` in `c` (5 channels), the 7 per-window terms α, αμI,
        /// αμJ, βJ, βJ·μJ, βI, βI·μI written over them, and the slice's Σ cc and window count.
        func makeTerms(slice z: Int, from c: UnsafeMutablePointer<Float>) -> SIMD2<Double> {
            let s = sliceSize
            let (c0, c1, c2, c3, c4, c5, c6) = (c, c + s, c + 2 * s, c + 3 * s, c + 4 * s, c + 5 * s, c + 6 * s)
            var sums = SIMD2<Double>.zero
            // Without a mask every voxel counts: a row of ones keeps the loop free of branches.
            let everywhere = [UInt8](repeating: 1, count: mask == nil ? nx : 0)
            counts[0].withUnsafeBufferPointer { cx in
              everywhere.withUnsafeBufferPointer { ones in
                for y in 0..<ny {
                    let rowCount = counts[1][y] * counts[2][z]
                    let rowStart: Int = z &* s &+ y &* nx
                    let insideRow: UnsafePointer<UInt8> = mask.map { $0 + rowStart } ?? ones.baseAddress!
                    for x in 0..<nx {
                        let i = y &* nx &+ x
                        let count = cx[x] * rowCount
                        let muI = c0[i] / count, muJ = c1[i] / count
                        let a = c4[i] - count * muI * muJ
                        let b = c2[i] - count * muI * muI, cj = c3[i] - count * muJ * muJ
                        let floor = varianceFloor * count
                        let inside = insideRow[x] != 0
                        // Branch-free, so the loop vectorises: invalid windows get 0.
                        let valid = inside && b > floor && cj > floor
                        let bs = valid ? b : 1, cs = valid ? cj : 1, aa = valid ? a : 0
                        let inverseBC = 1 / (bs * cs)
                        let cc = aa * aa * inverseBC
                        sums += SIMD2(Double(cc), valid ? 1 : 0)
                        let al = 2 * aa * inverseBC, bj = al * aa / cs, bi = al * aa / bs
                        c0[i] = al; c1[i] = al * muI; c2[i] = al * muJ
                        c3[i] = bj; c4[i] = bj * muJ; c5[i] = bi; c6[i] = bi * muI
                    }
                }
              }
            }
            return sums
        }

        /// The derivative slices `z` of both images from the window sums of the terms in `p`.
        func makeDerivatives(slice z: Int, from p: UnsafeMutablePointer<Float>) {
            let s = sliceSize, f = fixed + z * s, m = moving + z * s, di = dI + z * s, dj = dJ + z * s
            for i in 0..<s {
                let a = f[i], b = m[i]
                dj[i] = a * p[i] - p[s &+ i] - b * p[3 &* s &+ i] + p[4 &* s &+ i]
                di[i] = b * p[i] - p[2 &* s &+ i] - a * p[5 &* s &+ i] + p[6 &* s &+ i]
            }
        }
    }
}
