import Foundation
import RegCore

/// How intensities fall into joint-histogram bins (Mattes et al. 2003, as in ITK):
/// the fixed value into one of `bins` boxes (zero-order Parzen window); the moving value at the
/// continuous bin position `η = 2 + (m − min)/width ∈ [2, bins − 3]`, spread over 4 bins by
/// the cubic B-spline `β₃(κ − η)`, which sums to 1 and is smooth in `m`.
struct JointHistogramBinning: Sendable {
    let bins: Int
    let fixedMin: Float, fixedWidth: Float
    let movingMin: Double, movingWidth: Double

    init(bins: Int, fixed: some Sequence<Float>, moving: some Sequence<Float>) {
        self.bins = bins
        let (fLo, fHi) = Self.range(fixed), (mLo, mHi) = Self.range(moving)
        fixedMin = fLo
        fixedWidth = fHi > fLo ? (fHi - fLo) / Float(bins) : 1
        movingMin = Double(mLo)
        movingWidth = mHi > mLo ? Double(mHi - mLo) / Double(bins - 5) : 1
    }

    static func range(_ v: some Sequence<Float>) -> (Float, Float) {
        var lo = Float.infinity, hi = -Float.infinity
        for x in v where x.isFinite { lo = min(lo, x); hi = max(hi, x) }
        return lo <= hi ? (lo, hi) : (0, 0)
    }

    @inline(__always) func fixedBin(_ f: Float) -> Int {
        let b = Int(max(0, (f - fixedMin) / fixedWidth))
        return min(b, bins &- 1)
    }

    @inline(__always) func movingPosition(_ m: Float) -> Double {
        min(max(2 + (Double(m) - movingMin) / movingWidth, 2), Double(bins - 3))
    }

    /// The joint histogram of the valid sample pairs, normalised to probabilities.
    func joint(fixed: [Float], moving: [Float]) -> JointHistogram {
        let b = bins
        let counts = fixed.withUnsafeBufferPointer { fb in
            moving.withUnsafeBufferPointer { mb in
                let fs = UnsafeSendable(fb), ms = UnsafeSendable(mb)
                return parallelReduce(count: fb.count, chunkSize: 32768, initial: [Double](repeating: 0, count: b * b),
                                      combine: { a, c in zip(a, c).map(+) }) { range in
                    var h = [Double](repeating: 0, count: b * b)
                    h.withUnsafeMutableBufferPointer { hp in
                        for i in range {
                            let mv = ms.value[i]
                            if mv.isNaN { continue }
                            let row = fixedBin(fs.value[i]) &* b
                            let eta = movingPosition(mv)
                            let k0 = Int(eta) &- 1
                            for a in 0..<4 { hp[row &+ k0 &+ a] += cubicBSpline(Double(k0 &+ a) - eta) }
                        }
                    }
                    return h
                }
            }
        }
        return JointHistogram(bins: b, counts: counts)
    }
}

/// A normalised joint histogram `p(ι, κ)` (fixed bin ι, moving bin κ).
struct JointHistogram {
    let bins: Int
    let p: [Double]
    let fixedMarginal: [Double], movingMarginal: [Double]

    init(bins: Int, counts: [Double]) {
        self.bins = bins
        let total = counts.reduce(0, +)
        let q = counts.map { total > 0 ? $0 / total : 0 }
        p = q
        fixedMarginal = (0..<bins).map { i in (0..<bins).reduce(0) { $0 + q[i * bins + $1] } }
        movingMarginal = (0..<bins).map { k in (0..<bins).reduce(0) { $0 + q[$1 * bins + k] } }
    }

    /// The cost and the table `c(ι, κ)` with `∂C/∂mᵢ = (1/(N·width)) Σ_κ β₃′(κ − ηᵢ) c(ιᵢ, κ)`.
    /// Mattes MI: `C = −MI`, `c = log(p / (p_F p_M))`. Normalised MI: `C = −(H_F + H_M)/H_FM`,
    /// `c = (Y log p − J log p_M)/J²` with `Y = H_F + H_M`, `J = H_FM`.
    func costAndTable(normalized: Bool) -> (Double, [Double]) {
        let b = bins
        func entropy(_ q: [Double]) -> Double { -q.reduce(0) { $0 + ($1 > 0 ? $1 * Foundation.log($1) : 0) } }
        if !normalized {
            var mi = 0.0
            var table = [Double](repeating: 0, count: b * b)
            for i in 0..<b { for k in 0..<b {
                let v = p[i * b + k]
                guard v > 0 else { continue }
                let l = Foundation.log(v / (fixedMarginal[i] * movingMarginal[k]))
                mi += v * l
                table[i * b + k] = l
            } }
            return (-mi, table)
        }
        let hf = entropy(fixedMarginal), hm = entropy(movingMarginal), hj = entropy(p)
        let y = hf + hm
        guard hj > 0 else { return (-1, [Double](repeating: 0, count: b * b)) }
        var table = [Double](repeating: 0, count: b * b)
        for i in 0..<b { for k in 0..<b {
            let v = p[i * b + k], pm = movingMarginal[k]
            guard v > 0, pm > 0 else { continue }
            table[i * b + k] = (y * Foundation.log(v) - hj * Foundation.log(pm)) / (hj * hj)
        } }
        return (-y / hj, table)
    }
}

struct HistogramWeight: PairFunction {
    let binning: JointHistogramBinning
    let table: [Double]
    let scale: Double

    @inline(__always) func callAsFunction(_ f: Float, _ m: Float) -> Double {
        let b = binning.bins
        let row = binning.fixedBin(f) &* b
        let raw = 2 + (Double(m) - binning.movingMin) / binning.movingWidth
        // Clamped to the histogram's range, the moving value no longer moves the histogram.
        guard raw >= 2, raw <= Double(b - 3) else { return 0 }
        let k0 = Int(raw) &- 1
        var s = 0.0
        table.withUnsafeBufferPointer { t in
            for a in 0..<4 { s += cubicBSplineDerivative(Double(k0 &+ a) - raw) * t[row &+ k0 &+ a] }
        }
        return scale * s
    }
}

/// The cubic B-spline `β₃(u)`, supported on (−2, 2).
@inline(__always) func cubicBSpline(_ u: Double) -> Double {
    let a = abs(u)
    if a < 1 { return 2.0 / 3.0 - a * a + 0.5 * a * a * a }
    if a < 2 { let t = 2 - a; return t * t * t / 6 }
    return 0
}

/// `β₃′(u)`.
@inline(__always) func cubicBSplineDerivative(_ u: Double) -> Double {
    let a = abs(u)
    if a < 1 { return -2 * u + 1.5 * u * a }
    if a < 2 { let t = 2 - a; return u > 0 ? -0.5 * t * t : 0.5 * t * t }
    return 0
}
