import RegCore

/// Separable Gaussian smoothing with clamped (replicated) edges.
///
/// Sigmas are per axis, in voxels or mm (`Sigma.mm`); an axis with sigma 0 (or a single voxel)
/// is left alone. The kernel is the sampled Gaussian truncated at 3σ and normalised to sum 1.
/// x and y run fused per slice, z as a second pass over whole slices, both vectorised along x.
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
                            var plane = [Float](repeating: 0, count: sliceSize)
                            for z in zs {
                                let s0 = src.value + z * sliceSize, d0 = dst.value + z * sliceSize
                                plane.withUnsafeMutableBufferPointer { p in
                                    if kx.isEmpty {
                                        p.baseAddress!.update(from: s0, count: sliceSize)
                                    } else {
                                        line.withUnsafeMutableBufferPointer { l in
                                            for y in 0..<ny {
                                                convolveRow(s0 + y * rowLength, into: p.baseAddress! + y * rowLength, count: nx,
                                                            components: c, kernel: kx, line: l.baseAddress!)
                                            }
                                        }
                                    }
                                    if ky.isEmpty {
                                        d0.update(from: p.baseAddress!, count: sliceSize)
                                    } else {
                                        convolveAcross(p.baseAddress!, into: d0, lines: ny, width: rowLength, kernel: ky)
                                    }
                                }
                            }
                        }
                    } else {
                        dst.value.update(from: src.value, count: count)
                    }
                    if !kz.isEmpty {
                        // Through-plane pass over whole slices: scratch → output.
                        let planes = UnsafeSendable(UnsafePointer(dst.value)), out = UnsafeSendable(outBuf.baseAddress!)
                        parallelFor(count: nz, chunkSize: 4) { zs in
                            for z in zs {
                                convolveAcrossOne(planes.value, line: z, into: out.value + z * sliceSize, lines: nz, width: sliceSize, kernel: kz)
                            }
                        }
                    }
                }
            }
            initialized = count
        }
        return try! Image(geometry: image.geometry, components: c, voxels: voxels)
    }

    /// Convolves one contiguous row of `n` voxels of `c` interleaved components with edge replication.
    @inline(__always)
    static func convolveRow(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count n: Int, components c: Int,
                            kernel k: [Float], line: UnsafeMutablePointer<Float>) {
        let r = k.count - 1, pad = c * r, length = c * n
        for i in 0..<r {
            for j in 0..<c { line[c * i + j] = src[j]; line[pad + length + c * i + j] = src[length - c + j] }
        }
        (line + pad).update(from: src, count: length)
        k.withUnsafeBufferPointer { w in
            let w0 = w[0]
            for x in 0..<length { dst[x] = w0 * line[x &+ pad] }
            for t in 1...r {
                let wt = w[t]
                let lo = line + (pad - c * t), hi = line + (pad + c * t)
                for x in 0..<length { dst[x] += wt * (lo[x] + hi[x]) }
            }
        }
    }

    /// Convolves across `lines` contiguous lines of `width` values (y within a slice).
    @inline(__always)
    static func convolveAcross(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, lines: Int, width: Int, kernel: [Float]) {
        for l in 0..<lines { convolveAcrossOne(src, line: l, into: dst + l * width, lines: lines, width: width, kernel: kernel) }
    }

    /// Output line `l` of a convolution across lines, vectorised along the line.
    @inline(__always)
    static func convolveAcrossOne(_ src: UnsafePointer<Float>, line l: Int, into out: UnsafeMutablePointer<Float>, lines: Int,
                                  width: Int, kernel k: [Float]) {
        let r = k.count - 1
        k.withUnsafeBufferPointer { w in
            let c = src + l * width
            let w0 = w[0]
            for x in 0..<width { out[x] = w0 * c[x] }
            for t in 1...r {
                let lo = src + max(0, l - t) * width, hi = src + min(lines - 1, l + t) * width
                let wt = w[t]
                for x in 0..<width { out[x] += wt * (lo[x] + hi[x]) }
            }
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
