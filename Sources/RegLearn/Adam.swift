import Foundation

/// Adam (Kingma & Ba 2015) with bias correction, over a list of weight tensors.
///
/// ```swift
/// var adam = Adam(learningRate: 1e-4, shapes: net.weights.map(\.shape))
/// adam.update(&net.weights, gradients: grads)
/// ```
public struct Adam: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    /// Updates taken so far.
    public var step = 0
    /// First and second moment estimates, one per weight tensor.
    public var firstMoments: [[Float]], secondMoments: [[Float]]

    public init(learningRate: Float, shapes: [TensorShape]) {
        self.learningRate = learningRate
        firstMoments = shapes.map { [Float](repeating: 0, count: $0.count) }
        secondMoments = firstMoments
    }

    /// One step against the gradients; a missing gradient counts as zero.
    public mutating func update(_ weights: inout [Tensor], gradients: [Tensor?]) {
        precondition(weights.count == firstMoments.count && gradients.count == weights.count)
        step += 1
        let c1 = 1 - pow(beta1, Float(step)), c2 = 1 - pow(beta2, Float(step))
        let rate = learningRate * c2.squareRoot() / c1, eps = epsilon * c2.squareRoot()
        for k in weights.indices {
            guard let g = gradients[k]?.values else { continue }
            let (b1, b2) = (beta1, beta2)
            firstMoments[k].withUnsafeMutableBufferPointer { m in
                secondMoments[k].withUnsafeMutableBufferPointer { v in
                    weights[k].values.withUnsafeMutableBufferPointer { w in
                        for i in 0..<g.count {
                            m[i] = b1 * m[i] + (1 - b1) * g[i]
                            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                            w[i] -= rate * m[i] / (v[i].squareRoot() + eps)
                        }
                    }
                }
            }
        }
    }
}
