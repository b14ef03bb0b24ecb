import Foundation
import RegOptimize
import RegTestSupport
import Testing

/// Test functions with known minima, each given with its gradient.
enum TestFunctions {
    /// Scales of the quadratic's parameters: an "angle" (100 mm per unit), "mm", and a "shear"
    /// (10 mm per unit).
    static let scales = [100.0, 1, 10]
    /// The quadratic's minimiser, unscaled (scaled: (10, 5, −30)).
    static let minimiser = [0.1, 5, -3]
    /// The Hessian in scaled units: well conditioned, with coupling between parameters.
    static let hessian = [[3.0, 1, 0], [1, 2, 0.5], [0, 0.5, 1]]

    /// `2 + ½ (φ − φ*)ᵀ H (φ − φ*)` in scaled parameters `φ` (minimum 2, not 0, so that the
    /// convergence monitor's relative slope can fall).
    static func scaledQuadratic(_ phi: [Double]) -> (Double, [Double]) {
        let d = (0..<3).map { phi[$0] - minimiser[$0] * scales[$0] }
        let hd = hessian.map { row in zip(row, d).reduce(0) { $0 + $1.0 * $1.1 } }
        return (2 + 0.5 * zip(d, hd).reduce(0) { $0 + $1.0 * $1.1 }, hd)
    }

    /// The same quadratic in unscaled parameters `θ = φ / scales`: badly conditioned (curvatures
    /// from 1 to 3·10⁴).
    static func quadratic(_ theta: [Double]) -> (Double, [Double]) {
        let (v, g) = scaledQuadratic(zip(theta, scales).map { $0 * $1 })
        return (v, zip(g, scales).map { $0 * $1 })
    }

    /// A Rosenbrock-like valley `(1 − x)² + 10 (y − x²)²` with `x = 20 θ₀`, `y = θ₁` (minimum 0
    /// at θ = (0.05, 1)); with scales (20, 1) the optimiser sees the plain valley.
    static let rosenbrockScales = [20.0, 1]
    static func rosenbrock(_ theta: [Double]) -> (Double, [Double]) {
        let x = 20 * theta[0], y = theta[1], r = y - x * x
        return ((1 - x) * (1 - x) + 10 * r * r, [20 * (-2 * (1 - x) - 40 * x * r), 20 * r])
    }

    static func distance(_ a: [Double], _ b: [Double], scales: [Double]) -> Double {
        (0..<a.count).map { abs(a[$0] - b[$0]) * scales[$0] }.max() ?? 0
    }
}

@Suite struct OptimizerTests {
    static let methods: [Optimizer.Method] = [
        .regularStepGradientDescent(maxStep: 4, minStep: 1e-6, relaxation: 0.5), .adam(learningRate: 0.5),
        .lbfgs(memory: 5, maxStep: 10), .lbfgsBoundedChange(memory: 5, maxStep: 4),
    ]

    /// An ill-scaled quadratic bowl: parameter 0 is "an angle" (scale 100), parameter 1 "mm".
    static func bowl(_ theta: [Double]) -> (Double, [Double]) {
        let a = (theta[0] - 0.1) * 100, b = theta[1] - 5
        return (a * a + b * b, [2 * a * 100, 2 * b])
    }

    @Test(arguments: [Optimizer.Method.regularStepGradientDescent(maxStep: 2, minStep: 1e-4, relaxation: 0.5),
                      .adam(learningRate: 0.5), .lbfgs(memory: 5, maxStep: 4)])
    func minimisesAScaledQuadratic(method: Optimizer.Method) throws {
        let optimizer = Optimizer(method, iterations: 400, convergence: ConvergenceMonitor(window: 10, threshold: 1e-9))
        let result = try optimizer.minimize(from: [0, 0], scales: [100, 1]) { Self.bowl($0) }
        #expect(abs(result.parameters[0] - 0.1) < 1e-3 && abs(result.parameters[1] - 5) < 0.05, "\(method): \(result.parameters)")
    }

    /// Every method finds the minimum of a coupled quadratic whose parameters differ in scale by
    /// 100, to 1e-3 in scaled units (≈ 1e-3 mm), within 400 evaluations.
    @Test(arguments: methods)
    func reachesTheMinimumOfACoupledScaledQuadratic(method: Optimizer.Method) throws {
        let optimizer = Optimizer(method, iterations: 400, convergence: ConvergenceMonitor(window: 10, threshold: 1e-9))
        let result = try optimizer.minimize(from: [0, 0, 0], scales: TestFunctions.scales) { TestFunctions.quadratic($0) }
        let error = TestFunctions.distance(result.parameters, TestFunctions.minimiser, scales: TestFunctions.scales)
        #expect(error < 1e-3, "\(method): \(result.parameters) after \(result.evaluations) evaluations (\(result.stopReason))")
        #expect(abs(result.value - 2) < 1e-6)
        #expect(result.evaluations <= 400)
    }

    /// Every method follows the curved valley of a Rosenbrock-like function from (−1.2, 1) to its
    /// minimum at (1, 1) (scaled units).
    @Test(arguments: methods)
    func reachesTheMinimumOfARosenbrockValley(method: Optimizer.Method) throws {
        let optimizer = Optimizer(method, iterations: 3000, convergence: ConvergenceMonitor(window: 10, threshold: 1e-12))
        let start = [-1.2 / 20, 1]
        let result = try optimizer.minimize(from: start, scales: TestFunctions.rosenbrockScales) { TestFunctions.rosenbrock($0) }
        let error = TestFunctions.distance(result.parameters, [0.05, 1], scales: TestFunctions.rosenbrockScales)
        #expect(error < 1e-3, "\(method): \(result.parameters) after \(result.evaluations) evaluations (\(result.stopReason))")
        #expect(result.value < 1e-6 && result.value < TestFunctions.rosenbrock(start).0)
    }

    /// Scales are a change of variables: minimising `f(θ)` with scales `s` visits exactly the
    /// points `θ = φ / s` that minimising `g(φ) = f(φ / s)` with unit scales visits, for every method.
    @Test(arguments: methods)
    func scalesAreAChangeOfVariables(method: Optimizer.Method) throws {
        let optimizer = Optimizer(method, iterations: 60, convergence: ConvergenceMonitor(window: 10, threshold: 1e-12))
        var scaledPath: [[Double]] = [], plainPath: [[Double]] = []
        let s = TestFunctions.scales
        _ = try optimizer.minimize(from: [0, 0, 0], scales: s) { theta in
            scaledPath.append(zip(theta, s).map { $0 * $1 })
            return TestFunctions.quadratic(theta)
        }
        _ = try optimizer.minimize(from: [0, 0, 0], scales: [1, 1, 1]) { phi in
            plainPath.append(phi)
            return TestFunctions.scaledQuadratic(phi)
        }
        #expect(scaledPath.count == plainPath.count && scaledPath.count > 10)
        var worst = 0.0
        for (a, b) in zip(scaledPath, plainPath) {
            for k in a.indices { worst = max(worst, abs(a[k] - b[k]) / (1 + abs(b[k]))) }
        }
        #expect(worst < 1e-9, "\(method): paths differ by \(worst)")
    }

    /// Regular-step descent moves exactly `maxStep` in scaled units at its first step (so a unit of
    /// the angle parameter counts 100 times a unit of the mm one), and with the right scales
    /// converges where unit scales leave it far from the minimum.
    @Test func regularStepLengthIsMeasuredInScaledUnits() throws {
        let optimizer = Optimizer(.regularStepGradientDescent(maxStep: 4, minStep: 1e-6, relaxation: 0.5), iterations: 100,
                                  convergence: ConvergenceMonitor(window: 10, threshold: 1e-9))
        var points: [[Double]] = []
        let scaled = try optimizer.minimize(from: [0, 0, 0], scales: TestFunctions.scales) { theta in
            points.append(theta)
            return TestFunctions.quadratic(theta)
        }
        let step = zip(zip(points[1], points[0]).map { $0 - $1 }, TestFunctions.scales).map { $0 * $1 }
        #expect(abs(step.map { $0 * $0 }.reduce(0, +).squareRoot() - 4) < 1e-12, "first step \(step)")
        let unit = try optimizer.minimize(from: [0, 0, 0], scales: [1, 1, 1]) { TestFunctions.quadratic($0) }
        #expect(TestFunctions.distance(scaled.parameters, TestFunctions.minimiser, scales: TestFunctions.scales) < 1e-3)
        #expect(TestFunctions.distance(unit.parameters, TestFunctions.minimiser, scales: TestFunctions.scales) > 1)
    }

    /// The bounded-change L-BFGS's first step moves the parameter with the largest scaled gradient
    /// by exactly `maxStep` scaled units.
    @Test func boundedChangeIsMeasuredInScaledUnits() throws {
        let optimizer = Optimizer(.lbfgsBoundedChange(memory: 5, maxStep: 0.75), iterations: 2)
        var points: [[Double]] = []
        _ = try optimizer.minimize(from: [0, 0, 0], scales: TestFunctions.scales) { theta in
            points.append(theta)
            return TestFunctions.quadratic(theta)
        }
        let change = (0..<3).map { abs(points[1][$0] - points[0][$0]) * TestFunctions.scales[$0] }
        #expect(abs((change.max() ?? 0) - 0.75) < 1e-12, "first change \(change)")
    }

    /// However small the budget, no method evaluates the cost more often than `iterations`; the
    /// result is the best point evaluated, with its value.
    @Test(arguments: methods)
    func iterationLimitsAreRespected(method: Optimizer.Method) throws {
        for limit in [1, 2, 3, 7, 25] {
            let optimizer = Optimizer(method, iterations: limit, convergence: ConvergenceMonitor(window: 50, threshold: 1e-12))
            var calls = 0
            let result = try optimizer.minimize(from: [-1.2 / 20, 1], scales: TestFunctions.rosenbrockScales) { theta in
                calls += 1
                return TestFunctions.rosenbrock(theta)
            }
            #expect(calls <= limit && result.evaluations == calls && result.history.count == calls, "\(method), limit \(limit): \(calls) calls")
            #expect(result.value == result.history.min())
            #expect(TestFunctions.rosenbrock(result.parameters).0 == result.value)
        }
        // A cost that keeps falling (a plane) uses the whole budget and says so.
        let optimizer = Optimizer(method, iterations: 37, convergence: ConvergenceMonitor(window: 10, threshold: 1e-6))
        let result = try optimizer.minimize(from: [0, 0], scales: [1, 1]) { theta in (1000 - theta[0] - 0.5 * theta[1], [-1, -0.5]) }
        #expect(result.evaluations == 37 && result.stopReason == .iterations, "\(method): \(result.evaluations), \(result.stopReason)")
        #expect(result.value < 1000 - 10)
    }

    /// No iterations keeps the start and measures its cost once, for every method (issue 31,
    /// item 6: a landmark-only fit once reported an infinite cost that the summary could not hold).
    @Test(arguments: methods)
    func noIterationsKeepTheStartWithItsCost(method: Optimizer.Method) throws {
        let result = try Optimizer(method, iterations: 0).minimize(from: [0.3, 2], scales: [100, 1]) { Self.bowl($0) }
        #expect(result.parameters == [0.3, 2] && result.value == Self.bowl([0.3, 2]).0 && result.value.isFinite)
        #expect(result.evaluations == 1 && result.history == [result.value] && result.stopReason == .iterations)
    }

    /// A cost that stops changing ends the run through the convergence monitor as soon as the
    /// window is full.
    @Test(arguments: [Optimizer.Method.regularStepGradientDescent(maxStep: 1, minStep: 1e-6, relaxation: 0.5), .adam(learningRate: 0.1)])
    func aFlatCostStopsOnConvergence(method: Optimizer.Method) throws {
        let optimizer = Optimizer(method, iterations: 100, convergence: ConvergenceMonitor(window: 6, threshold: 1e-6))
        let result = try optimizer.minimize(from: [0, 0], scales: [1, 1]) { _ in (7, [1, -1]) }
        #expect(result.stopReason == .converged && result.evaluations == 6, "\(method): \(result.evaluations), \(result.stopReason)")
    }

    @Test func convergenceMonitorStopsOnAFlatWindow() {
        var monitor = ConvergenceMonitor(window: 5, threshold: 1e-4)
        let falling = [10.0, 8, 6, 4, 2].map { monitor.record($0) }
        #expect(!falling.contains(true))
        for _ in 0..<4 { _ = monitor.record(1) }
        let flat = monitor.record(1)
        #expect(flat)
    }

    /// The monitor says nothing until its window is full, then converges on a flat (slightly
    /// noisy) sequence; a steadily falling one never converges; one that levels off converges
    /// only once it has levelled off.
    @Test func convergenceMonitorTellsFlatFromFalling() {
        var flat = ConvergenceMonitor(window: 8, threshold: 1e-6)
        let flatAnswers = (0..<8).map { flat.record(3 + 1e-9 * Double($0 % 3)) }
        #expect(flatAnswers == Array(repeating: false, count: 7) + [true])

        var falling = ConvergenceMonitor(window: 8, threshold: 1e-4)
        #expect(falling.relativeSlope == nil)
        let fallingAnswers = (0..<200).map { falling.record(1000 - 0.5 * Double($0)) }
        #expect(!fallingAnswers.contains(true))
        #expect((falling.relativeSlope ?? 0) > 1e-4)

        var levelling = ConvergenceMonitor(window: 8, threshold: 1e-4)
        let values = (0..<100).map { 5 + 10 * 0.7 * pow(0.7, Double($0)) }
        let first = values.firstIndex { levelling.record($0) }
        #expect(first != nil)
        if let first {
            #expect(first >= 20, "converged at \(first) while still falling")
            #expect(values[first - 7] - values[first] < 1e-3 * values[first])
        }
    }
}

@Suite struct BoundedLBFGSTests {
    /// An ill-conditioned quadratic in many variables: the first step moves one variable by exactly
    /// `maxStep`, and the minimum is found.
    @Test func minimisesAQuadraticWithBoundedSteps() throws {
        let n = 2000
        let curvature = (0..<n).map { 1 + 99 * Double($0) / Double(n) }
        let target = Phantoms.randomValues(count: n, seed: 2, range: -3...3)
        let optimizer = Optimizer(.lbfgsBoundedChange(memory: 6, maxStep: 0.5), iterations: 200,
                                  convergence: ConvergenceMonitor(window: 5, threshold: 1e-12))
        var firstChange: Double?
        let result = try optimizer.minimize(from: [Double](repeating: 0, count: n), scales: [Double](repeating: 1, count: n)) { x in
            if firstChange == nil, x.contains(where: { $0 != 0 }) { firstChange = x.map(abs).max() }
            var value = 0.0, gradient = [Double](repeating: 0, count: n)
            for i in 0..<n {
                let d = x[i] - target[i]
                value += 0.5 * curvature[i] * d * d
                gradient[i] = curvature[i] * d
            }
            return (value, gradient)
        }
        #expect(abs((firstChange ?? 0) - 0.5) < 1e-12)
        #expect(result.value < 1e-6, "value \(result.value) after \(result.evaluations) evaluations")
    }
}
