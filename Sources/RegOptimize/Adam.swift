import Foundation

/// The number types Adam runs in: `Float` for network weights, `Double` for transform parameters.
public protocol AdamScalar: BinaryFloatingPoint, Sendable {
    /// `base` raised to `exponent` (the C library's `pow`/`powf`).
    static func power(_ base: Self, _ exponent: Self) -> Self
}

extension Float: AdamScalar {
    public static func power(_ base: Float, _ exponent: Float) -> Float { pow(base, exponent) }
}

extension Double: AdamScalar {
    public static func power(_ base: Double, _ exponent: Double) -> Double { pow(base, exponent) }
}

/// Adam (Kingma & Ba 2015) with bias correction: the one update rule behind the linear stages'
/// `optimizer: adam` and network training (RegLearn's `Adam` keeps one pair of moment buffers
/// per weight tensor and applies this rule to each).
///
/// ```swift
/// var adam = AdamRule<Double>(learningRate: 0.5)
/// let (rate, epsilon) = adam.nextStep()
/// adam.apply(rate: rate, epsilon: epsilon, parameters: p, firstMoments: m, secondMoments: v, gradients: g, count: n)
/// ```
public struct AdamRule<Scalar: AdamScalar>: Sendable {
    public var learningRate: Scalar
    public var beta1: Scalar = 0.9, beta2: Scalar = 0.999, epsilon: Scalar = 1e-8
    /// Updates taken so far.
    public var step = 0

    public init(learningRate: Scalar) { self.learningRate = learningRate }

    /// Counts one more step and returns its bias-corrected rate `α·√(1 − β₂ᵗ)/(1 − β₁ᵗ)` and
    /// epsilon `ε·√(1 − β₂ᵗ)`, so that `apply` needs no per-parameter correction.
    public mutating func nextStep() -> (rate: Scalar, epsilon: Scalar) {
        step += 1
        let c1 = 1 - Scalar.power(beta1, Scalar(step)), c2 = 1 - Scalar.power(beta2, Scalar(step))
        return (learningRate * c2.squareRoot() / c1, epsilon * c2.squareRoot())
    }

    /// Moves `count` parameters against their gradients, updating the moment estimates.
    @inlinable
    public func apply(rate: Scalar, epsilon: Scalar, parameters w: UnsafeMutablePointer<Scalar>, firstMoments m: UnsafeMutablePointer<Scalar>,
                      secondMoments v: UnsafeMutablePointer<Scalar>, gradients g: UnsafePointer<Scalar>, count: Int) {
        let (b1, b2) = (beta1, beta2)
        for i in 0..<count {
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            w[i] -= rate * m[i] / (v[i].squareRoot() + epsilon)
        }
    }
}
