import RegCore

/// Pearson's correlation of two equally long value lists (NaN entries of `b` skipped), summed in
/// fixed chunks so the result does not depend on the thread count.
///
/// ```swift
/// let r = pearsonCorrelation(fixed.voxels, warped.voxels)   // images on one grid
/// ```
public func pearsonCorrelation(_ a: some ContiguousValues<Float>, _ b: some ContiguousValues<Float>) -> Double {
    precondition(a.count == b.count)
    return CorrelationSums(fixed: a, moving: b).correlation
}

/// The sums behind the global Pearson correlation of fixed and moving samples.
struct CorrelationSums {
    var n = 0.0, f = 0.0, m = 0.0, ff = 0.0, mm = 0.0, fm = 0.0

    init() {}

    init(fixed: some ContiguousValues<Float>, moving: some ContiguousValues<Float>) {
        self = fixed.withUnsafeBufferPointer { fb in
            moving.withUnsafeBufferPointer { mb in
                let fs = UnsafeSendable(fb), ms = UnsafeSendable(mb)
                return parallelReduce(count: fb.count, chunkSize: 8192, initial: CorrelationSums(), combine: +) { range in
                    var s = CorrelationSums()
                    for i in range {
                        let mv = ms.value[i]
                        if mv.isNaN { continue }
                        let a = Double(fs.value[i]), b = Double(mv)
                        s.n += 1; s.f += a; s.m += b; s.ff += a * a; s.mm += b * b; s.fm += a * b
                    }
                    return s
                }
            }
        }
    }

    static func + (a: CorrelationSums, b: CorrelationSums) -> CorrelationSums {
        var s = a
        s.n += b.n; s.f += b.f; s.m += b.m; s.ff += b.ff; s.mm += b.mm; s.fm += b.fm
        return s
    }

    var centred: (sff: Double, smm: Double, sfm: Double) {
        (max(0, ff - f * f / n), max(0, mm - m * m / n), fm - f * m / n)
    }

    /// Pearson's ρ, or 0 when either side is constant.
    var correlation: Double {
        let c = centred
        let d = (c.sff * c.smm).squareRoot()
        return d > 0 ? c.sfm / d : 0
    }

    /// `∂(−ρ)/∂mᵢ = −[(fᵢ − f̄)/√(S_ff S_mm) − ρ (mᵢ − m̄)/S_mm]`.
    var weight: CorrelationWeight {
        let c = centred
        let d = (c.sff * c.smm).squareRoot()
        guard d > 0 else { return CorrelationWeight(fMean: 0, mMean: 0, a: 0, b: 0) }
        return CorrelationWeight(fMean: f / n, mMean: m / n, a: -1 / d, b: correlation / c.smm)
    }
}

struct CorrelationWeight: PairFunction {
    let fMean: Double, mMean: Double, a: Double, b: Double
    @inline(__always) func callAsFunction(_ f: Float, _ m: Float) -> Double {
        a * (Double(f) - fMean) + b * (Double(m) - mMean)
    }
}
