import Dispatch
import RegCore
import RegKernels
import RegMetrics
import RegTransforms

/// Masks of a registration: metrics sample only the non-zero voxels. Stages take these unless
/// their `masks` say otherwise; `files` holds the masks that stages name by file.
///
/// ```swift
/// let masks = RegistrationMasks(fixed: brainMask)
/// let perStage = RegistrationMasks(fixed: headMask, files: ["brain.nii.gz": brainMask])
/// ```
public struct RegistrationMasks: Sendable {
    public var fixed: Image<UInt8>?
    public var moving: Image<UInt8>?
    /// The masks that stages name by file (`StageMask.file`), by path, as the runner read them.
    public var files: [String: Image<UInt8>]
    public init(fixed: Image<UInt8>? = nil, moving: Image<UInt8>? = nil, files: [String: Image<UInt8>] = [:]) {
        self.fixed = fixed
        self.moving = moving
        self.files = files
    }
}

/// Corresponding points of the fixed and moving images (matched by label, else by order).
///
/// ```swift
/// let pairs = LandmarkPairs(fixed: try LandmarkFile.read("f.csv"), moving: try LandmarkFile.read("m.csv"))
/// ```
public struct LandmarkPairs: Sendable {
    public var fixed: Landmarks
    public var moving: Landmarks
    public init(fixed: Landmarks, moving: Landmarks) {
        self.fixed = fixed
        self.moving = moving
    }
}

/// Runs a `RegistrationPlan`: the one call behind `swiftreg register`, the batch runner and the
/// Python package.
///
/// ```swift
/// let result = try Registration(RegistrationPlan.preset("syn")!).run(fixed: fixed, moving: moving)
/// let labels = try Resampler.resample(atlasLabels, onto: fixed.geometry,
///                                     mapping: result.chain.mapping(onto: fixed.geometry), interpolation: .label)
/// print(result.summary.correlationAfter, result.summary.jacobianInsideFixed?.foldedFraction ?? 0)
/// ```
public struct Registration: Sendable {
    public var plan: RegistrationPlan

    public init(_ plan: RegistrationPlan) { self.plan = plan }

    /// Registers `moving` to `fixed`. `progress` hears every iteration, the end of every level
    /// and, last, a `.done` event. `linear`, the result of this plan's linear stages on the same
    /// pair (from a run of the plan without its deformable stage), is taken instead of running
    /// them again; a pair registered in a plane runs them anyway. `initial` (fixed-space points to
    /// moving space, read from `plan.inputs.initialTransform`) replaces the plan's initialisation:
    /// the first linear stage starts from it (from its nearest map of the stage's model: a rigid
    /// stage keeps an affine's rotation and translation), or, with no linear stage, the deformable
    /// stage starts from it and the result's chain holds it.
    ///
    /// ```swift
    /// var affineOnly = plan; affineOnly.deformable = nil
    /// let first = try Registration(affineOnly).run(fixed: subject, moving: atlas)
    /// let full = try Registration(plan).run(fixed: subject, moving: atlas, linear: first.linear)
    /// ```
    public func run(fixed: Image<Float>, moving: Image<Float>, masks: RegistrationMasks = RegistrationMasks(),
                    landmarks: LandmarkPairs? = nil, linear reused: LinearRegistrationResult? = nil,
                    initial: AffineMap? = nil, progress: ProgressHandler? = nil) throws -> RegistrationResult {
        let start = DispatchTime.now().uptimeNanoseconds
        try plan.validate()
        for (name, image) in [("fixed image", fixed), ("moving image", moving)] {
            guard image.components == 1 else {
                throw RegError.invalidArgument(name: name, reason: "registration takes one value per voxel; this image has \(image.components) components")
            }
            if let constant = image.constantValue {
                throw RegError.invalidArgument(name: name, reason: "every voxel is \(constant): a constant image has nothing to align")
            }
        }
        let (linearResult, deformable, planeNormal): (LinearRegistrationResult?, DeformableResult?, SIMD3<Double>?)
        if PlaneFrame.isOneSliceVolume(fixed.geometry) || PlaneFrame.isOneSliceVolume(moving.geometry) {
            guard initial == nil else {
                throw RegError.invalidArgument(name: "initial transform", reason: "is not supported for one-slice volumes (registered in their plane); "
                                               + "save the slices as 2-D images, or start from --init")
            }
            let planar = try PlanarRegistration(fixed: fixed, moving: moving, masks: masks, landmarks: landmarks)
            let (linear, warp) = try stages(planar.fixed, planar.moving, planar.masks, planar.landmarks, progress)
            linearResult = try planar.physical(linear)
            deformable = warp.map { planar.physical($0, on: fixed.geometry) }
            planeNormal = planar.frame.normal
        } else {
            (linearResult, deformable) = try stages(fixed, moving, masks, landmarks, progress, reusing: reused, initial: initial)
            planeNormal = nil
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var result = try RegistrationResult(plan: plan, linear: linearResult, deformable: deformable, seconds: seconds, fixed: fixed,
                                            moving: moving, fixedMask: masks.fixed, landmarks: landmarks)
        result.summary.planeNormal = planeNormal.map { [$0.x, $0.y, $0.z] }
        try progress?(ProgressEvent(kind: .done, stage: plan.deformable?.name ?? plan.linear.last?.model.rawValue ?? "", level: 0, levels: 0,
                                iteration: 0, iterations: 0, value: result.summary.correlationAfter,
                                message: String(format: "done in %.2f s", seconds)))
        return result
    }

    /// The linear stages, then the deformable stage, on images of one kind (both volumes, or
    /// both 2-D).
    func stages(_ fixed: Image<Float>, _ moving: Image<Float>, _ masks: RegistrationMasks, _ landmarks: LandmarkPairs?,
                _ progress: ProgressHandler?, reusing reused: LinearRegistrationResult? = nil, initial: AffineMap? = nil) throws
        -> (LinearRegistrationResult?, DeformableResult?) {
        for case .bspline(let stage) in plan.deformableStages { try stage.validateLattice(on: fixed.geometry) }
        var linearResult: LinearRegistrationResult?
        if let reused, !plan.linear.isEmpty {
            linearResult = reused
        } else if !plan.linear.isEmpty {
            let perStage = plan.linear.contains(where: { $0.masks != StageMasks() })
                ? try plan.linear.enumerated().map { try masks.resolved($1.masks, name: "linear[\($0)]") } : nil
            // Sampling in the moving image (judged by the first stage's masks): the stages
            // register the pair the other way round.
            let first = perStage?[0] ?? masks
            let exchange = plan.linearSampling.samplesMoving(fixed: fixed, moving: moving, fixedMask: first.fixed, movingMask: first.moving)
            func sides(_ m: RegistrationMasks) -> RegistrationMasks { exchange ? RegistrationMasks(fixed: m.moving, moving: m.fixed, files: m.files) : m }
            var linear = LinearRegistration(stages: plan.linear)
            linear.initialization = plan.initialization
            linear.initialMap = try initial.map { map in
                guard exchange else { return map }
                guard let inverse = map.inverse else { throw RegError.invalidArgument(name: "initial transform", reason: "is singular") }
                return inverse
            }
            linear.rotationSearch = plan.rotationSearch
            linear.multiStart = plan.multiStart
            linear.preprocessing = plan.preprocessing
            linear.landmarks = landmarks.map { exchange ? ($0.moving, $0.fixed) : ($0.fixed, $0.moving) }
            linear.landmarkWeight = plan.landmarkWeight
            linear.progress = progress
            linear.stageMasks = perStage?.map(sides)
            let given = sides(masks)
            let found = try linear.run(fixed: exchange ? moving : fixed, moving: exchange ? fixed : moving,
                                       fixedMask: given.fixed, movingMask: given.moving)
            linearResult = exchange ? try found.exchangedBack() : found
        } else if let initial {
            linearResult = LinearRegistrationResult(transform: LinearTransform(.affine, dimension: fixed.geometry.dimension, center: .zero,
                                                                               approximating: initial),
                                                    levels: [], seconds: 0, start: Initialization.initialTransformName)
        }
        let affine = linearResult?.map ?? .identity
        var deformable: DeformableResult?
        for (k, method) in plan.deformableStages.enumerated() {
            let name = plan.deformableStages.count == 1 ? "deformable" : "deformable[\(k)]"
            let stageMasks = try masks.resolved(method.masks, name: name)
            try stageMasks.check(fixed: fixed, moving: moving, stage: name)
            guard let before = deformable else {
                deformable = try Self.run(method, fixed, moving, affine: affine, stageMasks, landmarks, progress)
                continue
            }
            // A later stage registers the fixed image to the moving image as the stages before
            // left it (resampled once onto the fixed grid), and composes its warp with theirs.
            let grid = fixed.geometry
            let earlier = RegistrationResult.chain(linear: linearResult, deformable: before).mapping(onto: grid)
            let warped = try Resampler.resample(moving, onto: grid, mapping: earlier, interpolation: .linear)
            let warpedMask = try stageMasks.moving.map { try Resampler.resample($0, onto: grid, mapping: earlier, interpolation: .nearest) }
            let pairs = try landmarks.map { pairs -> LandmarkPairs in
                guard let inverse = RegistrationResult.inverseChain(linear: linearResult, deformable: before) else {
                    throw RegError.invalidArgument(name: "affine", reason: "is singular: the moving landmarks cannot be carried to the fixed grid")
                }
                return LandmarkPairs(fixed: pairs.fixed, moving: Landmarks(points: pairs.moving.points.map(inverse.map), labels: pairs.moving.labels))
            }
            var next = try Self.run(method, fixed, warped, affine: .identity, RegistrationMasks(fixed: stageMasks.fixed, moving: warpedMask), pairs, progress)
            for i in next.levels.indices { next.levels[i].stage = k }
            var levels = before.levels
            if k == 1 { for i in levels.indices { levels[i].stage = 0 } }
            deformable = DeformableResult(
                forward: DisplacementField(FieldKernels.compose(before.forward.field, after: next.forward.field)),
                inverse: DisplacementField(FieldKernels.compose(next.inverse.field, after: before.inverse.field)),
                levels: levels + next.levels, seconds: before.seconds + next.seconds)
        }
        return (linearResult, deformable)
    }

    /// One deformable stage from `affine`.
    static func run(_ method: DeformableMethod, _ fixed: Image<Float>, _ moving: Image<Float>, affine: AffineMap, _ masks: RegistrationMasks,
                    _ landmarks: LandmarkPairs?, _ progress: ProgressHandler?) throws -> DeformableResult {
        switch method {
        case .syn(let stage):
            var syn = SyNRegistration(stage: stage)
            syn.progress = progress
            return try syn.run(fixed: fixed, moving: moving, affine: affine, fixedMask: masks.fixed, movingMask: masks.moving,
                               landmarks: landmarks)
        case .demons(let stage):
            var demons = DemonsRegistration(stage: stage)
            demons.progress = progress
            return try demons.run(fixed: fixed, moving: moving, affine: affine, fixedMask: masks.fixed, movingMask: masks.moving)
        case .bspline(let stage):
            var ffd = BSplineRegistration(stage: stage)
            ffd.progress = progress
            return try ffd.run(fixed: fixed, moving: moving, affine: affine, fixedMask: masks.fixed, movingMask: masks.moving,
                               landmarks: landmarks)
        }
    }
}

/// What a plan produced: the transforms, the moving image on the fixed grid, det J of the warp
/// and the run's summary.
public struct RegistrationResult: Sendable {
    public var linear: LinearRegistrationResult?
    public var deformable: DeformableResult?
    /// Seconds of registration (the stages; not the warped image or the summary).
    public var seconds: Double
    /// The moving image resampled (linearly) through `chain` onto the fixed grid.
    public var warped: Image<Float>
    /// det J of the deformable warp on the fixed grid (nil without a deformable stage).
    public var jacobian: Image<Float>?
    public var summary: RegistrationSummary

    public var affine: AffineMap { linear?.map ?? .identity }

    /// The centre of the linear transform's parameterisation (ITK's fixed parameters).
    public var center: SIMD3<Double> { linear?.transform.center ?? .zero }

    /// The transforms in ANTs order (points go through the warp first, then the affine).
    public var chain: TransformChain { Self.chain(linear: linear, deformable: deformable) }

    static func chain(linear: LinearRegistrationResult?, deformable: DeformableResult?) -> TransformChain {
        let affine = TransformChain.Element.affine(linear?.map ?? .identity)
        guard let d = deformable else { return TransformChain([affine], names: ["affine"]) }
        return TransformChain([.displacement(d.forward), affine], names: ["warp", "affine"])
    }

    /// The chain carrying moving-space points to fixed space (the inverse affine, then the
    /// inverse warp), nil when the affine map is singular.
    public var inverseChain: TransformChain? { Self.inverseChain(linear: linear, deformable: deformable) }

    static func inverseChain(linear: LinearRegistrationResult?, deformable: DeformableResult?) -> TransformChain? {
        guard let inverse = (linear?.map ?? .identity).inverse else { return nil }
        var elements: [TransformChain.Element] = [.affine(inverse)]
        if let d = deformable { elements.append(.displacement(d.inverse)) }
        return TransformChain(elements, names: deformable == nil ? ["inverse affine"] : ["inverse affine", "inverse warp"])
    }

    /// The result of the stages, with the warped image, det J and the summary made.
    init(plan: RegistrationPlan, linear: LinearRegistrationResult?, deformable: DeformableResult?, seconds: Double,
         fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>?, landmarks: LandmarkPairs?) throws {
        self.linear = linear
        self.deformable = deformable
        self.seconds = seconds
        let grid = fixed.geometry
        let chain = Self.chain(linear: linear, deformable: deformable)
        warped = try Resampler.resample(moving, onto: grid, mapping: chain.mapping(onto: grid), interpolation: .linear)
        let before = pearsonCorrelation(fixed.voxels, try Resampler.resample(moving, onto: grid, interpolation: .linear).voxels)
        var s = RegistrationSummary()
        s.plan = plan
        s.linearLevels = linear?.levels ?? []
        s.start = linear.map { $0.start ?? plan.initialization.rawValue }
        s.linearSampledIn = linear.map { $0.sampledInMoving ? "moving" : "fixed" }
        s.deformableLevels = deformable?.levels ?? []
        s.seconds = seconds
        s.parameters = linear?.transform.parameters ?? []
        s.model = linear?.transform.model
        let map = linear?.map ?? .identity, center = linear?.transform.center ?? .zero
        s.matrix = map.matrix.rowMajor
        s.translation = [map.translation.x, map.translation.y, map.translation.z]
        s.center = [center.x, center.y, center.z]
        s.correlationBefore = before
        s.correlationAfter = pearsonCorrelation(fixed.voxels, warped.voxels)
        if let linear, let landmarks {
            let (f, m) = try landmarks.fixed.paired(with: landmarks.moving)
            s.landmarkRMS = LandmarkDistance(fixed: f.points, moving: m.points).rms(linear.transform)
        }
        jacobian = nil
        if let deformable {
            let detJ = deformable.forward.jacobianDeterminant
            jacobian = detJ
            s.jacobian = JacobianStatistics(determinant: detJ)
            s.jacobianInsideFixed = JacobianStatistics(determinant: detJ, mask: fixedMask ?? fixed.foreground)
        }
        summary = s
    }
}

/// The record of a run that `register` writes as `PREFIX_summary.json` and `report` reads: the
/// plan, each level's cost curve, stop reason and time, the linear parameters, correlation
/// before and after, and det J statistics.
public struct RegistrationSummary: Sendable, Codable {
    public var plan = RegistrationPlan(linear: [])
    public var linearLevels: [LevelReport] = []
    /// The start the linear stages were optimised from: the initialisation's name, or the turn of
    /// it that the multi-start kept ("quarter turn 5 of 24", "principal axes 2").
    public var start: String?
    /// The image the linear stages sampled in, "fixed" or "moving" (`RegistrationPlan.linearSampling`);
    /// with "moving", `linearLevels` report the costs of the pair registered the other way round.
    public var linearSampledIn: String?
    public var deformableLevels: [DeformableLevelReport] = []
    public var seconds = 0.0
    public var parameters: [Double] = []
    public var model: LinearModel?
    /// The affine map, fixed-space points to moving space: row-major matrix, translation, and
    /// the centre of its parameterisation.
    public var matrix: [Double] = [], translation: [Double] = [], center: [Double] = []
    public var correlationBefore = 0.0, correlationAfter = 0.0
    /// Root mean square distance of the landmark pairs after the linear stages, mm.
    public var landmarkRMS: Double?
    /// det J of the forward warp over the whole grid and over the fixed mask (or foreground).
    public var jacobian: JacobianStatistics?
    public var jacobianInsideFixed: JacobianStatistics?
    /// Set when one-slice volumes were registered as 2-D images in their plane: the plane's unit
    /// normal (LPS). The transforms above are the physical ones, in 3-D.
    public var planeNormal: [Double]?
    /// The run that wrote this summary and the files it wrote before it (set by the file layer).
    public var run: RunRecord?

    public init() {}
}

extension RegistrationPlan: Codable {
    /// A plan inside a summary is written as its plan file's content.
    public init(from decoder: Decoder) throws { try self.init(document: try PlanValue(from: decoder)) }
    public func encode(to encoder: Encoder) throws { try document.encode(to: encoder) }
}
