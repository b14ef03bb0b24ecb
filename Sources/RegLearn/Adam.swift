import RegOptimize

/// Adam over a list of weight tensors: RegOptimize's `AdamRule` applied to each tensor with its
/// own first and second moment estimates.
///
/// ```swift
/// var adam = Adam(learningRate: 1e-4, shapes: net.weights.map(\.shape))
/// adam.update(&net.weights, gradients: grads)
/// ```
public struct Adam: Sendable {
    public var rule: AdamRule<Float>
    public var learningRate: Float {
        get { rule.learningRate }
        set { rule.learningRate = newValue }
    }
    /// Updates taken so far.
    public var step: Int {
        get { rule.step }
        set { rule.step = newValue }
    }
    /// First and second moment estimates, one per weight tensor.
    public var firstMoments: [[Float]], secondMoments: [[Float]]

    public init(learningRate: Float, shapes: [TensorShape]) {
        rule = AdamRule(learningRate: learningRate)
        firstMoments = shapes.map { [Float](repeating: 0, count: $0.count) }
        secondMoments = firstMoments
    }

    /// One step against the gradients; a missing gradient counts as zero.
    public mutating func update(_ weights: inout [Tensor], gradients: [Tensor?]) {
        precondition(weights.count == firstMoments.count && gradients.count == weights.count)
        let (rate, eps) = rule.nextStep()
        let rule = self.rule
        for k in weights.indices {
            guard let g = gradients[k]?.values else { continue }
            g.withUnsafeBufferPointer { g in
                firstMoments[k].withUnsafeMutableBufferPointer { m in
                    secondMoments[k].withUnsafeMutableBufferPointer { v in
                        weights[k].values.withUnsafeMutableBufferPointer { w in
                            rule.apply(rate: rate, epsilon: eps, parameters: w.baseAddress!, firstMoments: m.baseAddress!,
                                       secondMoments: v.baseAddress!, gradients: g.baseAddress!, count: g.count)
                        }
                    }
                }
            }
        }
    }
}
