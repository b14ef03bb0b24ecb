import RegCore
import RegKernels

/// Penalties on a B-spline deformation, evaluated exactly at the lattice's knots inside the
/// domain and averaged over them; each is dimensionless, so one weight suits every level.
///
/// - `bending`: Σ of squared second derivatives `∂²u/∂xₐ∂x_b` (Rueckert's bending energy),
///   times the squared mean control spacing.
/// - `diffusion`: Σ of squared first derivatives `‖∂u/∂x‖²` (membrane energy).
/// - `folding`: `(τ − det J)² / τ²` where `det J < τ = 0.1`, with `J = I + ∂u/∂x` in physical
///   space: zero for any deformation that keeps every knot's volume above 10 %.
///
/// ```swift
/// let penalty = BSplineRegularization(bending: 0.01, folding: 1)
/// let (value, gradient) = grid.regularization(penalty)   // gradient on the lattice
/// ```
public struct BSplineRegularization: Equatable, Sendable, Codable {
    public var bending: Double
    public var diffusion: Double
    public var folding: Double

    public init(bending: Double = 0, diffusion: Double = 0, folding: Double = 0) {
        self.bending = bending
        self.diffusion = diffusion
        self.folding = folding
    }

    /// The smallest det J at a knot that the folding penalty leaves alone.
    public static let foldingThreshold = 0.1

    var isZero: Bool { bending == 0 && diffusion == 0 && folding == 0 }
}

extension BSplineGrid {
    /// The weighted penalties and their gradient with respect to the coefficients.
    public func regularization(_ weights: BSplineRegularization) -> (value: Double, gradient: VectorField) {
        var gradient = VectorField(geometry: lattice)
        if weights.isZero { return (0, gradient) }
        let stencils = KnotStencils(dimension: lattice.dimension)
        let size = lattice.size
        let lo = SIMD3(size.x > 1 ? 1 : 0, size.y > 1 ? 1 : 0, size.z > 1 ? 1 : 0)
        let hi = SIMD3(size.x > 1 ? size.x - 2 : 0, size.y > 1 ? size.y - 2 : 0, size.z > 1 ? size.z - 2 : 0)
        let knots = Double((hi.x - lo.x + 1) * (hi.y - lo.y + 1) * (hi.z - lo.z + 1))
        let h = lattice.spacing
        let meanSpacing = (0..<lattice.dimension).map { h[$0] }.reduce(0, +) / Double(lattice.dimension)
        let toPhysical = Matrix3.diagonal(1 / h) * lattice.direction.transposed   // ∂t/∂x
        // Per knot: the derivatives, the penalty, and its sensitivity to each derivative.
        let stride = KnotStencils.operators * 3
        var sensitivity = [Double](repeating: 0, count: stride * lattice.voxelCount)
        let value = sensitivity.withUnsafeMutableBufferPointer { sb in
            coefficients.vectors.withUnsafeBufferPointer { cb in
                let sp = UnsafeSendable(sb.baseAddress!), cp = UnsafeSendable(cb.baseAddress!)
                return parallelReduce(count: hi.z - lo.z + 1, chunkSize: 1, initial: 0.0, combine: +) { zs in
                    let d = UnsafeMutablePointer<Double>.allocate(capacity: stride)
                    defer { d.deallocate() }
                    var total = 0.0
                    for z in zs.lowerBound + lo.z..<zs.upperBound + lo.z {
                        for y in lo.y...hi.y {
                            for x in lo.x...hi.x {
                                let sens = sp.value + stride * (x + size.x * (y + size.y * z))
                                stencils.derivatives(cp.value, at: SIMD3(x, y, z), size: size, into: d)
                                total += Self.penalty(d, weights: weights, spacing: h, meanSpacing: meanSpacing,
                                                      toPhysical: toPhysical, sensitivity: sens)
                                for k in 0..<stride { sens[k] /= knots }
                            }
                        }
                    }
                    return total
                }
            }
        } / knots
        // Gather: each coefficient collects the sensitivities of the knots whose stencils reach it.
        gradient.vectors.withUnsafeMutableBufferPointer { gb in
            let gp = UnsafeSendable(gb.baseAddress!)
            sensitivity.withUnsafeBufferPointer { sb in
                parallelFor(count: size.z) { zs in
                    for z in zs {
                        for y in 0..<size.y {
                            for x in 0..<size.x {
                                let g = stencils.gather(sb, at: SIMD3(x, y, z), size: size, low: lo, high: hi)
                                let o = 3 * (x + size.x * (y + size.y * z))
                                gp.value[o] = Float(g.x); gp.value[o + 1] = Float(g.y); gp.value[o + 2] = Float(g.z)
                            }
                        }
                    }
                }
            }
        }
        return (value, gradient)
    }

    /// The weighted penalty at one knot from its derivatives `d` (operator-major, 3 components
    /// each), adding ∂penalty/∂d into `sensitivity` (zero on entry).
    static func penalty(_ d: UnsafePointer<Double>, weights: BSplineRegularization, spacing h: SIMD3<Double>, meanSpacing: Double,
                        toPhysical p: Matrix3, sensitivity: UnsafeMutablePointer<Double>) -> Double {
        var value = 0.0
        let invH = 1 / h
        if weights.diffusion > 0 {
            for a in 0..<3 {
                for c in 0..<3 {
                    let g = d[3 * a + c] * invH[a]
                    value += weights.diffusion * g * g
                    sensitivity[3 * a + c] += weights.diffusion * 2 * g * invH[a]
                }
            }
        }
        if weights.bending > 0 {
            let m2 = meanSpacing * meanSpacing
            for (op, (a, b)) in KnotStencils.secondDerivativeAxes.enumerated() {
                let multiplicity = a == b ? 1.0 : 2.0
                let scale = invH[a] * invH[b]
                for c in 0..<3 {
                    let s = d[3 * (3 + op) + c] * scale
                    value += weights.bending * multiplicity * m2 * s * s
                    sensitivity[3 * (3 + op) + c] += weights.bending * multiplicity * m2 * 2 * s * scale
                }
            }
        }
        if weights.folding > 0 {
            // J = I + G·P with G[c][a] = ∂u_c/∂t_a and P = ∂t/∂x.
            let g = Matrix3(rows: SIMD3(d[0], d[3], d[6]), SIMD3(d[1], d[4], d[7]), SIMD3(d[2], d[5], d[8]))
            let j = Matrix3.identity + g * p
            let det = j.determinant
            let tau = BSplineRegularization.foldingThreshold
            if det < tau {
                let excess = tau - det
                value += weights.folding * excess * excess / (tau * tau)
                // ∂det/∂G = cof(J)·Pᵀ; ∂penalty/∂det = −2·excess/τ².
                let dG = j.cofactors * p.transposed
                let factor = -weights.folding * 2 * excess / (tau * tau)
                for a in 0..<3 { for c in 0..<3 { sensitivity[3 * a + c] += factor * dG[c, a] } }
            }
        }
        return value
    }
}

/// The 27-point knot stencils of the first derivatives (3 operators) and second derivatives
/// (6 operators: xx, yy, zz, xy, xz, yz) of a cubic B-spline at its knots, in lattice units.
struct KnotStencils {
    static let operators = 9
    static let secondDerivativeAxes = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
    /// weights[operator · 27 + offsetIndex]; offsets (dx, dy, dz) ∈ {−1, 0, 1}³, x fastest.
    let weights: [Double]

    init(dimension: Int) {
        let value = [1.0 / 6, 4.0 / 6, 1.0 / 6], first = [-0.5, 0, 0.5], second = [1.0, -2, 1]
        let flat = [0.0, 1, 0], none = [0.0, 0, 0]
        func axisWeights(_ axis: Int, order: Int) -> [Double] {
            if axis == 2 && dimension == 2 { return order == 0 ? flat : none }
            return order == 0 ? value : (order == 1 ? first : second)
        }
        var orders: [SIMD3<Int>] = [SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1)]
        for (a, b) in Self.secondDerivativeAxes {
            var o = SIMD3<Int>.zero
            o[a] += 1; o[b] += 1
            orders.append(o)
        }
        var w = [Double](repeating: 0, count: Self.operators * 27)
        for (op, order) in orders.enumerated() {
            let (wx, wy, wz) = (axisWeights(0, order: order.x), axisWeights(1, order: order.y), axisWeights(2, order: order.z))
            for k in 0..<3 { for j in 0..<3 { for i in 0..<3 { w[op * 27 + i + 3 * j + 9 * k] = wx[i] * wy[j] * wz[k] } } }
        }
        weights = w
    }

    /// The 9 derivatives (3 components each) of the coefficients at an interior knot, into `d`.
    func derivatives(_ c: UnsafePointer<Float>, at knot: SIMD3<Int>, size: SIMD3<Int>, into d: UnsafeMutablePointer<Double>) {
        d.update(repeating: 0, count: Self.operators * 3)
        for k in -1...1 where knot.z + k >= 0 && knot.z + k < size.z {
            for j in -1...1 {
                for i in -1...1 {
                    let o = 3 * ((knot.x + i) + size.x * ((knot.y + j) + size.y * (knot.z + k)))
                    let v = SIMD3<Double>(Double(c[o]), Double(c[o + 1]), Double(c[o + 2]))
                    let s = (i + 1) + 3 * (j + 1) + 9 * (k + 1)
                    for op in 0..<Self.operators {
                        let w = weights[op * 27 + s]
                        if w == 0 { continue }
                        d[3 * op] += w * v.x; d[3 * op + 1] += w * v.y; d[3 * op + 2] += w * v.z
                    }
                }
            }
        }
    }

    /// Σ over the knots `n` around `point` of weight(point − n) · sensitivity(n): the transpose of `derivatives`.
    func gather(_ sensitivity: UnsafeBufferPointer<Double>, at point: SIMD3<Int>, size: SIMD3<Int>,
                low: SIMD3<Int>, high: SIMD3<Int>) -> SIMD3<Double> {
        var g = SIMD3<Double>.zero
        let stride = Self.operators * 3
        for k in -1...1 {
            let nz = point.z - k
            guard nz >= low.z, nz <= high.z else { continue }
            for j in -1...1 {
                let ny = point.y - j
                guard ny >= low.y, ny <= high.y else { continue }
                for i in -1...1 {
                    let nx = point.x - i
                    guard nx >= low.x, nx <= high.x else { continue }
                    let base = stride * (nx + size.x * (ny + size.y * nz))
                    let s = (i + 1) + 3 * (j + 1) + 9 * (k + 1)
                    for op in 0..<Self.operators {
                        let w = weights[op * 27 + s]
                        if w == 0 { continue }
                        let o = base + 3 * op
                        let v = SIMD3<Double>(sensitivity[o], sensitivity[o + 1], sensitivity[o + 2])
                        g += w * v
                    }
                }
            }
        }
        return g
    }
}
