/// A value recorded on a `Tape`: an index into it.
public struct Variable: Hashable, Sendable {
    public let id: Int
}

/// Reverse-mode differentiation: every operation appends its result and, when any input needs a
/// gradient, the step that carries the result's gradient back to its inputs. `backward(from:)`
/// runs the steps in reverse order. Operations live in extensions (`Tape+Convolution.swift`, …);
/// their kernels work on raw buffers and are parallelised over fixed partitions, so values and
/// gradients are bitwise identical for any thread count.
///
/// ```swift
/// let tape = Tape()
/// let x = tape.parameter(Tensor(shape: TensorShape(channels: 1, height: 8, width: 8)))
/// let loss = tape.meanSquaredError(tape.leakyReLU(x), tape.constant(target))
/// tape.backward(from: loss)
/// let g = tape.gradient(x)      // ∂loss/∂x
/// ```
public final class Tape {
    public private(set) var shapes: [TensorShape] = []
    var values: [[Float]] = []
    var gradients: [[Float]] = []
    var needsGradient: [Bool] = []
    /// Whether a recorded backward step may read the value (it is an input of an operation whose
    /// result needs a gradient).
    var retained: [Bool] = []
    var steps: [(() -> Void)?] = []

    public init() {}

    /// A value that takes no gradient (an image, a label map).
    public func constant(_ tensor: Tensor) -> Variable { append(tensor.shape, tensor.values, needsGradient: false) }

    /// A value whose gradient `backward(from:)` computes (a weight, a bias).
    public func parameter(_ tensor: Tensor) -> Variable { append(tensor.shape, tensor.values, needsGradient: true) }

    public func shape(_ v: Variable) -> TensorShape { shapes[v.id] }
    public func tensor(_ v: Variable) -> Tensor {
        precondition(!values[v.id].isEmpty, "the value of \(v) was released")
        return Tensor(shape: shapes[v.id], values: values[v.id])
    }

    /// Frees an intermediate value no later operation reads, when no gradient will need it either
    /// (inference: nothing takes a gradient, so a pass keeps only the values still to be used).
    /// A value a backward step may read is kept.
    ///
    /// ```swift
    /// let y = tape.convolution(x, weight: w, bias: b)
    /// tape.release(x)    // freed when inferring, kept when training
    /// ```
    public func release(_ v: Variable) {
        guard !needsGradient[v.id], !retained[v.id] else { return }
        values[v.id] = []
    }
    /// The single value of a scalar (a loss).
    public func scalar(_ v: Variable) -> Float { values[v.id][0] }
    public func requiresGradient(_ v: Variable) -> Bool { needsGradient[v.id] }

    /// The gradient of the last `backward(from:)` with respect to `v`; nil if `v` does not influence it.
    public func gradient(_ v: Variable) -> Tensor? {
        gradients[v.id].isEmpty ? nil : Tensor(shape: shapes[v.id], values: gradients[v.id])
    }

    /// Propagates d`loss`/d`loss` = 1 back through every recorded step.
    public func backward(from loss: Variable) {
        precondition(shapes[loss.id].count == 1, "backward starts from a scalar, not \(shapes[loss.id])")
        for i in gradients.indices { gradients[i] = [] }
        gradients[loss.id] = [1]
        for i in stride(from: loss.id, through: 0, by: -1) where !gradients[i].isEmpty {
            steps[i]?()
        }
    }

    /// Records an operation's result; `backward` runs only when an input needs a gradient.
    /// `backward` receives the result, whose gradient `withGradient` reads.
    func record(_ shape: TensorShape, _ result: [Float], inputs: [Variable],
                backward: @escaping (_ result: Variable) -> Void) -> Variable {
        let needs = inputs.contains { needsGradient[$0.id] }
        let v = append(shape, result, needsGradient: needs)
        if needs {
            steps[v.id] = { backward(v) }
            for input in inputs { retained[input.id] = true }
        }
        return v
    }

    private func append(_ shape: TensorShape, _ result: [Float], needsGradient needs: Bool) -> Variable {
        precondition(result.count == shape.count)
        shapes.append(shape)
        values.append(result)
        gradients.append([])
        needsGradient.append(needs)
        retained.append(false)
        steps.append(nil)
        return Variable(id: shapes.count - 1)
    }

    /// Read access to a value's memory.
    func withValue<R>(_ v: Variable, _ body: (UnsafePointer<Float>) -> R) -> R {
        precondition(!values[v.id].isEmpty, "the value of \(v) was released")
        let held = values[v.id]   // a reference, not a copy: lets `body` write other gradients
        return held.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Read access to the gradient arriving at `v` during `backward` (zeros when none arrived).
    func withGradient<R>(_ v: Variable, _ body: (UnsafePointer<Float>) -> R) -> R {
        if gradients[v.id].isEmpty { gradients[v.id] = [Float](repeating: 0, count: shapes[v.id].count) }
        let held = gradients[v.id]
        return held.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Adds into the gradient of an input, if it needs one; the buffer starts at zero.
    func accumulate(_ v: Variable, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        guard needsGradient[v.id] else { return }
        if gradients[v.id].isEmpty { gradients[v.id] = [Float](repeating: 0, count: shapes[v.id].count) }
        gradients[v.id].withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
