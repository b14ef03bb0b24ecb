import Testing
import RegCore
@testable import RegLearn

@Suite(.serialized) struct LayerValueTests {
    /// Direct evaluation of the same-padded correlation, with PyTorch's weight layout.
    func naiveConvolution(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> [Float] {
        let s = x.shape, cout = w.shape.batch, k = w.shape.spatial, half = (k &- 1) / 2
        var y = [Float](repeating: 0, count: s.batch * cout * s.spatialCount)
        for n in 0..<s.batch {
            for co in 0..<cout {
                for z in 0..<s.depth {
                    for yy in 0..<s.height {
                        for xx in 0..<s.width {
                            var sum = Double(b.values[co])
                            for ci in 0..<s.channels {
                                for a in 0..<k.z { for bb in 0..<k.y { for c in 0..<k.x {
                                    let (pz, py, px) = (z + a - half.z, yy + bb - half.y, xx + c - half.x)
                                    guard pz >= 0, pz < s.depth, py >= 0, py < s.height, px >= 0, px < s.width else { continue }
                                    let wv = w.values[(((co * s.channels + ci) * k.z + a) * k.y + bb) * k.x + c]
                                    sum += Double(wv) * Double(x.values[(((n * s.channels + ci) * s.depth + pz) * s.height + py) * s.width + px])
                                } } }
                            }
                            y[(((n * cout + co) * s.depth + z) * s.height + yy) * s.width + xx] = Float(sum)
                        }
                    }
                }
            }
        }
        return y
    }

    @Test func convolutionMatchesDirectEvaluation() {
        // Widths around the block size exercise blocks of one and of several rows. In volumes
        // (Winograd tiles): odd and even extents, lines long enough for the vector paths and their
        // tails, and a volume one voxel deep.
        let shapes = [TensorShape(batch: 2, channels: 3, height: 13, width: 300), TensorShape(channels: 5, depth: 7, height: 9, width: 11),
                      TensorShape(channels: 3, depth: 5, height: 6, width: 71), TensorShape(channels: 2, depth: 4, height: 3, width: 64),
                      TensorShape(channels: 2, depth: 1, height: 5, width: 40)]
        for (index, s) in shapes.enumerated() {
            let x = randomTensor(s, seed: 1)
            let w = randomTensor(TensorShape(batch: 6, channels: s.channels, depth: index == 0 ? 1 : 3, height: 3, width: 3), seed: 2)
            let b = randomTensor(TensorShape(channels: 6, height: 1, width: 1), seed: 3)
            let tape = Tape()
            let y = tape.convolution(tape.constant(x), weight: tape.constant(w), bias: tape.constant(b))
            let expected = naiveConvolution(x, w, b)
            let worst = zip(tape.tensor(y).values, expected).map { abs($0 - $1) }.max()!
            // Planes: direct sums in Float. Volumes: Winograd F(4, 3), whose transforms round to
            // about 1e-5 of the values' scale.
            let scale = expected.map { abs($0) }.max()!
            #expect(worst < (index == 0 ? 1e-6 : 1e-5) * scale, "largest difference \(worst) at scale \(scale)")
        }
    }

    /// The register-blocked products of the Winograd tiles against a sum in Double, for shapes
    /// that reach every path: blocks of 4 rows and 32 columns, single rows, 16 columns, and one.
    @Test func smallMatrixProductsMatchDirectSums() {
        for (rows, columns, inner) in [(32, 80, 48), (3, 120, 16), (7, 33, 2), (4, 16, 5), (5, 53, 9)] {
            let a = randomTensor(TensorShape(channels: 1, height: rows, width: inner), seed: 1).values
            let ldb = columns + 3
            let b = randomTensor(TensorShape(channels: 1, height: inner, width: ldb), seed: 2).values
            var c = [Float](repeating: .nan, count: rows * ldb)
            SmallMatrixProduct.multiply(rows: rows, columns: columns, inner: inner, a: a, b: b, ldb: ldb, c: &c, ldc: ldb)
            var worst: Double = 0
            for i in 0..<rows {
                for j in 0..<columns {
                    let direct = (0..<inner).reduce(0.0) { $0 + Double(a[i * inner + $1]) * Double(b[$1 * ldb + j]) }
                    worst = max(worst, abs(Double(c[i * ldb + j]) - direct))
                }
                let untouched = c[(i * ldb + columns)..<((i + 1) * ldb)].allSatisfy { $0.isNaN }
                #expect(untouched, "wrote past the columns")
            }
            #expect(worst < 1e-5, "\(rows)×\(columns)×\(inner): largest difference \(worst)")
        }
    }

    /// The decoder step reads the coarse input through its upsampling, in place, at inference
    /// (lines long enough for the vector split and its tail):
    /// the same values to the bit as the three layers, and as the recorded path when training.
    @Test func decoderStepEqualsUpsamplingConcatenationAndConvolution() {
        let coarse = randomTensor(TensorShape(channels: 2, depth: 3, height: 4, width: 34), seed: 1)
        let skip = randomTensor(TensorShape(channels: 3, depth: 6, height: 8, width: 68), seed: 2)
        let w = randomTensor(TensorShape(batch: 4, channels: 5, depth: 3, height: 3, width: 3), seed: 3)
        let b = randomTensor(TensorShape(channels: 4, height: 1, width: 1), seed: 4)
        let layers = Tape()
        let up = layers.upsampleNearest(layers.constant(coarse))
        let x = layers.concatenate([up, layers.constant(skip)])
        let expected = layers.tensor(layers.convolution(x, weight: layers.constant(w), bias: layers.constant(b), leakyReLUSlope: 0.2))
        for training in [false, true] {
            let tape = Tape()
            let input = training ? tape.parameter(coarse) : tape.constant(coarse)
            let y = tape.convolution(upsampling: input, concatenatedWith: tape.constant(skip), weight: tape.constant(w),
                                     bias: tape.constant(b), leakyReLUSlope: 0.2)
            #expect(tape.tensor(y) == expected, "training: \(training)")
        }
    }

    /// Stride 2 as PyTorch's Conv(kernel 3, stride 2, padding 1): output o sums inputs 2o − 1 … 2o + 1.
    @Test func stridedConvolutionMatchesDirectEvaluation() {
        for s in [TensorShape(channels: 2, height: 7, width: 10), TensorShape(channels: 2, depth: 5, height: 6, width: 9)] {
            let x = randomTensor(s, seed: 1)
            let w = randomTensor(TensorShape(batch: 3, channels: 2, depth: s.isPlanar ? 1 : 3, height: 3, width: 3), seed: 2)
            let b = randomTensor(TensorShape(channels: 3, height: 1, width: 1), seed: 3)
            let tape = Tape()
            let y = tape.convolution(tape.constant(x), weight: tape.constant(w), bias: tape.constant(b), stride: 2)
            let out = SIMD3((s.width + 1) / 2, (s.height + 1) / 2, (s.depth + 1) / 2)
            #expect(tape.shape(y).spatial == out)
            let full = naiveConvolution(x, w, b)
            var worst: Float = 0
            for co in 0..<3 { for z in 0..<out.z { for yy in 0..<out.y { for xx in 0..<out.x {
                let strided = tape.tensor(y).values[((co * out.z + z) * out.y + yy) * out.x + xx]
                let direct = full[((co * s.depth + (s.isPlanar ? 0 : 2 * z)) * s.height + 2 * yy) * s.width + 2 * xx]
                worst = max(worst, abs(strided - direct))
            } } } }
            #expect(worst < 1e-5, "largest difference \(worst)")
        }
    }

    @Test func gradientsAreBitwiseIdenticalForOneAndTwoThreads() {
        let s = TensorShape(channels: 8, depth: 6, height: 20, width: 40)
        func run(threads: Int) -> [[Float]] { Parallelism.withThreadCount(threads) { gradients() } }
        func gradients() -> [[Float]] {
            let tape = Tape()
            let x = tape.parameter(randomTensor(s, seed: 1))
            let w = tape.parameter(randomTensor(TensorShape(batch: 4, channels: 8, depth: 3, height: 3, width: 3), seed: 2))
            let b = tape.parameter(randomTensor(TensorShape(channels: 4, height: 1, width: 1), seed: 3))
            let y = tape.leakyReLU(tape.convolution(x, weight: w, bias: b))
            let f = tape.convolution(y, weight: tape.parameter(randomTensor(TensorShape(batch: 3, channels: 4, depth: 3, height: 3, width: 3), seed: 4, range: -0.1...0.1)),
                                     bias: tape.parameter(Tensor(shape: TensorShape(channels: 3, height: 1, width: 1))))
            let warped = tape.warp(tape.constant(randomTensor(s.with(channels: 1), seed: 5)), by: tape.integrate(f))
            tape.backward(from: tape.localCorrelationLoss(warped, tape.constant(randomTensor(s.with(channels: 1), seed: 6))))
            return [tape.tensor(warped).values, tape.gradient(x)!.values, tape.gradient(w)!.values]
        }
        #expect(run(threads: 1) == run(threads: 2))
    }

    @Test func localCorrelationMatchesDirectWindows() {
        let s = TensorShape(channels: 1, height: 10, width: 12)
        let a = randomTensor(s, seed: 1, range: 0...1), b = randomTensor(s, seed: 2, range: 0...1)
        let tape = Tape()
        let loss = tape.scalar(tape.localCorrelationLoss(tape.constant(a), tape.constant(b), window: 5))
        var total = 0.0
        for y in 0..<10 {
            for x in 0..<12 {
                var (si, sj, sii, sjj, sij) = (0.0, 0.0, 0.0, 0.0, 0.0)
                for v in max(0, y - 2)...min(9, y + 2) {
                    for u in max(0, x - 2)...min(11, x + 2) {
                        let i = Double(a.values[v * 12 + u]), j = Double(b.values[v * 12 + u])
                        si += i; sj += j; sii += i * i; sjj += j * j; sij += i * j
                    }
                }
                let cross = sij - si * sj / 25, vi = sii - si * si / 25, vj = sjj - sj * sj / 25
                total += cross * cross / (vi * vj + 1e-5)
            }
        }
        #expect(abs(Double(loss) + total / 120) < 1e-5)
        let same = tape.scalar(tape.localCorrelationLoss(tape.constant(a), tape.constant(a), window: 5))
        #expect(abs(same + 1) < 1e-3)
    }

    /// A bright, nearly flat 3-D volume: Σ I² − (Σ I)²/n over 9³ windows is a difference of two
    /// sums near 6 500 whose true value is ~6e-5, which Float sums get wrong by more than itself.
    @Test func localCorrelationStaysExactOnBrightFlatVolumes() {
        let side = 24, s = TensorShape(channels: 1, depth: side, height: side, width: side)
        let a = randomTensor(s, seed: 3, range: 3...3.001), noise = randomTensor(s, seed: 4, range: 0...0.001)
        let b = Tensor(shape: s, values: zip(a.values, noise.values).map { 0.8 * $0 + 0.1 + $1 })
        var total = 0.0
        func at(_ t: Tensor, _ x: Int, _ y: Int, _ z: Int) -> Double { Double(t.values[(z * side + y) * side + x]) }
        for z in 0..<side { for y in 0..<side { for x in 0..<side {
            var (si, sj, sii, sjj, sij) = (0.0, 0.0, 0.0, 0.0, 0.0)
            for w in max(0, z - 4)...min(side - 1, z + 4) { for v in max(0, y - 4)...min(side - 1, y + 4) {
                for u in max(0, x - 4)...min(side - 1, x + 4) {
                    let i = at(a, u, v, w), j = at(b, u, v, w)
                    si += i; sj += j; sii += i * i; sjj += j * j; sij += i * j
                }
            } }
            let cross = sij - si * sj / 729, vi = sii - si * si / 729, vj = sjj - sj * sj / 729
            total += cross * cross / (vi * vj + 1e-5)
        } } }
        let tape = Tape()
        let computed = Double(tape.scalar(tape.localCorrelationLoss(tape.constant(a), tape.constant(b))))
        #expect(abs(computed + total / Double(side * side * side)) < 1e-5, "\(computed) vs \(-total / Double(side * side * side))")
    }

    /// The bins are symmetric about ½, so an inverted contrast carries exactly the information of
    /// the image itself; a shuffled copy carries almost none.
    @Test func mutualInformationSeesThroughContrastInversion() {
        let s = TensorShape(channels: 1, height: 40, width: 48)
        let a = randomTensor(s, seed: 7, range: 0...1)
        let inverted = Tensor(shape: s, values: a.values.map { 1 - $0 })
        var rng = SplitMix64(seed: 9)
        var shuffled = a.values
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let tape = Tape()
        func mi(_ b: Tensor) -> Float { -tape.scalar(tape.mutualInformationLoss(tape.constant(a), tape.constant(b))) }
        let own = mi(a)
        #expect(abs(mi(inverted) - own) < 1e-5 * own)
        #expect(own > 1.5)                 // log 32 = 3.47 for sharp bins; the Parzen blur halves it
        #expect(mi(Tensor(shape: s, values: shuffled)) < 0.1 * own)
    }

    /// Δ and t in coordinates normalised to [−1, 1]: on a 9×5 grid, Δ = [[0, 0.5], [−0.25, 0]]
    /// and t = (0.5, 0) move voxel (x, y) by (4·(0.5·(y − 2)/2 + 0.5), 2·(−0.25·(x − 4)/4)).
    @Test func affineDisplacementIsTheAffineMapInVoxels() {
        let tape = Tape()
        let theta = Tensor(shape: TensorShape(channels: 6, height: 1, width: 1), values: [0, 0.5, -0.25, 0, 0.5, 0])
        let u = tape.tensor(tape.affineDisplacement(tape.constant(theta), size: SIMD3(9, 5, 1)))
        #expect(u.shape == TensorShape(channels: 2, height: 5, width: 9))
        var worst: Float = 0
        for y in 0..<5 {
            for x in 0..<9 {
                let ux = 4 * (0.5 * Float(y - 2) / 2 + 0.5), uy = 2 * (-0.25 * Float(x - 4) / 4)
                worst = max(worst, abs(u.values[y * 9 + x] - ux), abs(u.values[45 + y * 9 + x] - uy))
            }
        }
        #expect(worst < 1e-6)
        // Read at x + (1, −1): the values one voxel right and one up, also past the grid's edge.
        let shift = Tensor(shape: u.shape, values: [Float](repeating: 1, count: 45) + [Float](repeating: -1, count: 45))
        let moved = tape.tensor(tape.affineDisplacement(tape.constant(theta), size: SIMD3(9, 5, 1), at: tape.constant(shift)))
        worst = 0
        for y in 0..<5 {
            for x in 0..<9 {
                let ux = 4 * (0.5 * Float(y - 3) / 2 + 0.5), uy = 2 * (-0.25 * Float(x - 3) / 4)
                worst = max(worst, abs(moved.values[y * 9 + x] - ux), abs(moved.values[45 + y * 9 + x] - uy))
            }
        }
        #expect(worst < 1e-6)
    }

    @Test func integratingAUniformVelocityTranslates() {
        // exp of a constant field is the same constant translation.
        let s = TensorShape(channels: 2, height: 16, width: 16)
        var v = Tensor(shape: s)
        for p in 0..<256 { v.values[p] = 1.25; v.values[256 + p] = -0.5 }
        let tape = Tape()
        let u = tape.tensor(tape.integrate(tape.constant(v)))
        // Interior voxels (the translation stays inside the grid there).
        #expect(abs(u.values[8 * 16 + 8] - 1.25) < 1e-4 && abs(u.values[256 + 8 * 16 + 8] + 0.5) < 1e-4)
    }
}
