import RegCore
import RegMetrics
import RegTransforms

/// A linear stage's cost: the weighted sum of its metrics' costs on one set of fixed samples.
/// One metric of weight 1 is that metric's cost exactly.
///
/// ```swift
/// var cost = try StageMetric([WeightedMetric(.mutualInformation(bins: 32))], samples: samples, moving: moving)
/// let r = try cost.evaluate(transform)
/// ```
struct StageMetric {
    var terms: [(metric: ImageMetric, weight: Double)]

    init(_ metrics: [WeightedMetric], samples: FixedSamples, moving: Image<Float>, movingMask: Image<UInt8>?) throws {
        guard !metrics.isEmpty else { throw RegError.invalidArgument(name: "metrics", reason: "a linear stage needs at least one metric") }
        terms = try metrics.map { (try ImageMetric($0.metric, samples: samples, moving: moving, movingMask: movingMask), $0.weight) }
    }

    mutating func evaluate(_ transform: LinearTransform, gradient: Bool = true) throws -> MetricValue {
        var total: MetricValue?
        for k in terms.indices {
            let r = try terms[k].metric.evaluate(transform, gradient: gradient)
            let w = terms[k].weight
            guard var sum = total else {
                total = w == 1 ? r : MetricValue(value: w * r.value, gradient: r.gradient.map { w * $0 }, validSamples: r.validSamples)
                continue
            }
            sum.value += w * r.value
            for i in sum.gradient.indices { sum.gradient[i] += w * r.gradient[i] }
            sum.validSamples = min(sum.validSamples, r.validSamples)
            total = sum
        }
        return total!
    }
}
