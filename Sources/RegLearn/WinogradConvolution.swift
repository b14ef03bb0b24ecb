import COpenBLAS
import RegCore

/// Same-padded 3×3×3 convolution, stride 1, by Winograd's minimal filtering F(2×2×2, 3×3×3)
/// (Lavin & Gray 2016): each 2×2×2 block of outputs comes from the 4×4×4 block of inputs around
/// it with 64 multiplications per channel pair instead of 8 · 27 = 216, 3.4× fewer.
///
/// With d a 4-tap input line and g a 3-tap kernel, F(2, 3) is y = Aᵀ[(G g) ⊙ (Bᵀ d)], where
/// Bᵀ, G and Aᵀ hold only 0, ±1 and ±½; in 3-D the transforms apply along each axis in turn.
/// The kernels are transformed once per call into 64 matrices (out × in); the inputs of a block
/// of tiles into 64 matrices (in × tiles) that stay in cache; one matrix product per pair
/// (`SmallMatrixProduct` in builds tuned for the CPU, OpenBLAS otherwise) gives the transformed
/// outputs, transformed back into the 2×2×2 blocks. The blocks are fixed by the shape, so the
/// result is bitwise identical for any thread count. It differs from the direct sum by rounding
/// only (about 1e-7 of the values' scale).
///
/// ```swift
/// let conv = WinogradConvolution(spatial: SIMD3(160, 192, 224))
/// conv.forward(input: x, inChannels: 48, weights: w, bias: b, outChannels: 32, output: y)
/// ```
struct WinogradConvolution {
    /// Grid extents (x, y, z), the same for input and output.
    let spatial: SIMD3<Int>
    /// 2×2×2 output tiles per axis (the last one may reach one voxel past the grid).
    let tiles: SIMD3<Int>

    init(spatial: SIMD3<Int>) {
        self.spatial = spatial
        tiles = (spatial &+ 1) / 2
        BLASSetup.done
    }

    /// Rows of tiles (fixed y and z, all x) per block: a few hundred tiles, so that the block's
    /// transformed inputs and outputs stay in cache.
    var rowsPerBlock: Int { max(1, 128 / tiles.x) }
    var blockCount: Int { (tiles.y * tiles.z + rowsPerBlock - 1) / rowsPerBlock }
    /// Length of a loaded input line split by parity: tiles.x + 1 values for each.
    var lineLength: Int { 2 * tiles.x + 2 }

    /// The kernels (out × in × 3 × 3 × 3, PyTorch's layout) as 64 matrices out × in:
    /// U[e] = (G ⊗ G ⊗ G) w, with e = 16 · (z row of G) + 4 · (y row) + (x row).
    static func transformedWeights(_ w: UnsafePointer<Float>, inChannels: Int, outChannels: Int) -> [Float] {
        let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        let pairs = outChannels * inChannels
        var u = [Float](repeating: 0, count: 64 * pairs)
        for pair in 0..<pairs {
            let k = w + pair * 27
            for p in 0..<4 {
                for q in 0..<4 {
                    for r in 0..<4 {
                        var s = 0.0
                        for a in 0..<3 {
                            for b in 0..<3 {
                                for c in 0..<3 { s += g[p][a] * g[q][b] * g[r][c] * Double(k[(a * 3 + b) * 3 + c]) }
                            }
                        }
                        u[(p * 16 + q * 4 + r) * pairs + pair] = Float(s)
                    }
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
        let blockTiles = rowsPerBlock * tiles.x
        u.withUnsafeBufferPointer { ub in
            let su = UnsafeSendable(ub.baseAddress!)
            // Each worker takes whole z-planes of tile rows: neighbouring rows share input lines in cache.
            parallelFor(count: blockCount, chunkSize: max(1, tiles.y / rowsPerBlock)) { blocks in
                let v = UnsafeMutablePointer<Float>.allocate(capacity: 64 * inChannels * blockTiles)
                let m = UnsafeMutablePointer<Float>.allocate(capacity: 64 * outChannels * blockTiles)
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 16 * lineLength + 128 * tiles.x)
                defer { v.deallocate(); m.deallocate(); scratch.deallocate() }
                for block in blocks {
                    let first = block * rowsPerBlock, last = min(tiles.y * tiles.z, first + rowsPerBlock)
                    let count = (last - first) * tiles.x
                    for row in first..<last {
                        transformInput(sx.value, row: row, into: v, column: (row - first) * tiles.x,
                                       stride: count, scratch: scratch)
                    }
                    for e in 0..<64 {
                        let (a, b, c) = (su.value + e * outChannels * inChannels, v + e * inChannels * count, m + e * outChannels * count)
                        if SmallMatrixProduct.replacesBLAS {
                            SmallMatrixProduct.multiply(rows: outChannels, columns: count, inner: inChannels, a: a, b: b, ldb: count,
                                                        c: c, ldc: count)
                        } else {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(count),
                                        Int32(inChannels), 1, a, Int32(inChannels), b, Int32(count), 0, c, Int32(count))
                        }
                    }
                    for row in first..<last {
                        transformOutput(m, channels: outChannels, row: row, column: (row - first) * tiles.x,
                                        stride: count, bias: sb.value, slope: leakyReLUSlope, into: sy.value, scratch: scratch)
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
        let tz = row / tiles.y, ty = row - tz * tiles.y
        let length = lineLength, n = nx * ny * nz, channels = inputs.reduce(0) { $0 + $1.channels }
        let lines = scratch, s1 = scratch + 16 * length, s2 = s1 + 64 * tx
        var c = 0
        for input in inputs {
            for local in 0..<input.channels {
                // The 4 × 4 input lines of the row, zero outside the grid, split by parity: tile t
                // reads x = 2t − 1 … 2t + 2, that is even[t], odd[t], even[t + 1], odd[t + 1] with
                // even[k] = x[2k − 1] and odd[k] = x[2k].
                for a in 0..<4 {
                    let z = 2 * tz - 1 + a
                    for b in 0..<4 {
                        let y = 2 * ty - 1 + b
                        let even = lines + (a * 4 + b) * length, odd = even + tx + 1
                        guard z >= 0 && z < nz && y >= 0 && y < ny else {
                            even.initialize(repeating: 0, count: length)
                            continue
                        }
                        if input.upsampled {
                            // x[j] = coarse[j / 2]: even[k] = coarse[k − 1], odd[k] = coarse[k].
                            let coarse = input.values + (local * n / 8 + ((z / 2) * (ny / 2) + y / 2) * tx)
                            even[0] = 0
                            (even + 1).update(from: coarse, count: tx)
                            odd.update(from: coarse, count: tx)
                            odd[tx] = 0
                        } else {
                            Self.split(input.values + (local * n + (z * ny + y) * nx), count: nx, even: even, odd: odd, tiles: tx)
                        }
                    }
                }
                transformChannel(c, channels: channels, lines: lines, into: v, column: column, stride: stride, s1: s1, s2: s2)
                c += 1
            }
        }
    }

    /// Bᵀ along x, y and z of one channel's split lines, into V[e][c][column ..< column + tiles.x].
    @inline(__always)
    func transformChannel(_ c: Int, channels: Int, lines: UnsafeMutablePointer<Float>, into v: UnsafeMutablePointer<Float>,
                          column: Int, stride: Int, s1: UnsafeMutablePointer<Float>, s2: UnsafeMutablePointer<Float>) {
        let tx = tiles.x, length = lineLength
        for ab in 0..<16 {
            let even = UnsafePointer(lines + ab * length), odd = even + tx + 1
            Self.inputTransform(even, odd, even + 1, odd + 1, count: tx, into: s1 + ab * 4 * tx, tx)
        }
        // Along y (rows b of s1), then along z (rows a of s2) into V.
        for a in 0..<4 {
            for r in 0..<4 {
                let i = UnsafePointer(s1 + (a * 16 + r) * tx)
                Self.inputTransform(i, i + 4 * tx, i + 8 * tx, i + 12 * tx, count: tx,
                                    into: s2 + (a * 16 + r) * tx, 4 * tx)
            }
        }
        for q in 0..<4 {
            for r in 0..<4 {
                let i = UnsafePointer(s2 + (q * 4 + r) * tx)
                let o = v + ((q * 4 + r) * channels + c) * stride + column
                Self.inputTransform(i, i + 16 * tx, i + 32 * tx, i + 48 * tx, count: tx,
                                    into: o, 16 * channels * stride)
            }
        }
    }

    /// even[k] = x[2k − 1], odd[k] = x[2k] for k in 0 ... tiles, zero outside 0 ..< count.
    @inline(__always)
    static func split(_ x: UnsafePointer<Float>, count: Int, even: UnsafeMutablePointer<Float>,
                      odd: UnsafeMutablePointer<Float>, tiles: Int) {
        even[0] = 0
        var k = 0
        while k &+ 16 <= count / 2 {
            let pairs = UnsafeRawPointer(x + 2 &* k).loadUnaligned(as: SIMD32<Float>.self)
            store(pairs.evenHalf, at: odd + k)
            store(pairs.oddHalf, at: even + (k &+ 1))
            k &+= 16
        }
        while k < tiles {
            odd[k] = 2 &* k < count ? x[2 &* k] : 0
            even[k &+ 1] = 2 &* k &+ 1 < count ? x[2 &* k &+ 1] : 0
            k &+= 1
        }
        odd[tiles] = 0   // 2 · tiles ≥ count
    }

    /// Bᵀ on four rows of `count` values, written `step` apart from `out`.
    @inline(__always)
    static func inputTransform(_ d0: UnsafePointer<Float>, _ d1: UnsafePointer<Float>, _ d2: UnsafePointer<Float>,
                               _ d3: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>, _ step: Int) {
        let o1 = out + step, o2 = o1 + step, o3 = o2 + step
        var t = 0
        while t &+ 16 <= count {
            let a = load(d0 + t), b = load(d1 + t), c = load(d2 + t), d = load(d3 + t)
            store(a - c, at: out + t)
            store(b + c, at: o1 + t)
            store(c - b, at: o2 + t)
            store(b - d, at: o3 + t)
            t &+= 16
        }
        while t < count {
            out[t] = d0[t] - d2[t]
            o1[t] = d1[t] + d2[t]
            o2[t] = d2[t] - d1[t]
            o3[t] = d1[t] - d3[t]
            t &+= 1
        }
    }

    /// Aᵀ m along x, y and z for every tile of one row of tiles and every channel, plus the bias,
    /// through the leaky ReLU of `slope` if given, into the output grid (tiles past the grid's
    /// edge are cut).
    func transformOutput(_ m: UnsafePointer<Float>, channels: Int, row: Int, column: Int, stride: Int,
                         bias: UnsafePointer<Float>?, slope: Float?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>) {
        let (nx, ny, nz, tx) = (spatial.x, spatial.y, spatial.z, tiles.x)
        let tz = row / tiles.y, ty = row - tz * tiles.y
        let n = nx * ny * nz
        let s1 = scratch, s2 = scratch + 32 * tx, s3 = s2 + 16 * tx
        for c in 0..<channels {
            // Along x: (m0 + m1 + m2, m1 − m2 − m3) for each of the 16 (z, y) rows.
            for ab in 0..<16 {
                let i = UnsafePointer(m + (ab * 4 * channels + c) * stride + column)
                Self.outputTransform(i, i + channels * stride, i + 2 * channels * stride, i + 3 * channels * stride,
                                     count: tx, into: s1 + ab * 2 * tx, tx)
            }
            for a in 0..<4 {
                for r in 0..<2 {
                    let i = UnsafePointer(s1 + (a * 8 + r) * tx)
                    Self.outputTransform(i, i + 2 * tx, i + 4 * tx, i + 6 * tx, count: tx, into: s2 + (a * 4 + r) * tx, 2 * tx)
                }
            }
            for q in 0..<2 {
                for r in 0..<2 {
                    let i = UnsafePointer(s2 + (q * 2 + r) * tx)
                    Self.outputTransform(i, i + 4 * tx, i + 8 * tx, i + 12 * tx, count: tx, into: s3 + (q * 2 + r) * tx, 4 * tx)
                }
            }
            let offset = bias?[c] ?? 0
            for p in 0..<2 {
                let z = 2 * tz + p
                guard z < nz else { continue }
                for q in 0..<2 {
                    let yy = 2 * ty + q
                    guard yy < ny else { continue }
                    let target = y + (c * n + (z * ny + yy) * nx)
                    let even = s3 + (p * 4 + q * 2) * tx, odd = even + tx
                    for t in 0..<(nx / 2) {
                        target[2 &* t] = even[t] + offset
                        target[2 &* t &+ 1] = odd[t] + offset
                    }
                    if nx % 2 == 1 { target[nx - 1] = even[tx - 1] + offset }
                    if let slope {
                        for i in 0..<nx where !(target[i] > 0) { target[i] = slope * target[i] }
                    }
                }
            }
        }
    }

    /// Aᵀ on four rows of `count` values: two rows written `step` apart from `out`.
    @inline(__always)
    static func outputTransform(_ m0: UnsafePointer<Float>, _ m1: UnsafePointer<Float>, _ m2: UnsafePointer<Float>,
                                _ m3: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>, _ step: Int) {
        let o1 = out + step
        var t = 0
        while t &+ 16 <= count {
            let a = load(m0 + t), b = load(m1 + t), c = load(m2 + t), d = load(m3 + t)
            store(a + b + c, at: out + t)
            store(b - c - d, at: o1 + t)
            t &+= 16
        }
        while t < count {
            out[t] = m0[t] + m1[t] + m2[t]
            o1[t] = m1[t] - m2[t] - m3[t]
            t &+= 1
        }
    }
}

@inline(__always)
private func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> { SmallMatrixProduct.load(p) }

@inline(__always)
private func store(_ v: SIMD16<Float>, at p: UnsafeMutablePointer<Float>) { SmallMatrixProduct.store(v, p) }
