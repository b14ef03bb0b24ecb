import RegCore

/// Separable Gaussian smoothing with clamped (replicated) edges.
///
/// Sigmas are per axis, in voxels or mm (`Sigma.mm`); an axis with sigma 0 (or a single voxel)
/// is left alone. The kernel is the sampled Gaussian truncated at 3σ and normalised to sum 1.
/// x and y run fused per slice, z as a second pass over strips of all slices; every output
/// value is summed in registers, 16 at a time along x, and written once.
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
        let s = sigma.inVoxels(image.geometry)
        let size = image.geometry.size
        let kx = size.x > 1 ? halfKernel(sigma: s.x) : []
        let ky = size.y > 1 ? halfKernel(sigma: s.y) : []
        let kz = size.z > 1 ? halfKernel(sigma: s.z) : []
        if kx.isEmpty && ky.isEmpty && kz.isEmpty { return image }
        // Components are interleaved: a row of nx voxels is a line of c·nx values in which
        // neighbours along x lie c apart, and whole rows or slices convolve as wider lines.
        let c = image.components
        let (nx, ny, nz) = (size.x, size.y, size.z)
        let rowLength = c * nx, sliceSize = c * nx * ny, count = sliceSize * nz
        // Outputs are written whole before they are read, so they start uninitialised: no copy
        // of the input, no zero fill. The in-plane pass writes the output itself, or a scratch
        // volume that the through-plane pass reads.
        let voxels = [Float](unsafeUninitializedCapacity: count) { outBuf, initialized in
            // Allocated after the output and freed first, so the next call reuses the same block.
            var scratch = kz.isEmpty ? [] : [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
            image.voxels.withUnsafeBufferPointer { srcBuf in
                scratch.withUnsafeMutableBufferPointer { scratchBuf in
                    let src = UnsafeSendable(srcBuf.baseAddress!)
                    let dst = UnsafeSendable(kz.isEmpty ? outBuf.baseAddress! : scratchBuf.baseAddress!)
                    if !kx.isEmpty || !ky.isEmpty {
                        // In-plane pass: slice z of src → slice z of dst.
                        parallelFor(count: nz, chunkSize: 1) { zs in
                            var line = [Float](repeating: 0, count: rowLength + 2 * c * kx.count)
                            var plane = [Float](repeating: 0, count: kx.isEmpty || ky.isEmpty ? 0 : sliceSize)
                            for z in zs {
                                let s0 = src.value + z * sliceSize, d0 = dst.value + z * sliceSize
                                plane.withUnsafeMutableBufferPointer { p in
                                    // x writes the slice's final values when y is not smoothed.
                                    let xOut = ky.isEmpty ? d0 : p.baseAddress!
                                    if !kx.isEmpty {
                                        line.withUnsafeMutableBufferPointer { l in
                                            for y in 0..<ny {
                                                convolveRow(s0 + y * rowLength, into: xOut + y * rowLength, count: nx,
                                                            components: c, kernel: kx, line: l.baseAddress!)
                                            }
                                        }
                                    }
                                    if !ky.isEmpty {
                                        convolveAcross(kx.isEmpty ? s0 : UnsafePointer(p.baseAddress!), into: d0, lines: ny,
                                                       width: rowLength, kernel: ky)
                                    }
                                }
                            }
                        }
                    } else {
                        dst.value.update(from: src.value, count: count)
                    }
                    if !kz.isEmpty {
                        // Through-plane pass, in strips of each slice across all slices, so a strip's
                        // column stays in cache while every tap reads it: scratch → output.
                        let planes = UnsafeSendable(UnsafePointer(dst.value)), out = UnsafeSendable(outBuf.baseAddress!)
                        let strips = (sliceSize + stripWidth - 1) / stripWidth
                        parallelFor(count: strips, chunkSize: 1) { ss in
                            for strip in ss {
                                let offset = strip * stripWidth, width = min(stripWidth, sliceSize - offset)
                                convolveAcross(planes.value + offset, into: out.value + offset, lines: nz, lineStride: sliceSize,
                                               width: width, kernel: kz)
                            }
                        }
                    }
                }
            }
            initialized = count
        }
        return try! Image(geometry: image.geometry, components: c, voxels: voxels)
    }

    /// Values per strip of the through-plane pass: a strip's column over 200 slices is 1.6 MB.
    static let stripWidth = 2048

    /// Convolves one contiguous row of `n` voxels of `c` interleaved components with edge
    /// replication. The interior reads the row itself; each edge (or a row shorter than the
    /// kernel) goes through `line`, padded with replicated end values.
    @inline(__always)
    static func convolveRow(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count n: Int, components c: Int,
                            kernel k: [Float], line: UnsafeMutablePointer<Float>) {
        let r = k.count - 1, pad = c * r, length = c * n
        k.withUnsafeBufferPointer { w in
            let w = w.baseAddress!
            guard length >= 2 * pad else {
                padRow(src, length: length, components: c, radius: r, from: 0, count: length, into: line)
                convolveLine(line + pad, step: c, weights: w, radius: r, count: length, into: dst)
                return
            }
            convolveLine(src + pad, step: c, weights: w, radius: r, count: length - 2 * pad, into: dst + pad)
            padRow(src, length: length, components: c, radius: r, from: 0, count: 2 * pad, into: line)
            convolveLine(line + pad, step: c, weights: w, radius: r, count: pad, into: dst)
            padRow(src, length: length, components: c, radius: r, from: length - 2 * pad, count: 2 * pad, into: line)
            convolveLine(line + 2 * pad, step: c, weights: w, radius: r, count: pad, into: dst + length - pad)
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

    /// Convolves across `lines` lines of `width` values, `stride` apart, with edge replication
    /// (y within a slice, or z within a strip of slices).
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
    /// order for every x, 16 values at a time in registers: one write per output value.
    @inline(__always)
    static func weightedSum(_ centre: UnsafePointer<Float>, taps: UnsafePointer<UnsafePointer<Float>>, weights w: UnsafePointer<Float>,
                            radius r: Int, count n: Int, into out: UnsafeMutablePointer<Float>) {
        typealias Block = SIMD16<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Block { UnsafeRawPointer(p).loadUnaligned(as: Block.self) }
        let w0 = w[0]
        var x = 0
        while x &+ 16 <= n {
            var acc = Block(repeating: w0) * load(centre + x)
            for t in 1...r { acc += Block(repeating: w[t]) * (load(taps[2 &* t &- 1] + x) + load(taps[2 &* t] + x)) }
            UnsafeMutableRawPointer(out + x).storeBytes(of: acc, as: Block.self)
            x &+= 16
        }
        while x < n {
            var acc = w0 * centre[x]
            for t in 1...r { acc += w[t] * (taps[2 &* t &- 1][x] + taps[2 &* t][x]) }
            out[x] = acc
            x &+= 1
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
