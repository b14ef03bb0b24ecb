import Dispatch
import RegCore
import RegKernels
import RegMetrics
import RegOptimize
import RegTransforms

/// The settings of a B-spline free-form deformation stage.
///
/// ```swift
/// var stage = BSplineStage(metric: .localCorrelation(radius: 2), gridSpacing: 6)
/// stage.regularization = BSplineRegularization(bending: 0.2, folding: 20)
/// ```
public struct BSplineStage: Equatable, Sendable {
    public var metrics: [WeightedMetric]
    /// Shrink, smoothing and cost evaluations per level.
    public var levels: [Level]
    /// The control-point spacing of the last level, in mm.
    public var gridSpacing: Double
    /// The control spacing of each level as a multiple of `gridSpacing`; each factor equals the
    /// previous one or halves it (the lattice is refined exactly). Default: 4, 2, 1 for 3 levels.
    public var gridSchedule: [Int]
    public var regularization: BSplineRegularization
    /// The largest change of one coefficient in one L-BFGS step, in mm.
    public var maxStep: Double
    public var convergence: ConvergenceMonitor
    /// The masks this stage samples through (default: the registration's).
    public var masks = StageMasks()
    /// The weight of the landmark pairs' mean squared distance (mm², in moving space) in the cost,
    /// when the registration has landmarks (as the linear stages' `landmarkWeight`); 0 leaves the
    /// stage to the images alone.
    public var landmarkWeight = 0.0

    public init(metric: Metric, levels: [Level] = BSplineStage.defaultLevels, gridSpacing: Double = 4,
                gridSchedule: [Int]? = nil, regularization: BSplineRegularization = BSplineRegularization(bending: 0.1, folding: 20),
                maxStep: Double = 1, convergence: ConvergenceMonitor = ConvergenceMonitor(window: 10, threshold: 1e-5)) {
        self.metrics = [WeightedMetric(metric)]
        self.levels = levels
        self.gridSpacing = gridSpacing
        self.gridSchedule = gridSchedule ?? levels.indices.map { 1 << (levels.count - 1 - $0) }
        self.regularization = regularization
        self.maxStep = maxStep
        self.convergence = convergence
    }

    public static let defaultLevels = Level.pyramid(iterations: [60, 50, 30])

    /// Refuses a finest lattice with more control points than 8 per voxel of `domain` (plus a
    /// small margin), before any lattice is made: a spacing far below the voxel size only costs
    /// memory and time.
    func validateLattice(on domain: Geometry) throws {
        let finest = gridSpacing * Double(gridSchedule.last ?? 1)
        var points = 1.0
        for a in 0..<domain.dimension { points *= (Double(domain.size[a]) * domain.spacing[a] / finest).rounded(.up) + 3 }
        guard points <= 8 * Double(domain.voxelCount) + 4096 else {
            throw RegError.invalidArgument(name: "gridSpacing", reason: String(format:
                "%g mm gives %.3g control points at the finest level for a grid of %d voxels; take a spacing of at least the voxel size (%g mm)",
                gridSpacing, points, domain.voxelCount, domain.spacing.min()))
        }
    }

    func validate() throws {
        try DenseSetup.validate(levels: levels, metrics: metrics)
        guard gridSpacing > 0 else { throw RegError.invalidArgument(name: "gridSpacing", reason: "must be > 0 mm, found \(gridSpacing)") }
        guard gridSchedule.count == levels.count else {
            throw RegError.invalidArgument(name: "gridSchedule", reason: "needs one factor per level (\(levels.count)), found \(gridSchedule.count)")
        }
        for (k, factor) in gridSchedule.enumerated() {
            guard factor >= 1 else { throw RegError.invalidArgument(name: "gridSchedule", reason: "factors must be ≥ 1, found \(factor)") }
            if k > 0, factor != gridSchedule[k - 1], 2 * factor != gridSchedule[k - 1] {
                throw RegError.invalidArgument(name: "gridSchedule",
                                               reason: "each factor must equal or halve the one before, found \(gridSchedule[k - 1]) then \(factor)")
            }
        }
        guard maxStep > 0 else { throw RegError.invalidArgument(name: "maxStep", reason: "must be > 0 mm, found \(maxStep)") }
        let r = regularization
        guard r.bending >= 0, r.diffusion >= 0, r.folding >= 0 else {
            throw RegError.invalidArgument(name: "regularization", reason: "weights must be ≥ 0")
        }
    }
}

/// Free-form deformation with cubic B-splines (Rueckert et al. 1999), as elastix and NiftyReg
/// run it: per level, L-BFGS minimises `−similarity + penalties` over the control-point
/// displacements. The similarity's voxel-wise derivative times the warped image's gradient is
/// carried onto the lattice by the B-spline adjoint; bending, diffusion and folding penalties
/// are evaluated at the knots. The lattice is refined exactly between levels; the result is the
/// dense field on the fixed grid and its inverse by fixed-point iteration.
///
/// ```swift
/// let ffd = BSplineRegistration(stage: BSplineStage(metric: .localCorrelation(radius: 2)))
/// let result = try ffd.run(fixed: fixed, moving: moving, affine: linear.map)
/// // apply as TransformChain([.displacement(result.forward), .affine(linear.map)])
/// ```
public struct BSplineRegistration: Sendable {
    public var stage: BSplineStage
    public var progress: ProgressHandler?

    public init(stage: BSplineStage) { self.stage = stage }

    /// Registers `moving` to `fixed`, starting from `affine` (fixed-space points to moving space).
    /// With `landmarks` and the stage's `landmarkWeight` above 0, the cost also holds the pairs'
    /// mean squared distance (`BSplineLandmarkTerm`).
    public func run(fixed: Image<Float>, moving: Image<Float>, affine: AffineMap = .identity,
                    fixedMask: Image<UInt8>? = nil, movingMask: Image<UInt8>? = nil, landmarks: LandmarkPairs? = nil) throws -> DeformableResult {
        let start = DispatchTime.now().uptimeNanoseconds
        try stage.validate()
        let landmarkTerm = try BSplineLandmarkTerm(landmarks, affine: affine, weight: stage.landmarkWeight)
        try DenseSetup.validate(fixed: fixed, moving: moving, fixedMask: fixedMask, movingMask: movingMask)
        let f = UnitRange.scaled(fixed), m = UnitRange.scaled(moving)
        try stage.validateLattice(on: fixed.geometry)
        let spacing = SIMD3<Double>(repeating: stage.gridSpacing * Double(stage.gridSchedule[0]))
        var grid = try BSplineGrid(covering: fixed.geometry, spacing: spacing)
        var reports: [DeformableLevelReport] = []
        for (index, level) in stage.levels.enumerated() {
            let levelStart = DispatchTime.now().uptimeNanoseconds
            if index > 0, stage.gridSchedule[index] < stage.gridSchedule[index - 1] { grid = grid.refined() }
            let images = try DenseLevel(level, index: index, fixed: f, moving: m, fixedMask: fixedMask, movingMask: movingMask)
            var curve: [Double] = []
            let optimizer = Optimizer(.lbfgsBoundedChange(memory: 6, maxStep: stage.maxStep), iterations: level.iterations,
                                      convergence: stage.convergence)
            let start = grid.coefficients.vectors.map(Double.init)
            let outcome = try optimizer.minimize(from: start, scales: [Double](repeating: 1, count: start.count)) { theta in
                grid.coefficients.vectors = Self.coefficients(theta)
                let (cost, similarity, gradient) = try evaluate(grid, level: images, affine: affine, landmarks: landmarkTerm)
                curve.append(similarity)
                try progress?(ProgressEvent(kind: .iteration, stage: "B-spline", level: index + 1, levels: stage.levels.count,
                                        iteration: curve.count, iterations: level.iterations, value: similarity))
                return (cost, gradient.vectors.map(Double.init))
            }
            grid.coefficients.vectors = Self.coefficients(outcome.parameters)
            reports.append(try DenseSetup.report(index: index, of: stage.levels, grid: images.grid, curve: curve,
                                             stopReason: outcome.stopReason.rawValue, since: levelStart, name: "B-spline",
                                             metrics: stage.metrics, progress: progress))
        }
        let forward = DisplacementField(try grid.field(on: fixed.geometry))
        return DeformableResult(forward: forward, inverse: forward.inverse(), levels: reports,
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// The optimiser's parameters as lattice coefficients, converted in one pass.
    static func coefficients(_ theta: [Double]) -> VoxelBuffer<Float> {
        VoxelBuffer(unsafeUninitializedCapacity: theta.count) { buffer, count in
            for i in theta.indices { buffer[i] = Float(theta[i]) }
            count = theta.count
        }
    }

    /// The cost `−similarity + penalties (+ the landmark term)`, the similarity alone, and the
    /// cost's gradient on the lattice.
    func evaluate(_ grid: BSplineGrid, level: DenseLevel, affine: AffineMap,
                  landmarks: BSplineLandmarkTerm? = nil) throws -> (Double, Double, VectorField) {
        let field = try grid.field(on: level.grid)
        let mapping = PointMapping(matrix: affine.matrix, translation: affine.translation, displacement: field)
        let warped = try Resampler.resample(level.moving, onto: level.grid, mapping: mapping)
        let mask = try level.middleMask(moving: mapping)
        let similarity = DenseSetup.similarity(stage.metrics, fixed: level.fixed, moving: warped, mask: mask)
        let force = FieldKernels.force(weights: similarity.movingDerivative, image: warped)   // ∂similarity/∂u
        var gradient = try grid.coefficientGradient(of: force)
        let (penalty, penaltyGradient) = grid.regularization(stage.regularization)
        for i in gradient.vectors.indices { gradient.vectors[i] = penaltyGradient.vectors[i] - gradient.vectors[i] }
        let landmarkCost = landmarks?.add(grid, to: &gradient) ?? 0
        return (penalty + landmarkCost - similarity.value, similarity.value, gradient)
    }
}
