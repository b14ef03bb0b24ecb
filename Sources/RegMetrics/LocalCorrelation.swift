import RegCore
import RegKernels
import Synchronization

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
    /// Slice by slice, so no channel crosses memory: two runs work each segment of slices, one
    /// up from its first slice and one down from its last, claiming slices until they meet, and
    /// keep the x/y window sums of the five products, then of the seven per-window terms, in
    /// rings of `2r + 1` slices from which the z sums are read. The values are those of
    /// whole-volume box sums (the same additions in the same order) wherever the runs meet.
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
                                // Each segment is worked from both ends, up and down, by two runs that
                                // claim its slices until they meet: a run slowed down does fewer.
                                let segments = max(1, min(nz, (Parallelism.threadCount + 1) / 2))
                                let claims = (0..<segments).map { SliceClaims(count: ($0 + 1) * nz / segments - $0 * nz / segments) }
                                parallelFor(count: 2 * segments, chunkSize: 1) { rs in
                                    for run in rs {
                                        let k = run / 2
                                        pipeline.run(segment: (k * nz / segments)..<((k + 1) * nz / segments), downward: run % 2 == 1,
                                                     claims: claims[k])
                                    }
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

    /// One evaluation's inputs, outputs and grid, and the slice pipeline of one run.
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

        /// The output slices of segment `zs` that this run claims from `claims`, one at a time
        /// from its first slice up (or from its last down): their derivative slices (before the
        /// 1/count scale) and Σ cc. Products are made up to 2r slices beyond the last slice
        /// claimed, terms up to r beyond; a run that finds nothing left stops there.
        func run(segment zs: Range<Int>, downward: Bool, claims: SliceClaims) {
            guard !zs.isEmpty, !claims.exhausted else { return }
            let s = sliceSize, ringCount = 2 * r + 1, d = downward ? -1 : 1
            // Rings of x/y-summed slices: 5 product channels, then 7 term channels.
            let products = UnsafeMutablePointer<Float>.allocate(capacity: 5 * ringCount * s)
            let terms = UnsafeMutablePointer<Float>.allocate(capacity: 7 * ringCount * s)
            // One slice of each set of channels, z-summed or before x/y sums, and a scratch slice.
            let slice = UnsafeMutablePointer<Float>.allocate(capacity: 7 * s)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: s)
            let arrays = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: ringCount)
            // Σ cc and the window count of the term slices in the ring, kept until their slice is claimed.
            let sums = UnsafeMutablePointer<SIMD2<Double>>.allocate(capacity: ringCount)
            defer { products.deallocate(); terms.deallocate(); slice.deallocate(); scratch.deallocate(); arrays.deallocate(); sums.deallocate() }
            @inline(__always) func product(_ c: Int, _ k: Int) -> UnsafeMutablePointer<Float> { products + ((k % ringCount) * 5 + c) * s }
            @inline(__always) func term(_ c: Int, _ k: Int) -> UnsafeMutablePointer<Float> { terms + ((k % ringCount) * 7 + c) * s }
            @inline(__always) func clamped(_ z: Int) -> Int { min(nz - 1, max(0, z)) }
            /// Channel `c` of slice `k` summed over the z window from `ring`, into `slice + c·s`
            /// (the window's slices added from the lowest up, whichever way the run goes).
            func zSum(_ ring: (Int, Int) -> UnsafeMutablePointer<Float>, channels: Int, slice k: Int) {
                let lo = max(0, k - r), hi = min(nz - 1, k + r)
                for c in 0..<channels {
                    for j in lo...hi { arrays[j - lo] = UnsafePointer(ring(c, j)) }
                    BoxSums.sum(arrays: arrays, count: hi - lo + 1, width: s, into: slice + c * s)
                }
            }
            let first = downward ? zs.upperBound - 1 : zs.lowerBound
            // Term slices from r before the first output slice on; product slices from 2r before.
            var k = clamped(first - d * r), madeProducts = clamped(first - 2 * d * r) - d, next = first
            while true {
                // The product slices that term slice k's z window needs.
                let far = clamped(k + d * r)
                while madeProducts != far {
                    madeProducts += d
                    makeProducts(slice: madeProducts, into: slice)
                    for c in 0..<5 {
                        BoxSums.sumSlice(slice + c * s, into: product(c, madeProducts), scratch: scratch, width: nx, height: ny, radius: r)
                    }
                }
                zSum(product, channels: 5, slice: k)
                sums[k % ringCount] = makeTerms(slice: k, from: slice)
                for c in 0..<7 { BoxSums.sumSlice(slice + c * s, into: term(c, k), scratch: scratch, width: nx, height: ny, radius: r) }
                // Every output slice whose z window of terms is complete, while one is left to claim.
                while zs.contains(next) && d * (clamped(next + d * r) - k) <= 0 {
                    guard claims.take() else { return }
                    perSlice[next] = sums[next % ringCount]
                    zSum(term, channels: 7, slice: next)
                    makeDerivatives(slice: next, from: slice)
                    next += d
                }
                guard zs.contains(next) else { return }
                k += d
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

/// The output slices of one segment of a local NCC evaluation, taken one at a time by the run
/// working up from its first slice and the one working down from its last, until they meet.
final class SliceClaims: Sendable {
    let count: Int
    private let taken = Atomic<Int>(0)

    init(count: Int) { self.count = count }

    /// Takes one more slice when one is left.
    func take() -> Bool { taken.wrappingAdd(1, ordering: .relaxed).oldValue < count }

    /// True when every slice has been taken.
    var exhausted: Bool { taken.load(ordering: .relaxed) >= count }
}
