import Foundation
import RegCore
import RegKernels
import COpenBLAS

extension Tape {
    /// mean((a − b)²) over all values.
    public func meanSquaredError(_ a: Variable, _ b: Variable) -> Variable {
        precondition(shape(a) == shape(b), "meanSquaredError: \(shape(a)) and \(shape(b)) differ")
        let count = shape(a).count
        var sum: Double = 0
        for (x, y) in zip(values[a.id], values[b.id]) { sum += Double((x - y) * (x - y)) }
        return record(TensorShape(channels: 1, height: 1, width: 1), [Float(sum / Double(count))], inputs: [a, b]) { [unowned self] out in
            let scale = 2 * gradients[out.id][0] / Float(count)
            withValue(a) { av in
                withValue(b) { bv in
                    accumulate(a) { ga in for i in 0..<count { ga[i] += scale * (av[i] - bv[i]) } }
                    accumulate(b) { gb in for i in 0..<count { gb[i] -= scale * (av[i] - bv[i]) } }
                }
            }
        }
    }

    /// −mean(cc), VoxelMorph's local normalised cross-correlation: over each window of side
    /// `window` (clipped at the edges, counted as `window`^d as with zero padding),
    /// cc = (Σ IJ − Σ I Σ J / n)² / ((Σ I² − (Σ I)²/n)(Σ J² − (Σ J)²/n) + 1e-5). One channel.
    ///
    /// ```swift
    /// let loss = tape.localCorrelationLoss(fixed, warped)    // −1 for identical images with texture
    /// ```
    public func localCorrelationLoss(_ a: Variable, _ b: Variable, window: Int = 9) -> Variable {
        let xs = shape(a)
        precondition(xs == shape(b) && xs.channels == 1, "localCorrelationLoss: \(xs) and \(shape(b)) must match, one channel")
        let size = xs.spatial, m = xs.spatialCount, r = window / 2
        let n = Double(xs.isPlanar ? window * window : window * window * window)
        let count = xs.count
        let av = values[a.id], bv = values[b.id]
        // Window sums in Double: in Float, Σ I² − (Σ I)²/n over 9³ voxels of a flat region cancels
        // to noise of either sign, and cc leaves [0, 1].
        func box(_ v: [Double]) -> [Double] {
            var s = v
            BoxSums.sum(&s, size: size, radius: r)
            return s
        }
        // Per item: the window sums, and ∂(−mean cc)/∂ of each sum, kept for the backward pass.
        var loss: Double = 0
        var boxedGradients = [[[Double]]]()   // per item: box sums of ∂/∂ΣI, ΣJ, ΣIJ, ΣI², ΣJ²
        for item in 0..<xs.batch {
            let I = av[(item * m)..<((item + 1) * m)].map(Double.init), J = bv[(item * m)..<((item + 1) * m)].map(Double.init)
            let sI = box(I), sJ = box(J)
            let sII = box(I.map { $0 * $0 }), sJJ = box(J.map { $0 * $0 })
            let sIJ = box(zip(I, J).map { $0 * $1 })
            var d = [[Double]](repeating: [Double](repeating: 0, count: m), count: 5)
            let s = -1 / Double(count)
            for p in 0..<m {
                let A = sIJ[p] - sI[p] * sJ[p] / n
                let B = sII[p] - sI[p] * sI[p] / n, C = sJJ[p] - sJ[p] * sJ[p] / n
                let D = B * C + 1e-5
                loss -= A * A / D
                let dA = s * 2 * A / D, dB = s * (-A * A * C / (D * D)), dC = s * (-A * A * B / (D * D))
                d[0][p] = dA * (-sJ[p] / n) + dB * (-2 * sI[p] / n)
                d[1][p] = dA * (-sI[p] / n) + dC * (-2 * sJ[p] / n)
                (d[2][p], d[3][p], d[4][p]) = (dA, dB, dC)
            }
            boxedGradients.append(d.map(box))
        }
        let value = Float(loss / Double(count))
        return record(TensorShape(channels: 1, height: 1, width: 1), [value], inputs: [a, b]) { [unowned self] out in
            let g = Double(gradients[out.id][0])
            for (item, d) in boxedGradients.enumerated() {
                accumulate(a) { ga in
                    for p in 0..<m {
                        let i = item * m + p
                        ga[i] += Float(g * (d[0][p] + Double(bv[i]) * d[2][p] + 2 * Double(av[i]) * d[3][p]))
                    }
                }
                accumulate(b) { gb in
                    for p in 0..<m {
                        let i = item * m + p
                        gb[i] += Float(g * (d[1][p] + Double(av[i]) * d[2][p] + 2 * Double(bv[i]) * d[4][p]))
                    }
                }
            }
        }
    }

    /// VoxelMorph's diffusion regulariser of a displacement field: the mean squared forward
    /// difference along each spatial axis, averaged over the axes (‖∇u‖²).
    public func diffusionLoss(_ field: Variable) -> Variable {
        let fs = shape(field), size = fs.spatial, n = fs.spatialCount, planes = fs.batch * fs.channels
        let axes = fs.isPlanar ? [0, 1] : [0, 1, 2]
        let strides = SIMD3(1, size.x, size.x * size.y)
        // Differences along axis k exist where the coordinate is below size[k] − 1.
        let counts = axes.map { Double(planes) * Double(n) / Double(size[$0]) * Double(size[$0] - 1) }
        let u = values[field.id]
        var total: Double = 0
        for (k, axis) in axes.enumerated() {
            var s: Double = 0
            for plane in 0..<planes {
                for p in 0..<n where (p / strides[axis]) % size[axis] < size[axis] - 1 {
                    let d = u[plane * n + p + strides[axis]] - u[plane * n + p]
                    s += Double(d * d)
                }
            }
            total += s / counts[k]
        }
        return record(TensorShape(channels: 1, height: 1, width: 1), [Float(total / Double(axes.count))],
                      inputs: [field]) { [unowned self] out in
            let g = gradients[out.id][0] / Float(axes.count)
            accumulate(field) { gu in
                for (k, axis) in axes.enumerated() {
                    let w = 2 * g / Float(counts[k])
                    for plane in 0..<planes {
                        for p in 0..<n where (p / strides[axis]) % size[axis] < size[axis] - 1 {
                            let i = plane * n + p, d = w * (u[i + strides[axis]] - u[i])
                            gu[i + strides[axis]] += d
                            gu[i] -= d
                        }
                    }
                }
            }
        }
    }

    /// 1 − mean Dice over channels of two stacks of (soft) label maps, N×L×grid:
    /// Dice_l = 2 Σ ab / (Σ a + Σ b + 1e-5).
    public func softDiceLoss(_ a: Variable, _ b: Variable) -> Variable {
        let xs = shape(a)
        precondition(xs == shape(b), "softDiceLoss: \(xs) and \(shape(b)) differ")
        let n = xs.spatialCount, planes = xs.batch * xs.channels
        let av = values[a.id], bv = values[b.id]
        var inter = [Double](repeating: 0, count: planes), denom = [Double](repeating: 1e-5, count: planes)
        for plane in 0..<planes {
            for p in (plane * n)..<((plane + 1) * n) {
                inter[plane] += Double(av[p] * bv[p])
                denom[plane] += Double(av[p] + bv[p])
            }
        }
        let dice = zip(inter, denom).map { 2 * $0 / $1 }
        let value = 1 - dice.reduce(0, +) / Double(planes)
        return record(TensorShape(channels: 1, height: 1, width: 1), [Float(value)], inputs: [a, b]) { [unowned self] out in
            let g = Double(gradients[out.id][0]) / Double(planes)
            // ∂Dice/∂a = 2b/denom − 2·inter/denom²
            for (v, other) in [(a, bv), (b, av)] {
                accumulate(v) { gv in
                    for plane in 0..<planes {
                        let c1 = 2 / denom[plane], c2 = 2 * inter[plane] / (denom[plane] * denom[plane])
                        for p in (plane * n)..<((plane + 1) * n) { gv[p] -= Float(g * (c1 * Double(other[p]) - c2)) }
                    }
                }
            }
        }
    }
}

extension Tape {
    /// −MI, the negative mutual information of two single-channel images with intensities in
    /// [0, 1] (multi-modal pairs), by Parzen windows as VoxelMorph defines it: `bins` Gaussian
    /// bins centred on 0 … 1, σ the bin spacing, each voxel's weights normalised over the bins;
    /// p_ab = mean over voxels of w_a(I)·w_b(J); MI = Σ p_ab log((p_ab + ε) / (p_a p_b + ε)),
    /// ε = 1e-10. Items of the batch are scored apart and averaged.
    ///
    /// ```swift
    /// let loss = tape.mutualInformationLoss(fixedT1, warpedT2)   // falls as the two align
    /// ```
    public func mutualInformationLoss(_ a: Variable, _ b: Variable, bins: Int = 32) -> Variable {
        let xs = shape(a)
        precondition(xs == shape(b) && xs.channels == 1, "mutualInformationLoss: \(xs) and \(shape(b)) must match, one channel")
        precondition(bins >= 2, "mutualInformationLoss needs at least two bins")
        let m = xs.spatialCount, spacing = 1 / Double(bins - 1), beta = 1 / (2 * spacing * spacing)
        let av = values[a.id], bv = values[b.id]
        /// Normalised Parzen weights, m × bins row-major.
        func parzen(_ v: ArraySlice<Float>) -> [Double] {
            var w = [Double](repeating: 0, count: m * bins)
            for (p, x) in v.enumerated() {
                var total = 0.0
                for k in 0..<bins {
                    let d = Double(x) - Double(k) * spacing
                    w[p * bins + k] = exp(-beta * d * d)
                    total += w[p * bins + k]
                }
                for k in 0..<bins { w[p * bins + k] /= total }
            }
            return w
        }
        let epsilon = 1e-10
        BLASSetup.done
        var loss = 0.0
        var saved: [(wa: [Double], wb: [Double], g: [Double])] = []   // per item: weights and ∂(−MI)/∂p
        for item in 0..<xs.batch {
            let slice = (item * m)..<((item + 1) * m)
            let wa = parzen(av[slice]), wb = parzen(bv[slice])
            var joint = [Double](repeating: 0, count: bins * bins)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(bins), Int32(bins), Int32(m),
                        1 / Double(m), wa, Int32(bins), wb, Int32(bins), 0, &joint, Int32(bins))
            let pa = (0..<bins).map { i in (0..<bins).reduce(0.0) { $0 + joint[i * bins + $1] } }
            let pb = (0..<bins).map { j in (0..<bins).reduce(0.0) { $0 + joint[$1 * bins + j] } }
            var mi = 0.0
            var g = [Double](repeating: 0, count: bins * bins)
            // ∂MI/∂p_ab, with p_a = Σ_b p_ab and p_b = Σ_a p_ab.
            let rowTerm = (0..<bins).map { i in (0..<bins).reduce(0.0) { $0 + joint[i * bins + $1] * pb[$1] / (pa[i] * pb[$1] + epsilon) } }
            let columnTerm = (0..<bins).map { j in (0..<bins).reduce(0.0) { $0 + joint[$1 * bins + j] * pa[$1] / (pa[$1] * pb[j] + epsilon) } }
            for i in 0..<bins {
                for j in 0..<bins {
                    let p = joint[i * bins + j], ratio = log((p + epsilon) / (pa[i] * pb[j] + epsilon))
                    mi += p * ratio
                    g[i * bins + j] = -(ratio + p / (p + epsilon) - rowTerm[i] - columnTerm[j]) / Double(xs.batch)
                }
            }
            loss -= mi
            saved.append((wa, wb, g))
        }
        let value = Float(loss / Double(xs.batch))
        return record(TensorShape(channels: 1, height: 1, width: 1), [value], inputs: [a, b]) { [unowned self] out in
            let g = Double(gradients[out.id][0])
            for (item, s) in saved.enumerated() {
                // ∂L/∂w_a(I at voxel) = Σ_b G_ab w_b(J)/m, and symmetrically; then through the normalised Gaussians.
                for (v, own, other, transposed) in [(a, s.wa, s.wb, CblasTrans), (b, s.wb, s.wa, CblasNoTrans)] {
                    var gw = [Double](repeating: 0, count: m * bins)
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, transposed, Int32(m), Int32(bins), Int32(bins),
                                g / Double(m), other, Int32(bins), s.g, Int32(bins), 0, &gw, Int32(bins))
                    let x = values[v.id]
                    accumulate(v) { gv in
                        for p in 0..<m {
                            let xv = Double(x[item * m + p])
                            var mean = 0.0, sum = 0.0
                            for k in 0..<bins { mean += own[p * bins + k] * -2 * beta * (xv - Double(k) * spacing) }
                            for k in 0..<bins {
                                sum += gw[p * bins + k] * own[p * bins + k] * (-2 * beta * (xv - Double(k) * spacing) - mean)
                            }
                            gv[item * m + p] += Float(sum)
                        }
                    }
                }
            }
        }
    }
}
