import RegCore

/// The operations of the affine network: pooling to moments per feature, a fully connected
/// layer, and the displacement field of an affine map.
extension Tape {
    /// Moments of each channel over the grid, up to the second order in the normalised
    /// coordinates x̃ (`AffineFrame`): the means of f, f·x̃_i and f·x̃_i·x̃_j (i ≤ j). N×C×grid →
    /// N×(C·K)×1×1, K = 6 in a plane and 10 in a volume, channel-major. Like the image moments a
    /// classical initialiser aligns, they tell a linear layer where each feature lies and how it
    /// spreads, whatever the grid's size.
    ///
    /// ```swift
    /// let moments = tape.globalMoments(x)   // N×64×5×6 → N×384×1×1
    /// ```
    public func globalMoments(_ x: Variable) -> Variable {
        let xs = shape(x), n = xs.spatialCount, planes = xs.batch * xs.channels
        let monomials = AffineFrame(size: xs.spatial).monomials(dimension: xs.spatialDimension)
        let k = monomials.count / n
        var y = [Float](repeating: 0, count: planes * k)
        withValue(x) { xv in
            for plane in 0..<planes {
                for m in 0..<k {
                    var s: Double = 0
                    for i in 0..<n { s += Double(xv[plane * n + i]) * Double(monomials[m * n + i]) }
                    y[plane * k + m] = Float(s / Double(n))
                }
            }
        }
        return record(TensorShape(batch: xs.batch, channels: xs.channels * k, height: 1, width: 1), y, inputs: [x]) { [unowned self] out in
            withGradient(out) { g in
                accumulate(x) { gx in
                    for plane in 0..<planes {
                        for m in 0..<k {
                            let share = g[plane * k + m] / Float(n)
                            for i in 0..<n { gx[plane * n + i] += share * monomials[m * n + i] }
                        }
                    }
                }
            }
        }
    }

    /// A fully connected layer on each item's values: y = W x + b, with `weight` of shape
    /// (out, in, 1, 1, 1) as PyTorch's `Linear` lays it out (out × in) and `bias` (1, out, 1, 1, 1).
    ///
    /// ```swift
    /// let theta = tape.linear(features, weight: w, bias: b)   // N×64×1×1 → N×6×1×1
    /// ```
    public func linear(_ x: Variable, weight: Variable, bias: Variable) -> Variable {
        let xs = shape(x), ws = shape(weight)
        let inputs = xs.itemCount, outputs = ws.batch
        precondition(ws.itemCount == inputs && shape(bias).count == outputs, "linear: weight \(ws) does not fit input \(xs)")
        var y = [Float](repeating: 0, count: xs.batch * outputs)
        withValue(x) { xv in
            withValue(weight) { wv in
                withValue(bias) { bv in
                    for item in 0..<xs.batch {
                        for o in 0..<outputs {
                            var s = Double(bv[o])
                            for i in 0..<inputs { s += Double(wv[o * inputs + i]) * Double(xv[item * inputs + i]) }
                            y[item * outputs + o] = Float(s)
                        }
                    }
                }
            }
        }
        return record(TensorShape(batch: xs.batch, channels: outputs, height: 1, width: 1), y, inputs: [x, weight, bias]) { [unowned self] out in
            withGradient(out) { g in
                withValue(x) { xv in
                    withValue(weight) { wv in
                        accumulate(x) { gx in
                            for item in 0..<xs.batch {
                                for o in 0..<outputs { for i in 0..<inputs { gx[item * inputs + i] += wv[o * inputs + i] * g[item * outputs + o] } }
                            }
                        }
                        accumulate(weight) { gw in
                            for item in 0..<xs.batch {
                                for o in 0..<outputs { for i in 0..<inputs { gw[o * inputs + i] += g[item * outputs + o] * xv[item * inputs + i] } }
                            }
                        }
                        accumulate(bias) { gb in
                            for item in 0..<xs.batch { for o in 0..<outputs { gb[o] += g[item * outputs + o] } }
                        }
                    }
                }
            }
        }
    }

    /// The voxel displacement of an affine map on a grid of `size` voxels, from parameters
    /// N×d(d+1): Δ (d×d, row-major), then t (d), in coordinates normalised to [−1, 1] per axis
    /// (x̃ = (x − c)/s, c the grid centre, s half its extent): u(x) = s ⊙ (Δ x̃ + t). Zero
    /// parameters give the identity; d = 2 for a grid one voxel deep. With `displacement` (N×d×grid,
    /// voxels), the affine displacement is read at x + displacement(x) instead, exactly — no
    /// interpolation, and no edge where the grid ends — as a composition with the affine map needs.
    ///
    /// ```swift
    /// let u = tape.affineDisplacement(theta, size: SIMD3(192, 160, 1))   // N×2×160×192
    /// let total = tape.add(s, tape.affineDisplacement(theta, size: size, at: s))   // A ∘ (id + s)
    /// ```
    public func affineDisplacement(_ theta: Variable, size: SIMD3<Int>, at displacement: Variable? = nil) -> Variable {
        let ts = shape(theta), d = size.z == 1 ? 2 : 3
        precondition(ts.itemCount == d * (d + 1), "affineDisplacement: a \(d)-D affine needs \(d * (d + 1)) parameters, found \(ts.itemCount)")
        let frame = AffineFrame(size: size)
        let ys = TensorShape(batch: ts.batch, channels: d, depth: size.z, height: size.y, width: size.x), n = ys.spatialCount
        if let displacement { precondition(shape(displacement) == ys, "affineDisplacement: the displacement must be \(ys), found \(shape(displacement))") }
        let shift = displacement.map { values[$0.id] }
        /// x̃ of voxel v of item `item`, moved by the displacement when there is one.
        func point(_ item: Int, _ v: Int) -> SIMD3<Float> {
            var x = frame.normalised(v)
            if let shift { for j in 0..<d { x[j] += shift[(item * d + j) * n + v] / frame.half[j] } }
            return x
        }
        var y = [Float](repeating: 0, count: ys.count)
        withValue(theta) { tv in
            for item in 0..<ts.batch {
                let p = tv + item * d * (d + 1)
                for v in 0..<n {
                    let x = point(item, v)
                    for i in 0..<d {
                        var s = p[d * d + i]
                        for j in 0..<d { s += p[i * d + j] * x[j] }
                        y[(item * d + i) * n + v] = frame.half[i] * s
                    }
                }
            }
        }
        return record(ys, y, inputs: [theta] + (displacement.map { [$0] } ?? [])) { [unowned self] out in
            withGradient(out) { g in
                accumulate(theta) { gt in
                    for item in 0..<ts.batch {
                        var sums = [Double](repeating: 0, count: d * (d + 1))
                        for v in 0..<n {
                            let x = point(item, v)
                            for i in 0..<d {
                                let gi = Double(g[(item * d + i) * n + v] * frame.half[i])
                                for j in 0..<d { sums[i * d + j] += gi * Double(x[j]) }
                                sums[d * d + i] += gi
                            }
                        }
                        for k in sums.indices { gt[item * d * (d + 1) + k] += Float(sums[k]) }
                    }
                }
                guard let displacement else { return }
                withValue(theta) { tv in
                    accumulate(displacement) { gs in
                        for item in 0..<ts.batch {
                            let p = tv + item * d * (d + 1)
                            for v in 0..<n {
                                for j in 0..<d {
                                    var s: Float = 0
                                    for i in 0..<d { s += g[(item * d + i) * n + v] * frame.half[i] * p[i * d + j] }
                                    gs[(item * d + j) * n + v] += s / frame.half[j]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Normalised coordinates of a voxel grid: x̃ = (x − c)/s along each axis, c = (n − 1)/2, s = max(c, 1).
struct AffineFrame {
    let size: SIMD3<Int>
    let centre: SIMD3<Float>, half: SIMD3<Float>

    init(size: SIMD3<Int>) {
        self.size = size
        centre = SIMD3<Float>(size &- 1) / 2
        half = pointwiseMax(centre, SIMD3(repeating: 1))
    }

    /// x̃ of voxel `v` (width fastest).
    @inline(__always) func normalised(_ v: Int) -> SIMD3<Float> {
        let x = v % size.x, y = (v / size.x) % size.y, z = v / (size.x * size.y)
        return (SIMD3<Float>(Float(x), Float(y), Float(z)) - centre) / half
    }

    /// The monomials 1, x̃_i, x̃_i·x̃_j (i ≤ j) of the first `dimension` coordinates, each over the
    /// grid (width fastest), one after another.
    func monomials(dimension d: Int) -> [Float] {
        let n = size.x * size.y * size.z
        var powers = [(Int?, Int?)]([(nil, nil)])
        for i in 0..<d { powers.append((i, nil)) }
        for i in 0..<d { for j in i..<d { powers.append((i, j)) } }
        var values = [Float](repeating: 0, count: powers.count * n)
        for v in 0..<n {
            let x = normalised(v)
            for (m, (i, j)) in powers.enumerated() { values[m * n + v] = (i.map { x[$0] } ?? 1) * (j.map { x[$0] } ?? 1) }
        }
        return values
    }
}
