import COpenBLAS
import RegCore

/// Same-padded convolution with kernels of side 3 (3×3 in a plane, 3×3×3 in a volume), stride 1,
/// as GEMMs over OpenBLAS on small column blocks (forward passes of 3×3×3 kernels: by
/// `WinogradConvolution`).
///
/// The output is cut into fixed blocks of whole rows. For each block, the inputs the block reads
/// are gathered into a (channels · taps) × columns matrix that stays in cache, and one GEMM with
/// the weights (out channels × in channels · taps, PyTorch's layout) gives the block's outputs.
/// Only one block per worker is ever held: no im2col of the whole image. OpenBLAS runs
/// single-threaded inside each block; the blocks run in parallel. The partition depends only on
/// the shape, so the result is bitwise identical for any thread count.
///
/// ```swift
/// let conv = ConvolutionKernels(spatial: SIMD3(192, 160, 1), kernel: SIMD3(3, 3, 1))
/// conv.forward(input: x, inChannels: 2, weights: w, bias: b, outChannels: 16, output: y)
/// ```
public struct ConvolutionKernels: Sendable {
    /// Grid extents (x, y, z), the same for input and output.
    public let spatial: SIMD3<Int>
    /// Kernel extents (x, y, z), odd: (3, 3, 1) for a planar network, (3, 3, 3) for a volume one.
    public let kernel: SIMD3<Int>

    /// Taps per kernel (9 in a plane, 27 in a volume).
    public var taps: Int { kernel.x * kernel.y * kernel.z }

    public init(spatial: SIMD3<Int>, kernel: SIMD3<Int>) {
        precondition(kernel.x % 2 == 1 && kernel.y % 2 == 1 && kernel.z % 2 == 1, "kernel extents must be odd")
        self.spatial = spatial
        self.kernel = kernel
        BLASSetup.done
    }

    /// About this many output columns per block.
    static let blockColumns = 512
    /// Blocks whose weight-gradient contributions are summed together before the ordered reduction.
    static let blocksPerGroup = 8

    var rows: Int { spatial.y * spatial.z }
    var rowsPerBlock: Int { max(1, ConvolutionKernels.blockColumns / spatial.x) }
    var blockCount: Int { (rows + rowsPerBlock - 1) / rowsPerBlock }
    var voxelCount: Int { spatial.x * spatial.y * spatial.z }

    /// y[co] = b[co] + Σ_{ci, tap} w[co, ci, tap] · x[ci] shifted by the tap, zero outside.
    /// `input` holds `inChannels` grids, `output` `outChannels` grids, `weights` is row-major
    /// out channels × (in channels · taps). With `leakyReLUSlope` s, each output y becomes
    /// y > 0 ? y : s · y. 3×3×3 kernels run as `WinogradConvolution`.
    public func forward(input: UnsafePointer<Float>, inChannels: Int, weights: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, outChannels: Int, output: UnsafeMutablePointer<Float>,
                        leakyReLUSlope: Float? = nil) {
        if kernel == SIMD3(3, 3, 3) {
            VolumeConvolution(spatial: spatial).forward(input: input, inChannels: inChannels, weights: weights, bias: bias,
                                                        outChannels: outChannels, output: output, leakyReLUSlope: leakyReLUSlope)
            return
        }
        let (sx, sw, sy) = (UnsafeSendable(input), UnsafeSendable(weights), UnsafeSendable(output))
        let sb = UnsafeSendable(bias)
        let k = inChannels * taps, n = voxelCount
        parallelFor(count: blockCount) { blocks in
            let columns = UnsafeMutablePointer<Float>.allocate(capacity: k * rowsPerBlock * spatial.x)
            defer { columns.deallocate() }
            for block in blocks {
                let (start, width) = gather(sx.value, channels: inChannels, block: block, into: columns)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(width), Int32(k),
                            1, sw.value, Int32(k), columns, Int32(width), 0, sy.value + start, Int32(n))
                for co in 0..<outChannels {
                    let row = sy.value + (co &* n &+ start)
                    if let b = sb.value {
                        let bc = b[co]
                        for j in 0..<width { row[j] += bc }
                    }
                    if let slope = leakyReLUSlope {
                        for j in 0..<width where !(row[j] > 0) { row[j] = slope * row[j] }
                    }
                }
            }
        }
    }

    /// The input gradient: a forward pass of the output gradient through the flipped, transposed
    /// kernel. `weights` are the forward weights.
    public func backwardInput(outputGradient: UnsafePointer<Float>, outChannels: Int, weights: UnsafePointer<Float>,
                              inChannels: Int, inputGradient: UnsafeMutablePointer<Float>) {
        let t = taps
        var flipped = [Float](repeating: 0, count: outChannels * inChannels * t)
        for co in 0..<outChannels {
            for ci in 0..<inChannels {
                for tap in 0..<t { flipped[(ci * outChannels + co) * t + (t - 1 - tap)] = weights[(co * inChannels + ci) * t + tap] }
            }
        }
        let n = voxelCount
        let gradient = UnsafeMutablePointer<Float>.allocate(capacity: inChannels * n)
        defer { gradient.deallocate() }
        flipped.withUnsafeBufferPointer {
            forward(input: outputGradient, inChannels: outChannels, weights: $0.baseAddress!, bias: nil,
                    outChannels: inChannels, output: gradient)
        }
        for i in 0..<(inChannels * n) { inputGradient[i] += gradient[i] }
    }

    /// Adds ∂L/∂w (out × in · taps) to `weightGradient`.
    public func backwardWeights(input: UnsafePointer<Float>, inChannels: Int, outputGradient: UnsafePointer<Float>,
                                outChannels: Int, weightGradient: UnsafeMutablePointer<Float>) {
        let k = inChannels * taps, n = voxelCount
        let (sx, sg) = (UnsafeSendable(input), UnsafeSendable(outputGradient))
        let rowsPerBlock = rowsPerBlock, width = spatial.x
        let total = parallelReduce(count: blockCount, chunkSize: ConvolutionKernels.blocksPerGroup,
                                   initial: [Float](repeating: 0, count: outChannels * k),
                                   combine: { a, b in zip(a, b).map { $0 + $1 } }) { blocks in
            var partial = [Float](repeating: 0, count: outChannels * k)
            let columns = UnsafeMutablePointer<Float>.allocate(capacity: k * rowsPerBlock * width)
            defer { columns.deallocate() }
            partial.withUnsafeMutableBufferPointer { p in
                for block in blocks {
                    let (start, cols) = gather(sx.value, channels: inChannels, block: block, into: columns)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outChannels), Int32(k), Int32(cols),
                                1, sg.value + start, Int32(n), columns, Int32(cols), 1, p.baseAddress!, Int32(k))
                }
            }
            return partial
        }
        for i in 0..<(outChannels * k) { weightGradient[i] += total[i] }
    }

    /// Gathers the input a block of output rows reads: row `ci · taps + tap`, one column per
    /// output voxel, zero where the tap falls outside the grid. Returns the block's first voxel
    /// and its width in columns.
    func gather(_ x: UnsafePointer<Float>, channels: Int, block: Int, into columns: UnsafeMutablePointer<Float>)
        -> (start: Int, width: Int) {
        let first = block * rowsPerBlock, last = min(rows, first + rowsPerBlock)
        let width = (last - first) * spatial.x, t = taps, n = voxelCount
        let (nx, ny, nz) = (spatial.x, spatial.y, spatial.z)
        let half = (kernel &- 1) / 2
        for row in first..<last {
            let z = row / ny, y = row - z * ny
            let column = (row - first) * nx
            for c in 0..<channels {
                var tap = 0
                for a in 0..<kernel.z {
                    let sz = z + a - half.z
                    for b in 0..<kernel.y {
                        let sy = y + b - half.y
                        let inside = sz >= 0 && sz < nz && sy >= 0 && sy < ny
                        let line = x + (c * n + (sz * ny + sy) * nx)
                        for d in 0..<kernel.x {
                            let dst = columns + ((c * t + tap) * width + column)
                            tap += 1
                            guard inside else { dst.initialize(repeating: 0, count: nx); continue }
                            // Output voxel i reads input i + shift; the `|shift|` ends past the grid read zero.
                            let shift = d - half.x
                            let lead = max(0, -shift), trail = max(0, shift), count = nx - lead - trail
                            guard count > 0 else { dst.initialize(repeating: 0, count: nx); continue }
                            dst.initialize(repeating: 0, count: lead)
                            (dst + lead).update(from: line + (lead + shift), count: count)
                            (dst + lead + count).initialize(repeating: 0, count: trail)
                        }
                    }
                }
            }
        }
        return (first * spatial.x, width)
    }
}
