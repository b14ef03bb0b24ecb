import RegCore

/// A function of a fixed and a moving value, specialised into the sample loops (no call per voxel).
protocol PairFunction {
    func callAsFunction(_ f: Float, _ m: Float) -> Double
}

struct SquaredDifference: PairFunction {
    @inline(__always) func callAsFunction(_ f: Float, _ m: Float) -> Double { let d = Double(m - f); return d * d }
}

struct AbsoluteDifference: PairFunction {
    @inline(__always) func callAsFunction(_ f: Float, _ m: Float) -> Double { abs(Double(m - f)) }
}

/// `∂/∂m` of the mean of squares: `2(m − f)/N`.
struct MeanSquaresWeight: PairFunction {
    let scale: Double
    @inline(__always) func callAsFunction(_ f: Float, _ m: Float) -> Double { scale * Double(m - f) }
}

/// `∂/∂m` of the mean absolute difference: `sign(m − f)/N`.
struct AbsoluteDifferenceWeight: PairFunction {
    let scale: Double
    @inline(__always) func callAsFunction(_ f: Float, _ m: Float) -> Double {
        m > f ? scale : (m < f ? -scale : 0)
    }
}

/// `∂C/∂mᵢ` of each metric, as a value type the gradient loop is specialised for.
enum SampleWeights {
    case meanSquares(MeanSquaresWeight)
    case absoluteDifference(AbsoluteDifferenceWeight)
    case correlation(CorrelationWeight)
    case histogram(HistogramWeight)

    /// `(Σ wᵢ gᵢ pᵢᵀ, Σ wᵢ gᵢ)` over valid samples, with `gᵢ` the moving index gradient and
    /// `pᵢ` the centred fixed position.
    func accumulate(fixed: [Float], moving: [Float], gradients: [SIMD3<Float>], positions: [SIMD3<Float>]) -> (Matrix3, SIMD3<Double>) {
        switch self {
        case .meanSquares(let w): return accumulateGradient(w, fixed, moving, gradients, positions)
        case .absoluteDifference(let w): return accumulateGradient(w, fixed, moving, gradients, positions)
        case .correlation(let w): return accumulateGradient(w, fixed, moving, gradients, positions)
        case .histogram(let w): return accumulateGradient(w, fixed, moving, gradients, positions)
        }
    }
}

/// `Σ fn(fᵢ, mᵢ)` over samples whose moving value is not NaN, in fixed chunk order.
func sumOverValid<F: PairFunction>(_ fn: F, _ fixed: [Float], _ moving: [Float]) -> Double {
    fixed.withUnsafeBufferPointer { f in
        moving.withUnsafeBufferPointer { m in
            let fs = UnsafeSendable(f), ms = UnsafeSendable(m)
            return parallelReduce(count: f.count, chunkSize: 8192, initial: 0.0, combine: +) { range in
                var s = 0.0
                for i in range {
                    let mv = ms.value[i]
                    if !mv.isNaN { s += fn(fs.value[i], mv) }
                }
                return s
            }
        }
    }
}

struct GradientSums {
    var g = Matrix3.diagonal(.zero)
    var h = SIMD3<Double>.zero
    static func + (a: GradientSums, b: GradientSums) -> GradientSums { GradientSums(g: a.g + b.g, h: a.h + b.h) }
}

func accumulateGradient<F: PairFunction>(_ weight: F, _ fixed: [Float], _ moving: [Float], _ gradients: [SIMD3<Float>],
                                         _ positions: [SIMD3<Float>]) -> (Matrix3, SIMD3<Double>) {
    let sums = fixed.withUnsafeBufferPointer { f in
        moving.withUnsafeBufferPointer { m in
            gradients.withUnsafeBufferPointer { gr in
                positions.withUnsafeBufferPointer { ps in
                    let fs = UnsafeSendable(f), ms = UnsafeSendable(m), gs = UnsafeSendable(gr), pp = UnsafeSendable(ps)
                    return parallelReduce(count: f.count, chunkSize: 8192, initial: GradientSums(), combine: +) { range in
                        var r0 = SIMD3<Double>.zero, r1 = SIMD3<Double>.zero, r2 = SIMD3<Double>.zero, h = SIMD3<Double>.zero
                        for i in range {
                            let mv = ms.value[i]
                            if mv.isNaN { continue }
                            let w = weight(fs.value[i], mv)
                            let wg = w * SIMD3<Double>(gs.value[i])
                            let p = SIMD3<Double>(pp.value[i])
                            r0 += wg.x * p; r1 += wg.y * p; r2 += wg.z * p
                            h += wg
                        }
                        return GradientSums(g: Matrix3(rows: r0, r1, r2), h: h)
                    }
                }
            }
        }
    }
    return (sums.g, sums.h)
}
