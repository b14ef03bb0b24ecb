import COpenBLAS
import CPrefetch
import RegCore

/// Same-padded 3×3×3 convolution, stride 1, by Winograd's minimal filtering F(m×m×m, 3×3×3)
/// (Lavin & Gray 2016, `WinogradTile` gives m and the transforms): each m×m×m block of outputs
/// comes from the α×α×α block of inputs around it (α = m + 2) with α³ multiplications per
/// channel pair instead of 27 · m³: 3.4× fewer for F(2), 8× for F(4).
///
/// The kernels are transformed once per call into α³ matrices (out × in); the inputs of a block
/// of tiles into α³ matrices (in × tiles); one matrix product per pair (`SmallMatrixProduct` in
/// builds tuned for the CPU, OpenBLAS otherwise) gives the transformed outputs, transformed back
/// into the m×m×m blocks. The blocks are fixed by the shape, so the result is bitwise identical
/// for any thread count. It differs from the direct sum by rounding only (see the tiles).
///
/// ```swift
/// let conv = VolumeConvolution(spatial: SIMD3(160, 192, 224))
/// conv.forward(input: x, inChannels: 48, weights: w, bias: b, outChannels: 32, output: y)
/// ```
struct WinogradConvolution<Tile: WinogradTile> {
    /// Grid extents (x, y, z), the same for input and output.
    let spatial: SIMD3<Int>
    /// m×m×m output tiles per axis (the last ones may reach past the grid).
    let tiles: SIMD3<Int>

    init(spatial: SIMD3<Int>) {
        self.spatial = spatial
        tiles = (spatial &+ (Tile.outputs - 1)) / Tile.outputs
        BLASSetup.done
    }

    /// Rows of tiles (fixed y and z, all x) per block: about 8192 transformed values per channel,
    /// so that the block's transformed inputs and outputs stay near the core.
    var rowsPerBlock: Int { max(1, 8192 / (Tile.inputs * Tile.inputs * Tile.inputs * tiles.x)) }
    var blockCount: Int { (tiles.y * tiles.z + rowsPerBlock - 1) / rowsPerBlock }
    /// Columns of the transformed matrices: a block's tiles, rounded up to whole vectors (the
    /// extra columns hold zeros and their products are never read).
    var columnStride: Int { (rowsPerBlock * tiles.x + 15) / 16 * 16 }

    /// The kernels (out × in × 3 × 3 × 3, PyTorch's layout) as α³ matrices out × in:
    /// U[e] = (G ⊗ G ⊗ G) w, with e = α² · (z row of G) + α · (y row) + (x row).
    static func transformedWeights(_ w: UnsafePointer<Float>, inChannels: Int, outChannels: Int) -> [Float] {
        let g = Tile.kernelTransform, α = Tile.inputs
        let pairs = outChannels * inChannels
        var u = [Float](repeating: 0, count: α * α * α * pairs)
        var alongX = [Double](repeating: 0, count: 9 * α), alongY = [Double](repeating: 0, count: 3 * α * α)
        for pair in 0..<pairs {
            let k = w + pair * 27
            for ab in 0..<9 {
                for r in 0..<α { alongX[ab * α + r] = (0..<3).reduce(0.0) { $0 + g[r][$1] * Double(k[ab * 3 + $1]) } }
            }
            for a in 0..<3 {
                for q in 0..<α {
                    for r in 0..<α { alongY[(a * α + q) * α + r] = (0..<3).reduce(0.0) { $0 + g[q][$1] * alongX[(a * 3 + $1) * α + r] } }
                }
            }
            for p in 0..<α {
                for qr in 0..<(α * α) {
                    let s = (0..<3).reduce(0.0) { $0 + g[p][$1] * alongY[$1 * α * α + qr] }
                    u[(p * α * α + qr) * pairs + pair] = Float(s)
                }
            }
        }
        return u
    }

    /// Channels the convolution reads, in order: grids of the convolution's extents, or grids
    /// half as large along each axis read as their nearest-neighbour upsampling (voxel v of the
    /// grid reads voxel v / 2), so that a decoder's upsampling and concatenation need no tensor.
    struct Input {
        var values: UnsafePointer<Float>
        var channels: Int
        var upsampled = false
    }

    /// y[co] = b[co] + Σ_{ci, tap} w[co, ci, tap] · x[ci] shifted by the tap, zero outside.
    /// `input` holds `inChannels` grids, `output` `outChannels` grids, `weights` is
    /// out × in × 3 × 3 × 3. With `leakyReLUSlope` s, each output y becomes y > 0 ? y : s · y.
    func forward(input: UnsafePointer<Float>, inChannels: Int, weights: UnsafePointer<Float>,
                 bias: UnsafePointer<Float>?, outChannels: Int, output: UnsafeMutablePointer<Float>,
                 leakyReLUSlope: Float? = nil) {
        forward(inputs: [Input(values: input, channels: inChannels)], weights: weights, bias: bias,
                outChannels: outChannels, output: output, leakyReLUSlope: leakyReLUSlope)
    }

    /// The same over the channels of several inputs in turn.
    func forward(inputs: [Input], weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outChannels: Int,
                 output: UnsafeMutablePointer<Float>, leakyReLUSlope: Float? = nil) {
        precondition(inputs.allSatisfy { !$0.upsampled || spatial % 2 == .zero }, "an upsampled input needs even extents")
        let inChannels = inputs.reduce(0) { $0 + $1.channels }
        let u = Self.transformedWeights(weights, inChannels: inChannels, outChannels: outChannels)
        let (sx, sy, sb) = (UnsafeSendable(inputs), UnsafeSendable(output), UnsafeSendable(bias))
        let α = Tile.inputs, tx = tiles.x, stride = columnStride
        let scratchCount = α * α * Tile.outputs * (tx + 1) + 2 * α * α * α * tx
        u.withUnsafeBufferPointer { ub in
            let su = UnsafeSendable(ub.baseAddress!)
            // Each worker takes whole z-planes of tile rows: neighbouring rows share input lines in cache.
            parallelFor(count: blockCount, chunkSize: max(1, tiles.y / rowsPerBlock)) { blocks in
                let v = UnsafeMutablePointer<Float>.allocate(capacity: α * α * α * inChannels * stride)
                let m = UnsafeMutablePointer<Float>.allocate(capacity: α * α * α * outChannels * stride)
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                v.initialize(repeating: 0, count: α * α * α * inChannels * stride)
                defer { v.deallocate(); m.deallocate(); scratch.deallocate() }
                for block in blocks {
                    let first = block * rowsPerBlock, last = min(tiles.y * tiles.z, first + rowsPerBlock)
                    let columns = ((last - first) * tx + 15) / 16 * 16
                    for row in first..<last {
                        transformInput(sx.value, row: row, into: v, column: (row - first) * tx, stride: stride, scratch: scratch)
                    }
                    for e in 0..<(α * α * α) {
                        let (a, b, c) = (su.value + e * outChannels * inChannels, v + e * inChannels * stride, m + e * outChannels * stride)
                        if SmallMatrixProduct.replacesBLAS {
                            SmallMatrixProduct.multiply(rows: outChannels, columns: columns, inner: inChannels, a: a, b: b, ldb: stride,
                                                        c: c, ldc: stride)
                        } else {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(columns),
                                        Int32(inChannels), 1, a, Int32(inChannels), b, Int32(stride), 0, c, Int32(stride))
                        }
                    }
                    for row in first..<last {
                        transformOutput(m, channels: outChannels, row: row, column: (row - first) * tx, stride: stride,
                                        bias: sb.value, slope: leakyReLUSlope ?? 1, into: sy.value, scratch: scratch)
                    }
                }
            }
        }
    }

    /// Bᵀ d along x, y and z for every tile of one row of tiles and every input channel: writes
    /// V[e][c][column + t] (each V[e] is channels × `stride`).
    func transformInput(_ inputs: [Input], row: Int, into v: UnsafeMutablePointer<Float>,
                        column: Int, stride: Int, scratch: UnsafeMutablePointer<Float>) {
        let (nx, ny, nz, tx) = (spatial.x, spatial.y, spatial.z, tiles.x)
        let m = Tile.outputs, α = Tile.inputs
        let tz = row / tiles.y, ty = row - tz * tiles.y
        let phaseStride = tx + 1, length = m * phaseStride
        let n = nx * ny * nz, channels = inputs.reduce(0) { $0 + $1.channels }
        let lines = scratch, s1 = scratch + α * α * length, s2 = s1 + α * α * α * tx
        var c = 0
        for input in inputs {
            for local in 0..<input.channels {
                // The α × α input lines of the row, zero outside the grid, split into phases.
                for a in 0..<α {
                    let z = m * tz - 1 + a
                    for b in 0..<α {
                        let y = m * ty - 1 + b
                        let phases = lines + (a * α + b) * length
                        guard z >= 0 && z < nz && y >= 0 && y < ny else {
                            phases.initialize(repeating: 0, count: length)
                            continue
                        }
                        if input.upsampled {
                            let coarse = input.values + (local * n / 8 + ((z / 2) * (ny / 2) + y / 2) * (nx / 2))
                            Tile.splitUpsampled(coarse, count: nx, into: phases, tiles: tx, stride: phaseStride)
                        } else {
                            Tile.split(input.values + (local * n + (z * ny + y) * nx), count: nx, into: phases, tiles: tx,
                                       stride: phaseStride)
                        }
                    }
                }
                if local + 1 < input.channels { prefetchLines(input, channel: local + 1, row: row) }
                transformChannel(c, channels: channels, lines: lines, into: v, column: column, stride: stride, s1: s1, s2: s2)
                c += 1
            }
        }
    }

    /// Asks the cache for the input lines that a row of tiles reads of one channel, so that they
    /// arrive while the previous channel is transformed.
    @inline(__always)
    func prefetchLines(_ input: Input, channel: Int, row: Int) {
        let (nx, ny, nz) = (spatial.x, spatial.y, spatial.z)
        let m = Tile.outputs, α = Tile.inputs
        let tz = row / tiles.y, ty = row - tz * tiles.y
        let n = nx * ny * nz
        for a in 0..<α {
            let z = m * tz - 1 + a
            guard z >= 0 && z < nz else { continue }
            for b in 0..<α {
                let y = m * ty - 1 + b
                guard y >= 0 && y < ny else { continue }
                let line = input.upsampled ? input.values + (channel * n / 8 + ((z / 2) * (ny / 2) + y / 2) * (nx / 2))
                                           : input.values + (channel * n + (z * ny + y) * nx)
                var x = 0
                while x < (input.upsampled ? nx / 2 : nx) { swiftreg_prefetch(line + x); x &+= 16 }
            }
        }
    }

    /// Bᵀ along x, y and z of one channel's split lines, into V[e][c][column ..< column + tiles.x].
    @inline(__always)
    func transformChannel(_ c: Int, channels: Int, lines: UnsafeMutablePointer<Float>, into v: UnsafeMutablePointer<Float>,
                          column: Int, stride: Int, s1: UnsafeMutablePointer<Float>, s2: UnsafeMutablePointer<Float>) {
        let tx = tiles.x, m = Tile.outputs, α = Tile.inputs
        let phaseStride = tx + 1, length = m * phaseStride
        // Along x, tile t reads phases 0 … m−1 at t, then phases 0 and 1 at t + 1.
        var alongX = SIMD8<Int>()
        for i in 0..<α { alongX[i] = (i % m) * phaseStride + i / m }
        for ab in 0..<(α * α) {
            Tile.transformInput(lines + ab * length, rows: alongX, count: tx, into: s1 + ab * α * tx, step: tx)
        }
        // Along y (rows b of s1), then along z (rows a of s2) into V.
        let alongY = Self.rowOffsets(α * tx), alongZ = Self.rowOffsets(α * α * tx)
        for a in 0..<α {
            for r in 0..<α {
                Tile.transformInput(s1 + (a * α * α + r) * tx, rows: alongY, count: tx, into: s2 + (a * α * α + r) * tx, step: α * tx)
            }
        }
        for qr in 0..<(α * α) {
            Tile.transformInput(s2 + qr * tx, rows: alongZ, count: tx, into: v + (qr * channels + c) * stride + column,
                                step: α * α * channels * stride)
        }
    }

    /// Rows `step` apart: 0, step, 2 · step, …
    @inline(__always)
    static func rowOffsets(_ step: Int) -> SIMD8<Int> { SIMD8(0, 1, 2, 3, 4, 5, 6, 7) &* step }

    /// Aᵀ m along x, y and z for every tile of one row of tiles and every channel, plus the bias,
    /// through the leaky ReLU of `slope` (1: none), into the output grid (tiles past the grid's
    /// edge are cut).
    func transformOutput(_ m: UnsafePointer<Float>, channels: Int, row: Int, column: Int, stride: Int,
                         bias: UnsafePointer<Float>?, slope: Float, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>) {
        let (nx, ny, nz, tx) = (spatial.x, spatial.y, spatial.z, tiles.x)
        let k = Tile.outputs, α = Tile.inputs
        let tz = row / tiles.y, ty = row - tz * tiles.y
        let n = nx * ny * nz
        let s1 = scratch, s2 = s1 + α * α * k * tx, s3 = s2 + α * k * k * tx
        let alongX = Self.rowOffsets(channels * stride), alongY = Self.rowOffsets(k * tx), alongZ = Self.rowOffsets(k * k * tx)
        for c in 0..<channels {
            for ab in 0..<(α * α) {
                Tile.transformOutput(m + (ab * α * channels + c) * stride + column, rows: alongX, count: tx,
                                     into: s1 + ab * k * tx, step: tx)
            }
            for a in 0..<α {
                for r in 0..<k {
                    Tile.transformOutput(s1 + (a * α * k + r) * tx, rows: alongY, count: tx, into: s2 + (a * k * k + r) * tx, step: k * tx)
                }
            }
            for qr in 0..<(k * k) {
                Tile.transformOutput(s2 + qr * tx, rows: alongZ, count: tx, into: s3 + qr * tx, step: k * k * tx)
            }
            let offset = bias?[c] ?? 0
            for p in 0..<k {
                let z = k * tz + p
                guard z < nz else { continue }
                for q in 0..<k {
                    let yy = k * ty + q
                    guard yy < ny else { continue }
                    let target = y + (c * n + (z * ny + yy) * nx)
                    let phases = s3 + (p * k + q) * k * tx
                    // Tile t holds x = k·t … k·t + k − 1 in its k phases (a loop the compiler interleaves).
                    let whole = nx / k
                    for t in 0..<whole {
                        for r in 0..<k {
                            let value = phases[r &* tx &+ t] + offset
                            target[k &* t &+ r] = value > 0 ? value : slope * value
                        }
                    }
                    for x in (whole * k)..<nx {
                        let value = phases[(x % k) &* tx &+ x / k] + offset
                        target[x] = value > 0 ? value : slope * value
                    }
                }
            }
        }
    }
}

/// The 3×3×3 convolution every volume layer runs: Winograd's F(4×4×4, 3×3×3).
typealias VolumeConvolution = WinogradConvolution<WinogradF4>
