import RegCore
import RegKernels
import RegTransforms

/// A metric's value and its gradient with respect to a transform's parameters.
public struct MetricValue: Sendable {
    public var value: Double
    public var gradient: [Double]
    /// How many samples mapped inside the moving image (and moving mask).
    public var validSamples: Int
}

/// An image-to-image metric between fixed samples and a moving image, evaluated for linear
/// transforms with analytic gradients: one measure, or a weighted sum of measures (ANTs'
/// repeated `--metric`) that samples the moving image once per evaluation.
///
/// Every measure here is a function of the pairs `(fᵢ, mᵢ)` of fixed and warped moving values,
/// so its parameter gradient is `Σᵢ wᵢ ∇M(T(xᵢ)) · ∂T(xᵢ)/∂θ` with `wᵢ = ∂C/∂mᵢ`. The moving
/// gradient is the exact derivative of the trilinear interpolant, so the gradient is that of
/// the cost the optimiser sees.
///
/// ```swift
/// let samples = try FixedSamples(fixed, strategy: .full, center: c)
/// var metric = try ImageMetric(.normalizedCorrelation, samples: samples, moving: moving)
/// let r = try metric.evaluate(LinearTransform(.rigid, dimension: 3, center: c))
/// print(r.value, r.gradient)
/// ```
public struct ImageMetric {
    /// One measure of the sum, with its weight and, for the histogram measures, its binning.
    struct Term {
        let kind: Metric, weight: Double
        let histogram: JointHistogramBinning?
    }

    let terms: [Term]
    public let samples: FixedSamples
    public let moving: Image<Float>
    let movingMask: VoxelBuffer<UInt8>?
    // Scratch kept between evaluations.
    var values: [Float]
    var gradients: [SIMD3<Float>]

    public init(_ kind: Metric, samples: FixedSamples, moving: Image<Float>, movingMask: Image<UInt8>? = nil) throws {
        try self.init([WeightedMetric(kind)], samples: samples, moving: moving, movingMask: movingMask)
    }

    /// The weighted sum of `metrics`' costs; one metric of weight 1 is that metric's cost exactly.
    public init(_ metrics: [WeightedMetric], samples: FixedSamples, moving: Image<Float>, movingMask: Image<UInt8>? = nil) throws {
        guard !metrics.isEmpty else { throw RegError.invalidArgument(name: "metrics", reason: "a linear stage needs at least one metric") }
        for term in metrics where !term.metric.isLinear {
            throw RegError.invalidArgument(name: "metric", reason: "\(term.metric.name) is not a linear-stage metric; valid: \(Metric.linearNames.joined(separator: ", "))")
        }
        if let movingMask, !movingMask.geometry.sameGrid(as: moving.geometry) {
            throw RegError.geometryMismatch("the moving mask's grid \(movingMask.geometry.size) is not the moving image's grid \(moving.geometry.size)")
        }
        if let movingMask, !movingMask.voxels.contains(where: { $0 != 0 }) {
            throw RegError.invalidArgument(name: "moving mask", reason: "the mask selects no voxel")
        }
        self.samples = samples
        self.moving = moving
        self.movingMask = movingMask?.voxels
        terms = try metrics.map { term in
            switch term.metric {
            case .mutualInformation(let bins), .normalizedMutualInformation(let bins):
                guard bins >= 8 else { throw RegError.invalidArgument(name: "histogram bins", reason: "must be ≥ 8, found \(bins)") }
                return Term(kind: term.metric, weight: term.weight,
                            histogram: JointHistogramBinning(bins: bins, fixed: samples.values, moving: moving.voxels))
            default:
                return Term(kind: term.metric, weight: term.weight, histogram: nil)
            }
        }
        values = [Float](repeating: 0, count: samples.count)
        gradients = [SIMD3<Float>](repeating: .zero, count: samples.count)
    }

    /// The cost at `transform`, with its parameter gradient unless `gradient` is false.
    public mutating func evaluate(_ transform: LinearTransform, gradient: Bool = true) throws -> MetricValue {
        let g = moving.geometry
        let toIndex = g.physicalToIndex
        let a = transform.matrix
        GradientSampling.sample(moving, at: samples.positions, matrix: toIndex * a,
                                offset: toIndex * (samples.center + transform.translation - g.origin),
                                mask: movingMask, values: &values, gradients: &gradients)
        let valid = countValid()
        guard valid >= 8 else {
            throw RegError.invalidArgument(name: "overlap",
                                           reason: "only \(valid) of \(samples.count) samples map inside the moving image; the images do not overlap (check the initialisation)")
        }
        // Each measure on the one sampling; a lone measure of weight 1 is taken as it is.
        var value = 0.0, gIndex = Matrix3.diagonal(.zero), hIndex = SIMD3<Double>.zero
        for (k, term) in terms.enumerated() {
            let (cost, weights) = costAndWeights(term, valid: valid)
            let lone = terms.count == 1 && term.weight == 1
            value = lone ? cost : (k == 0 ? 0 : value) + term.weight * cost
            guard gradient else { continue }
            let (g, h) = weights.accumulate(fixed: samples.values, moving: values, gradients: gradients, positions: samples.positions)
            (gIndex, hIndex) = lone ? (g, h) : (gIndex + g * term.weight, hIndex + h * term.weight)
        }
        guard gradient else { return MetricValue(value: value, gradient: [], validSamples: valid) }
        // ∇ in physical space is (physicalToIndex)ᵀ · ∇ in index space.
        let pt = toIndex.transposed
        let grad = transform.parameterGradient(matrixGradient: pt * gIndex, translationGradient: pt * hIndex)
        return MetricValue(value: value, gradient: grad, validSamples: valid)
    }

    func countValid() -> Int {
        values.withUnsafeBufferPointer { v in
            parallelReduce(count: v.count, chunkSize: 16384, initial: 0, combine: +) { range in
                var n = 0
                for i in range where !v[i].isNaN { n &+= 1 }
                return n
            }
        }
    }

    func costAndWeights(_ term: Term, valid: Int) -> (Double, SampleWeights) {
        let n = Double(valid)
        let kind = term.kind
        switch kind {
        case .meanSquares:
            return (sumOverValid(SquaredDifference(), samples.values, values) / n, .meanSquares(MeanSquaresWeight(scale: 2 / n)))
        case .meanAbsoluteDifference:
            return (sumOverValid(AbsoluteDifference(), samples.values, values) / n,
                    .absoluteDifference(AbsoluteDifferenceWeight(scale: 1 / n)))
        case .normalizedCorrelation:
            let c = CorrelationSums(fixed: samples.values, moving: values)
            return (-c.correlation, .correlation(c.weight))
        case .mutualInformation, .normalizedMutualInformation:
            let binning = term.histogram!
            let joint = binning.joint(fixed: samples.values, moving: values)
            let normalized = { if case .normalizedMutualInformation = kind { return true } else { return false } }()
            let (cost, table) = joint.costAndTable(normalized: normalized)
            return (cost, .histogram(HistogramWeight(binning: binning, table: table, scale: 1 / (n * binning.movingWidth))))
        case .localCorrelation:
            preconditionFailure("local correlation is a dense metric (checked in init)")
        }
    }
}
