import Foundation

/// Student's t distribution, for turning the t-score of a new observation against a small normative
/// sample into the z-score with the same tail probability.
///
/// ```swift
/// let p = StudentT.twoSidedTail(3, degreesOfFreedom: 5)     // 0.030
/// let z = StudentT.equivalentZ(3, degreesOfFreedom: 5)      // 2.17
/// ```
public enum StudentT {
    /// P(|T| > |t|) for `degreesOfFreedom` ν: the regularised incomplete beta I_{ν/(ν+t²)}(ν/2, 1/2).
    public static func twoSidedTail(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        guard t.isFinite else { return t.isNaN ? .nan : 0 }
        return incompleteBeta(nu / (nu + t * t), a: nu / 2, b: 0.5)
    }

    /// The z with the same two-sided tail as `t` under ν degrees of freedom, with t's sign.
    public static func equivalentZ(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        let p = twoSidedTail(t, degreesOfFreedom: nu)
        guard p > 0 else { return t > 0 ? 38 : -38 }
        return (t < 0 ? -1 : 1) * normalUpperQuantile(p / 2)
    }

    /// z with P(Z > z) = q, for 0 < q ≤ 0.5 (Acklam's rational approximation, then one Halley step on erfc).
    static func normalUpperQuantile(_ q: Double) -> Double {
        let p = min(max(q, 1e-300), 0.5)
        var z: Double
        if p > 0.02425 {
            let r = 0.5 - p, s = r * r
            z = r * polynomial([-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690, -30.66479806614716, 2.506628277459239], s)
                / polynomial([-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572, 1], s)
        } else {
            let r = (-2 * Foundation.log(p)).squareRoot()
            z = -polynomial([-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783], r)
                / polynomial([7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416, 1], r)
        }
        // P(Z > z) − q, refined once (Halley).
        let e = 0.5 * erfc(z / 2.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * Foundation.exp(z * z / 2)
        z += u / (1 + z * u / 2)
        return z
    }

    /// Σ cᵢ x^(n−i) by Horner's rule, highest power first.
    static func polynomial(_ coefficients: [Double], _ x: Double) -> Double {
        coefficients.reduce(0) { $0 * x + $1 }
    }

    /// The regularised incomplete beta I_x(a, b) by its continued fraction (modified Lentz).
    static func incompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        if x > (a + 1) / (a + b + 2) { return 1 - incompleteBeta(1 - x, a: b, b: a) }
        let logBeta: Double = lgamma(a) + lgamma(b) - lgamma(a + b)
        let logFront: Double = a * Foundation.log(x) + b * Foundation.log(1 - x) - logBeta
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        d = 1 / (abs(d) < tiny ? tiny : d)
        var f = d
        for m in 1...300 {
            let m = Double(m)
            let even: Double = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            let odd: Double = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            for numerator in [even, odd] {
                d = 1 + numerator * d
                d = 1 / (abs(d) < tiny ? tiny : d)
                c = 1 + numerator / c
                if abs(c) < tiny { c = tiny }
                f *= c * d
            }
            if abs(c * d - 1) < 1e-15 { break }
        }
        return Foundation.exp(logFront) * f / a
    }
}
