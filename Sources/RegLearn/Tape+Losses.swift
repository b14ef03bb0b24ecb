import RegCore
import RegKernels

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
        let n = Float(xs.isPlanar ? window * window : window * window * window)
        let count = xs.count
        let av = values[a.id], bv = values[b.id]
        func box(_ v: [Float], item: Int) -> [Float] {
            var s = Array(v[(item * m)..<((item + 1) * m)])
            BoxSums.sum(&s, size: size, radius: r)
            return s
        }
        // Per item: the window sums, and ∂(−mean cc)/∂ of each sum, kept for the backward pass.
        var loss: Double = 0
        var boxedGradients = [[[Float]]]()   // per item: box sums of ∂/∂ΣI, ΣJ, ΣIJ, ΣI², ΣJ²
        for item in 0..<xs.batch {
            let slice = (item * m)..<((item + 1) * m)
            let sI = box(av, item: item), sJ = box(bv, item: item)
            let sII = box(av.map { $0 * $0 }, item: item), sJJ = box(bv.map { $0 * $0 }, item: item)
            let sIJ = box(zip(av[slice], bv[slice]).map { $0 * $1 }, item: 0)
            var d = [[Float]](repeating: [Float](repeating: 0, count: m), count: 5)
            let s = -1 / Float(count)
            for p in 0..<m {
                let A = sIJ[p] - sI[p] * sJ[p] / n
                let B = sII[p] - sI[p] * sI[p] / n, C = sJJ[p] - sJ[p] * sJ[p] / n
                let D = B * C + 1e-5
                loss -= Double(A * A / D)
                let dA = s * 2 * A / D, dB = s * (-A * A * C / (D * D)), dC = s * (-A * A * B / (D * D))
                d[0][p] = dA * (-sJ[p] / n) + dB * (-2 * sI[p] / n)
                d[1][p] = dA * (-sI[p] / n) + dC * (-2 * sJ[p] / n)
                (d[2][p], d[3][p], d[4][p]) = (dA, dB, dC)
            }
            boxedGradients.append(d.map { g in box(g, item: 0) })
        }
        let value = Float(loss / Double(count))
        return record(TensorShape(channels: 1, height: 1, width: 1), [value], inputs: [a, b]) { [unowned self] out in
            let g = gradients[out.id][0]
            for (item, d) in boxedGradients.enumerated() {
                accumulate(a) { ga in
                    for p in 0..<m {
                        let i = item * m + p
                        ga[i] += g * (d[0][p] + bv[i] * d[2][p] + 2 * av[i] * d[3][p])
                    }
                }
                accumulate(b) { gb in
                    for p in 0..<m {
                        let i = item * m + p
                        gb[i] += g * (d[1][p] + av[i] * d[2][p] + 2 * bv[i] * d[4][p])
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
