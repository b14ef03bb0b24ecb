import RegCore

/// Separable Gaussian smoothing with clamped (replicated) edges.
///
/// Sigmas are per axis, in voxels or mm (`Sigma.mm`); an axis with sigma 0 (or a single voxel)
/// is left alone. The kernel is the sampled Gaussian truncated at 3σ and normalised to sum 1.
/// x and y run per slice; z reads a ring of in-plane smoothed slices when they fit in cache,
/// else runs as a second pass over strips of all slices. Every output value is summed in
/// registers, 16 at a time along the line, and written once.
///
/// ```swift
/// let smooth = GaussianSmoothing.smooth(image, sigma: .voxels(2))
/// let smoothMM = GaussianSmoothing.smooth(image, sigma: .mm(1.5))
/// ```
public enum GaussianSmoothing {
    /// A smoothing width.
    public enum Sigma: Sendable, Hashable, Codable {
        case voxels(Double)
        case mm(Double)
        case perAxisVoxels(SIMD3<Double>)

        /// Sigma in voxels along each axis of `geometry`.
        public func inVoxels(_ geometry: Geometry) -> SIMD3<Double> {
            var s: SIMD3<Double>
            switch self {
            case let .voxels(v): s = SIMD3(repeating: v)
            case let .mm(v): s = SIMD3(repeating: v) / geometry.spacing
            case let .perAxisVoxels(v): s = v
            }
            if geometry.dimension == 2 { s.z = 0 }
            return s
        }
    }

    /// The normalised half kernel `w[0…r]` for sigma in voxels (empty for sigma ≤ 0).
    public static func halfKernel(sigma: Double) -> [Float] {
        guard sigma > 0 else { return [] }
        let r = max(1, Int((3 * sigma).rounded(.up)))
        var w = (0...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = w[0] + 2 * w[1...].reduce(0, +)
        w = w.map { $0 / total }
        return w.map { Float($0) }
    }

    /// A smoothed copy of an image; each component of a multi-component image is smoothed alone.
    public static func smooth(_ image: Image<Float>, sigma: Sigma) -> Image<Float> {
        let kernels = Kernels(sigma: sigma, geometry: image.geometry)
        if kernels.isEmpty { return image }
        let sliceSize = image.components * image.geometry.size.x * image.geometry.size.y
        let voxels = image.voxels.withUnsafeBufferPointer { src in
            let input = UnsafeSendable(src.baseAddress!)
            return smoothSlices(size: image.geometry.size, components: image.components, kernels: kernels,
                                source: { z, _ in input.value + z * sliceSize })
        }
        return try! Image(geometry: image.geometry, components: image.components, voxels: voxels)
    }

    /// The truncated half kernels along x, y and z of a sigma on a grid (empty where an axis
    /// is not smoothed: sigma 0 or a single voxel).
    ///
    /// ```swift
    /// let k = GaussianSmoothing.Kernels(sigma: .mm(2), geometry: image.geometry)   // k.z is empty on a 2-D grid
    /// ```
    public struct Kernels: Sendable {
        public let x: [Float], y: [Float], z: [Float]
        public init(sigma: Sigma, geometry: Geometry) {
            let s = sigma.inVoxels(geometry), size = geometry.size
            x = size.x > 1 ? halfKernel(sigma: s.x) : []
            y = size.y > 1 ? halfKernel(sigma: s.y) : []
            z = size.z > 1 ? halfKernel(sigma: s.z) : []
        }
        public var isEmpty: Bool { x.isEmpty && y.isEmpty && z.isEmpty }
    }

    /// Smooths a volume that `source` hands over slice by slice: `source(z, scratch)` returns
    /// slice `z` (`c·nx·ny` values), from its own memory or written into `scratch`.
    /// `finished(values, count)`, when given, sees every run of finished output values (whole
    /// voxels) once, while it is in cache, in no fixed order. x and y run per slice. When the
    /// slices that the z taps span fit in cache and the volume does not, each thread keeps them
    /// in a ring and writes each output slice at once; otherwise z runs as a second pass over
    /// strips of a scratch volume. Every output value is computed the same way in either case, for any split.
    ///
    /// ```swift
    /// let values = GaussianSmoothing.smoothSlices(size: g.size, components: 3, kernels: .init(sigma: .voxels(3), geometry: g),
    ///                                             source: { z, scratch in fillForce(z, scratch); return UnsafePointer(scratch) })
    /// ```
    public static func smoothSlices(size: SIMD3<Int>, components c: Int, kernels: Kernels,
                                    source: (Int, UnsafeMutablePointer<Float>) -> UnsafePointer<Float>,
                                    finished: ((UnsafePointer<Float>, Int) -> Void)? = nil) -> VoxelBuffer<Float> {
        smoothSlices(size: size, components: c, kernels: kernels, throughPlane: .bySize, source: source, finished: finished)
    }

    /// How the z taps are applied: by size (`smoothSlices`' rule), or one way for tests.
    enum ThroughPlane { case bySize, ring, strips }

    static func smoothSlices(size: SIMD3<Int>, components c: Int, kernels: Kernels, throughPlane: ThroughPlane,
                             source: (Int, UnsafeMutablePointer<Float>) -> UnsafePointer<Float>,
                             finished: ((UnsafePointer<Float>, Int) -> Void)? = nil) -> VoxelBuffer<Float> {
        let plane = InPlane(size: size, components: c, kernels: kernels)
        let count = plane.sliceSize * size.z
        // Written whole before it is read, so it starts uninitialised.
        return VoxelBuffer<Float>(unsafeUninitializedCapacity: count) { outBuf, initialized in
            let out = UnsafeSendable(outBuf.baseAddress!)
            let kz = kernels.z, rz = kz.count - 1
            if kz.isEmpty {
                parallelFor(count: size.z, chunkSize: 1) { zs in
                    let buffers = plane.buffers()
                    defer { buffers.deallocate() }
                    for z in zs {
                        let dst = out.value + z * plane.sliceSize
                        plane.smooth(source(z, buffers.input), into: dst, buffers: buffers)
                        finished?(dst, plane.sliceSize)
                    }
                }
            } else if throughPlane == .ring || throughPlane == .bySize
                        && (2 * rz + 1) * plane.sliceSize * MemoryLayout<Float>.size <= ringBytes
                        && count * MemoryLayout<Float>.size >= ringVolumeBytes {
                throughPlaneByRing(plane, nz: size.z, kernel: kz, source: source, into: out.value, finished: finished)
            } else {
                throughPlaneByStrips(plane, nz: size.z, kernel: kz, source: source, into: out.value, finished: finished)
            }
            initialized = count
        }
    }

    /// The most bytes of in-plane smoothed slices a thread keeps for the z taps (fits in a 2 MB
    /// L2 cache with room to spare).
    static let ringBytes = 1_200_000

    /// The least volume for the ring: a smaller scratch volume stays in the last-level cache, and
    /// the ring's in-plane slices beyond each thread's run are repeated work.
    static let ringVolumeBytes = 16 << 20

    /// z from a ring of in-plane smoothed slices: each thread takes a run of slices and makes
    /// the in-plane slices its taps need (its own and up to r beyond each end).
    static func throughPlaneByRing(_ plane: InPlane, nz: Int, kernel kz: [Float],
                                   source: (Int, UnsafeMutablePointer<Float>) -> UnsafePointer<Float>,
                                   into out: UnsafeMutablePointer<Float>, finished: ((UnsafePointer<Float>, Int) -> Void)?) {
        let rz = kz.count - 1, ringCount = 2 * rz + 1, sliceSize = plane.sliceSize
        let output = UnsafeSendable(out)
        let runs = min(nz, Parallelism.threadCount)
        parallelFor(count: runs, chunkSize: 1) { runRange in
            let buffers = plane.buffers()
            let ring = UnsafeMutablePointer<Float>.allocate(capacity: ringCount * sliceSize)
            defer { buffers.deallocate(); ring.deallocate() }
            @inline(__always) func slot(_ k: Int) -> UnsafeMutablePointer<Float> { ring + (k % ringCount) * sliceSize }
            kz.withUnsafeBufferPointer { w in
                withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 2 * rz + 1) { taps in
                    for run in runRange {
                        var computed = -1   // the highest slice in the ring
                        for z in (run * nz / runs)..<((run + 1) * nz / runs) {
                            let lo = max(0, z - rz), hi = min(nz - 1, z + rz)
                            for k in max(computed + 1, lo)..<(hi + 1) { plane.smooth(source(k, buffers.input), into: slot(k), buffers: buffers) }
                            computed = max(computed, hi)
                            for t in 1...rz {
                                taps[2 * t - 1] = UnsafePointer(slot(max(0, z - t)))
                                taps[2 * t] = UnsafePointer(slot(min(nz - 1, z + t)))
                            }
                            let dst = output.value + z * sliceSize
                            weightedSum(slot(z), taps: taps.baseAddress!, weights: w.baseAddress!, radius: rz, count: sliceSize, into: dst)
                            finished?(dst, sliceSize)
                        }
                    }
                }
            }
        }
    }

    /// x and y into a scratch volume, then z over strips of it, each strip's column across all
    /// slices staying in cache while every tap reads it.
    static func throughPlaneByStrips(_ plane: InPlane, nz: Int, kernel kz: [Float],
                                     source: (Int, UnsafeMutablePointer<Float>) -> UnsafePointer<Float>,
                                     into out: UnsafeMutablePointer<Float>, finished: ((UnsafePointer<Float>, Int) -> Void)?) {
        let sliceSize = plane.sliceSize, count = sliceSize * nz
        // Allocated after the output and freed first, so the next call reuses the same block.
        var scratch = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
        scratch.withUnsafeMutableBufferPointer { scratchBuf in
            let planes = UnsafeSendable(scratchBuf.baseAddress!), output = UnsafeSendable(out)
            parallelFor(count: nz, chunkSize: 1) { zs in
                let buffers = plane.buffers()
                defer { buffers.deallocate() }
                for z in zs { plane.smooth(source(z, buffers.input), into: planes.value + z * sliceSize, buffers: buffers) }
            }
            let strips = (sliceSize + stripWidth - 1) / stripWidth
            parallelFor(count: strips, chunkSize: 1) { ss in
                for strip in ss {
                    let offset = strip * stripWidth, width = min(stripWidth, sliceSize - offset)
                    let dst = output.value + offset
                    convolveAcross(UnsafePointer(planes.value) + offset, into: dst, lines: nz, lineStride: sliceSize, width: width, kernel: kz)
                    if let finished { for z in 0..<nz { finished(dst + z * sliceSize, width) } }
                }
            }
        }
    }

    /// The x and y smoothing of one slice of interleaved components.
    struct InPlane {
        let nx: Int, ny: Int, c: Int
        let kx: [Float], ky: [Float]
        var rowLength: Int { c * nx }
        var sliceSize: Int { c * nx * ny }

        init(size: SIMD3<Int>, components: Int, kernels: Kernels) {
            (nx, ny, c, kx, ky) = (size.x, size.y, components, kernels.x, kernels.y)
        }

        /// One thread's buffers: a source slice, the x-smoothed slice, a padded row.
        struct Buffers {
            let input: UnsafeMutablePointer<Float>, plane: UnsafeMutablePointer<Float>, line: UnsafeMutablePointer<Float>
            func deallocate() { input.deallocate(); plane.deallocate(); line.deallocate() }
        }

        func buffers() -> Buffers {
            Buffers(input: .allocate(capacity: sliceSize), plane: .allocate(capacity: kx.isEmpty || ky.isEmpty ? 0 : sliceSize),
                    line: .allocate(capacity: rowLength + 2 * c * kx.count))
        }

        /// Slice `src` smoothed along x and y into `dst`.
        func smooth(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, buffers: Buffers) {
            if kx.isEmpty && ky.isEmpty { dst.update(from: src, count: sliceSize); return }
            // x writes the slice's final values when y is not smoothed.
            let xOut = ky.isEmpty ? dst : buffers.plane
            if !kx.isEmpty {
                for y in 0..<ny {
                    convolveRow(src + y * rowLength, into: xOut + y * rowLength, count: nx, components: c, kernel: kx, line: buffers.line)
                }
            }
            if !ky.isEmpty {
                convolveAcross(kx.isEmpty ? src : UnsafePointer(buffers.plane), into: dst, lines: ny, width: rowLength, kernel: ky)
            }
        }
    }

    /// Values per strip of the through-plane pass: a strip's column over 200 slices is 1.7 MB.
    /// A multiple of 48, so strips hold whole voxels of 1 or 3 components and whole 16-value blocks.
    static let stripWidth = 2064

    /// Convolves one contiguous row of `n` voxels of `c` interleaved components with edge
    /// replication. The interior reads the row itself; each edge (or a row shorter than the
    /// kernel plus a block) goes through `line`, padded with replicated end values. An edge
    /// is at least one 16-value block wide, so it runs vectorised; values it shares with the
    /// interior come out the same either way.
    @inline(__always)
    static func convolveRow(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count n: Int, components c: Int,
                            kernel k: [Float], line: UnsafeMutablePointer<Float>) {
        let r = k.count - 1, pad = c * r, length = c * n, edge = max(pad, 16)
        k.withUnsafeBufferPointer { w in
            let w = w.baseAddress!
            guard length >= 2 * pad + 16 else {
                padRow(src, length: length, components: c, radius: r, from: 0, count: length, into: line)
                convolveLine(line + pad, step: c, weights: w, radius: r, count: length, into: dst)
                return
            }
            convolveLine(src + pad, step: c, weights: w, radius: r, count: length - 2 * pad, into: dst + pad)
            padRow(src, length: length, components: c, radius: r, from: 0, count: edge + pad, into: line)
            convolveLine(line + pad, step: c, weights: w, radius: r, count: edge, into: dst)
            padRow(src, length: length, components: c, radius: r, from: length - edge - pad, count: edge + pad, into: line)
            convolveLine(line + 2 * pad, step: c, weights: w, radius: r, count: edge, into: dst + length - edge)
        }
    }

    /// `line` = `r` copies of the row's first voxel, `count` values of the row from `from`, and
    /// `r` copies of its last voxel (`c` components each).
    @inline(__always)
    static func padRow(_ src: UnsafePointer<Float>, length: Int, components c: Int, radius r: Int, from: Int, count: Int,
                       into line: UnsafeMutablePointer<Float>) {
        let pad = c * r
        for i in 0..<r {
            for j in 0..<c { line[c * i + j] = src[j]; line[pad + count + c * i + j] = src[length - c + j] }
        }
        (line + pad).update(from: src + from, count: count)
    }

    /// `count` outputs of a convolution along a line whose neighbours lie `step` apart; every
    /// tap from `centre − step·r` to `centre + step·(count − 1 + r)` must be readable.
    @inline(__always)
    static func convolveLine(_ centre: UnsafePointer<Float>, step: Int, weights w: UnsafePointer<Float>, radius r: Int, count: Int,
                             into out: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 2 * r + 1) { taps in
            for t in 1...r { taps[2 * t - 1] = centre - step * t; taps[2 * t] = centre + step * t }
            weightedSum(centre, taps: taps.baseAddress!, weights: w, radius: r, count: count, into: out)
        }
    }

    /// Convolves across `lines` lines of `width` values, `lineStride` apart (contiguous when
    /// nil), with edge replication: y within a slice, or z within a strip of slices.
    @inline(__always)
    static func convolveAcross(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, lines: Int, lineStride: Int? = nil,
                               width: Int, kernel k: [Float]) {
        let r = k.count - 1, step = lineStride ?? width
        k.withUnsafeBufferPointer { w in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 2 * r + 1) { taps in
                for l in 0..<lines {
                    for t in 1...r {
                        taps[2 * t - 1] = src + max(0, l - t) * step
                        taps[2 * t] = src + min(lines - 1, l + t) * step
                    }
                    weightedSum(src + l * step, taps: taps.baseAddress!, weights: w.baseAddress!, radius: r, count: width,
                                into: dst + l * step)
                }
            }
        }
    }

    /// `out[x] = w₀·centre[x] + Σₜ wₜ·(taps[2t−1][x] + taps[2t][x])` for t = 1…r, summed in that
    /// order for every x, 16 values at a time in registers (128 while they fit): one write per
    /// output value. A count that is not a multiple of 16 ends with a block overlapping the one
    /// before, which writes the same values again (`out` must not overlap the inputs).
    @inline(__always)
    static func weightedSum(_ centre: UnsafePointer<Float>, taps: UnsafePointer<UnsafePointer<Float>>, weights w: UnsafePointer<Float>,
                            radius r: Int, count n: Int, into out: UnsafeMutablePointer<Float>) {
        typealias Block = SIMD16<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Block { UnsafeRawPointer(p).loadUnaligned(as: Block.self) }
        let w0 = w[0]
        guard n >= 16 else {
            for x in 0..<n {
                var acc = w0 * centre[x]
                for t in 1...r { acc += w[t] * (taps[2 &* t &- 1][x] + taps[2 &* t][x]) }
                out[x] = acc
            }
            return
        }
        // Eight blocks at a time while they fit: each tap's pointers and weight serve 128 values.
        var x = 0
        while x &+ 128 <= n {
            let c = Block(repeating: w0)
            var a = (c * load(centre + x), c * load(centre + (x &+ 16)), c * load(centre + (x &+ 32)), c * load(centre + (x &+ 48)),
                     c * load(centre + (x &+ 64)), c * load(centre + (x &+ 80)), c * load(centre + (x &+ 96)), c * load(centre + (x &+ 112)))
            for t in 1...r {
                let wt = Block(repeating: w[t]), lo = taps[2 &* t &- 1] + x, hi = taps[2 &* t] + x
                a.0 += wt * (load(lo) + load(hi))
                a.1 += wt * (load(lo + 16) + load(hi + 16))
                a.2 += wt * (load(lo + 32) + load(hi + 32))
                a.3 += wt * (load(lo + 48) + load(hi + 48))
                a.4 += wt * (load(lo + 64) + load(hi + 64))
                a.5 += wt * (load(lo + 80) + load(hi + 80))
                a.6 += wt * (load(lo + 96) + load(hi + 96))
                a.7 += wt * (load(lo + 112) + load(hi + 112))
            }
            let o = UnsafeMutableRawPointer(out + x)
            o.storeBytes(of: a.0, as: Block.self)
            o.storeBytes(of: a.1, toByteOffset: 64, as: Block.self)
            o.storeBytes(of: a.2, toByteOffset: 128, as: Block.self)
            o.storeBytes(of: a.3, toByteOffset: 192, as: Block.self)
            o.storeBytes(of: a.4, toByteOffset: 256, as: Block.self)
            o.storeBytes(of: a.5, toByteOffset: 320, as: Block.self)
            o.storeBytes(of: a.6, toByteOffset: 384, as: Block.self)
            o.storeBytes(of: a.7, toByteOffset: 448, as: Block.self)
            x &+= 128
        }
        while x < n {
            x = min(x, n &- 16)
            var acc = Block(repeating: w0) * load(centre + x)
            for t in 1...r { acc += Block(repeating: w[t]) * (load(taps[2 &* t &- 1] + x) + load(taps[2 &* t] + x)) }
            UnsafeMutableRawPointer(out + x).storeBytes(of: acc, as: Block.self)
            x &+= 16
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension GaussianSmoothing {
    /// A smoothed copy of a vector field, each component alone.
    public static func smooth(_ field: VectorField, sigma: Sigma) -> VectorField {
        let image = try! Image(geometry: field.geometry, components: 3, voxels: field.vectors)
        var out = field
        out.vectors = smooth(image, sigma: sigma).voxels
        return out
    }
}
