#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gradient-based minimisers over scaled parameters.
///
/// Parameters are optimised as `φₖ = θₖ · scaleₖ` (scales from physical shifts: a unit of φ
/// moves the image by about 1 mm), so one step length suits rotations and translations alike.
///
/// ```swift
/// let optimizer = Optimizer(.regularStepGradientDescent(maxStep: 2, minStep: 0.01, relaxation: 0.5), iterations: 100)
/// let result = try optimizer.minimize(from: start, scales: scales) { theta in
///     let r = try metric.evaluate(transform(theta)); return (r.value, r.gradient)
/// }
/// ```
public struct Optimizer: Equatable, Sendable, Codable {
    public enum Method: Equatable, Sendable, Codable {
        /// ITK's regular-step gradient descent: steps of fixed length (in scaled units, ≈ mm)
        /// along the negative gradient, multiplied by `relaxation` whenever the gradient turns
        /// back; stops when the step falls below `minStep`.
        case regularStepGradientDescent(maxStep: Double, minStep: Double, relaxation: Double)
        /// Adam (Kingma & Ba) with the usual β₁ = 0.9, β₂ = 0.999.
        case adam(learningRate: Double)
        /// Limited-memory BFGS with a backtracking (Armijo) line search; best with full or grid sampling.
        case lbfgs(memory: Int, maxStep: Double)
        /// L-BFGS for many parameters of one kind (B-spline coefficients in mm): a step moves no
        /// single parameter by more than `maxStep`, and the first step (and any after a reset
        /// to steepest descent) moves the parameter with the largest gradient by exactly that.
        case lbfgsBoundedChange(memory: Int, maxStep: Double)
    }

    public var method: Method
    public var iterations: Int
    public var convergence: ConvergenceMonitor

    public init(_ method: Method, iterations: Int, convergence: ConvergenceMonitor = ConvergenceMonitor()) {
        self.method = method
        self.iterations = iterations
        self.convergence = convergence
    }

    public enum StopReason: String, Sendable, Codable {
        case iterations, converged, stepTooSmall, zeroGradient, lineSearchFailed
    }

    public struct Result: Sendable {
        /// The best parameters seen (unscaled).
        public var parameters: [Double]
        public var value: Double
        /// Cost evaluations made.
        public var evaluations: Int
        public var stopReason: StopReason
        /// The cost at each evaluation.
        public var history: [Double]
    }

    /// Minimises `cost` (value and gradient with respect to the unscaled parameters).
    public func minimize(from start: [Double], scales: [Double],
                         _ cost: ([Double]) throws -> (Double, [Double])) throws -> Result {
        precondition(start.count == scales.count)
        // No iterations keeps the start (a landmark or moments fit alone), with its cost measured once.
        guard iterations > 0 else {
            let (v, _) = try cost(start)
            return Result(parameters: start, value: v, evaluations: 1, stopReason: .iterations, history: [v])
        }
        var tracker = Tracker(monitor: convergence)
        func scaledCost(_ phi: [Double]) throws -> (Double, [Double]) {
            let (v, g) = try cost(zip(phi, scales).map { $0 / $1 })
            tracker.record(v, phi)
            return (v, zip(g, scales).map { $0 / $1 })
        }
        var phi = zip(start, scales).map { $0 * $1 }
        var reason = StopReason.iterations
        switch method {
        case let .regularStepGradientDescent(maxStep, minStep, relaxation):
            var step = maxStep
            var previous: [Double]?
            while tracker.evaluations < iterations {
                let (_, g) = try scaledCost(phi)
                if tracker.converged { reason = .converged; break }
                if let previous, dot(previous, g) < 0 { step *= relaxation }
                if step < minStep { reason = .stepTooSmall; break }
                let norm = dot(g, g).squareRoot()
                guard norm > 0, norm.isFinite else { reason = .zeroGradient; break }
                phi = zip(phi, g).map { $0 - step * $1 / norm }
                previous = g
            }
        case let .adam(rate):
            var m = [Double](repeating: 0, count: phi.count), v = m
            var adam = AdamRule<Double>(learningRate: rate)
            while tracker.evaluations < iterations {
                let (_, g) = try scaledCost(phi)
                if tracker.converged { reason = .converged; break }
                let (r, e) = adam.nextStep()
                phi.withUnsafeMutableBufferPointer { p in
                    m.withUnsafeMutableBufferPointer { m in
                        v.withUnsafeMutableBufferPointer { v in
                            g.withUnsafeBufferPointer { g in
                                adam.apply(rate: r, epsilon: e, parameters: p.baseAddress!, firstMoments: m.baseAddress!,
                                           secondMoments: v.baseAddress!, gradients: g.baseAddress!, count: g.count)
                            }
                        }
                    }
                }
            }
        case let .lbfgs(memory, maxStep):
            reason = try lbfgs(&phi, memory: memory, maxStep: maxStep, boundedChange: false,
                               status: { (tracker.evaluations, tracker.converged) }, scaledCost)
        case let .lbfgsBoundedChange(memory, maxStep):
            reason = try lbfgs(&phi, memory: memory, maxStep: maxStep, boundedChange: true,
                               status: { (tracker.evaluations, tracker.converged) }, scaledCost)
        }
        return Result(parameters: zip(tracker.bestPhi ?? phi, scales).map { $0 / $1 }, value: tracker.best,
                      evaluations: tracker.evaluations, stopReason: reason, history: tracker.history)
    }

    private func lbfgs(_ phi: inout [Double], memory: Int, maxStep: Double, boundedChange: Bool,
                       status: () -> (evaluations: Int, converged: Bool),
                       _ cost: ([Double]) throws -> (Double, [Double])) throws -> StopReason {
        var (f, g) = try cost(phi)
        var s: [[Double]] = [], y: [[Double]] = []
        while status().evaluations < iterations {
            if status().converged { return .converged }
            // Two-loop recursion: d = −H·g.
            var q = g
            var alphas: [Double] = []
            for (sk, yk) in zip(s, y).reversed() {
                let a = dot(sk, q) / dot(yk, sk)
                alphas.append(a)
                q = zip(q, yk).map { $0 - a * $1 }
            }
            if let sl = s.last, let yl = y.last {
                let gamma = dot(sl, yl) / dot(yl, yl)
                q = q.map { $0 * gamma }
            }
            for ((sk, yk), a) in zip(zip(s, y), alphas.reversed()) {
                let b = dot(yk, q) / dot(yk, sk)
                q = zip(q, sk).map { $0 + (a - b) * $1 }
            }
            var d = q.map { -$0 }
            var slope = dot(d, g)
            if slope >= 0 { d = g.map { -$0 }; slope = -dot(g, g); s.removeAll(); y.removeAll() }
            let length = boundedChange ? d.reduce(0) { max($0, abs($1)) } : dot(d, d).squareRoot()
            guard length > 0, length.isFinite else { return .zeroGradient }
            var alpha = boundedChange && s.isEmpty ? maxStep / length : min(1, maxStep / length)
            var accepted = false
            while status().evaluations < iterations {
                let trial = zip(phi, d).map { $0 + alpha * $1 }
                let (ft, gt) = try cost(trial)
                if ft <= f + 1e-4 * alpha * slope {
                    let sk = zip(trial, phi).map { $0 - $1 }, yk = zip(gt, g).map { $0 - $1 }
                    if dot(sk, yk) > 1e-12 {
                        s.append(sk); y.append(yk)
                        if s.count > memory { s.removeFirst(); y.removeFirst() }
                    }
                    phi = trial; f = ft; g = gt
                    accepted = true
                    break
                }
                alpha *= 0.5
                if alpha * length < 1e-6 { break }
            }
            if !accepted { return status().evaluations >= iterations ? .iterations : .lineSearchFailed }
        }
        return .iterations
    }
}

/// Counts evaluations, keeps the best point and feeds the convergence monitor.
struct Tracker {
    var monitor: ConvergenceMonitor
    var evaluations = 0
    var best = Double.infinity
    var bestPhi: [Double]?
    var history: [Double] = []
    var converged = false

    init(monitor: ConvergenceMonitor) {
        self.monitor = monitor
    }

    mutating func record(_ value: Double, _ phi: [Double]) {
        evaluations += 1
        history.append(value)
        if value < best { best = value; bestPhi = phi }
        converged = monitor.record(value)
    }
}

@inline(__always) func dot(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
}
