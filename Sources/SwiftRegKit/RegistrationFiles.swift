import Foundation
import RegCore
import RegIO
import RegKeypoints
import RegMethods
import RegTransforms

/// What a plan's `inputs` name, read: the two images as `Float`, the masks (non-zero voxels),
/// the landmark pairs and the initial transform.
///
/// ```swift
/// let inputs = try RegistrationInputs(plan)   // plan.inputs.fixed and .moving must be set
/// let result = try Registration(plan).run(fixed: inputs.fixed, moving: inputs.moving, masks: inputs.masks,
///                                         landmarks: inputs.landmarks)
/// ```
public struct RegistrationInputs: Sendable {
    public var fixed: Image<Float>
    public var moving: Image<Float>
    public var masks: RegistrationMasks
    public var landmarks: LandmarkPairs?
    /// The linear transform file's map (its transforms composed as ITK composes them).
    public var initialTransform: AffineMap?

    /// Reads the files of `plan.inputs` (the two images at once).
    public init(_ plan: RegistrationPlan) throws {
        let files = plan.inputs
        guard let fixedPath = files.fixed, let movingPath = files.moving else {
            throw RegError.invalidArgument(name: "inputs", reason: "the plan names no \(files.fixed == nil ? "fixed" : "moving") image")
        }
        guard (files.fixedLandmarks == nil) == (files.movingLandmarks == nil) else {
            throw RegError.invalidArgument(name: "inputs", reason: "landmarks come in pairs of files: give fixedLandmarks and movingLandmarks")
        }
        (fixed, moving) = try concurrently({ try Self.scalarImage(fixedPath) }, { try Self.scalarImage(movingPath) })
        masks = RegistrationMasks(fixed: try files.fixedMask.map { try ImageFile.read($0).image.mask },
                                  moving: try files.movingMask.map { try ImageFile.read($0).image.mask })
        masks.files = try Self.stageMasks(of: plan)
        if let f = files.fixedLandmarks, let m = files.movingLandmarks {
            landmarks = LandmarkPairs(fixed: try LandmarkFile.read(f), moving: try LandmarkFile.read(m))
        } else if files.automaticKeypoints {
            landmarks = try Self.keypointPairs(fixed: fixed, moving: moving, fixedMask: masks.fixed)
        }
        initialTransform = try files.initialTransform.map { try Self.linearMap($0, dimension: fixed.geometry.dimension) }
    }

    /// The map of a linear transform file (ITK `.txt`/`.tfm`/`.h5`, ANTs `.mat`, an elastix
    /// parameter file with its initial transforms), its transforms composed as `apply` composes
    /// them; a field, a B-spline or a transform of another dimension than the images is refused.
    ///
    /// ```swift
    /// let start = try RegistrationInputs.linearMap("rigid_affine.txt", dimension: 3)
    /// let result = try Registration(plan).run(fixed: fixed, moving: moving, initial: start)
    /// ```
    public static func linearMap(_ path: String, dimension: Int) throws -> AffineMap {
        let transforms = try TransformFile.readTransforms(path)
        for case .linear(let record) in transforms where record.dimension != dimension {
            throw RegError.invalidHeader(path: path, field: "Transform", reason: "is \(record.dimension)-D but the images are \(dimension)-D")
        }
        let chain = TransformChain(try TransformFiles.elements(transforms, path: path, invert: false))
        guard !transforms.isEmpty, let map = chain.composedAffine else {
            throw RegError.invalidHeader(path: path, field: "Transform", reason: "holds no linear transform (a start must be linear)")
        }
        return map
    }

    /// The mask files that the plan's stages name, read (non-zero voxels), by path.
    public static func stageMasks(of plan: RegistrationPlan) throws -> [String: Image<UInt8>] {
        var files: [String: Image<UInt8>] = [:]
        for path in plan.stageMaskFiles { files[path] = try ImageFile.read(path).image.mask }
        return files
    }

    /// Landmarks found automatically: the fixed image's keypoints matched in the moving one about
    /// the centres of mass brought together, kept by an affine RANSAC (`KeypointCorrespondence`).
    /// - Throws: `RegError.invalidArgument` when too few matches agree on an affine.
    static func keypointPairs(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>?) throws -> LandmarkPairs {
        let shift = Initialization.centreOfMass(of: moving) - Initialization.centreOfMass(of: fixed)
        let found: KeypointCorrespondence.Result
        do {
            found = try KeypointCorrespondence(filter: .affine).find(fixed: fixed, moving: moving, fixedMask: fixedMask,
                                                                     initial: AffineMap(translation: shift))
        } catch RegError.invalidArgument(_, let reason) {
            throw RegError.invalidArgument(name: "keypoints", reason: "automatic keypoints failed: \(reason); give landmark files instead")
        }
        let labels = found.kept.indices.map { "k\($0 + 1)" }
        return LandmarkPairs(fixed: Landmarks(points: found.kept.map(\.fixed), labels: labels),
                             moving: Landmarks(points: found.kept.map(\.moving), labels: labels))
    }

    /// An image to register: one value per voxel (a 4-D series or a vector image is refused,
    /// naming the file and what it holds, before anything runs).
    static func scalarImage(_ path: String) throws -> Image<Float> {
        let loaded = try ImageFile.read(path)
        guard loaded.image.components == 1 else {
            let what = loaded.info.timePoints > 1 ? "a series of \(loaded.info.timePoints) time points" : "\(loaded.image.components) components per voxel"
            throw RegError.invalidHeader(path: path, field: loaded.info.timePoints > 1 ? "dim[4]" : "components",
                                         reason: "registration takes one value per voxel; this image holds \(what)")
        }
        return loaded.image.floatImage()
    }
}

/// The files `register` writes for a result, under `PREFIX`: `_affine.txt` (ITK), `_affine.mat`
/// (ANTs), `_warped.nii.gz`, `_summary.json`, and with a deformable stage `_warp.nii.gz`,
/// `_inverse_warp.nii.gz` (ANTs displacement fields) and `_jacobian.nii.gz`; with `composite`,
/// also `_composite.h5` and `_inverse_composite.h5` (the whole chain each way in one ITK HDF5
/// file, as `antsRegistration --write-composite-transform` writes). Each is written under a
/// temporary name and renamed when complete.
///
/// ```swift
/// let written = try RegistrationOutputs.write(result, prefix: "out/reg")
/// ```
public enum RegistrationOutputs {
    /// The names `write` uses for a plan's result.
    public static func paths(prefix: String, deformable: Bool, composite: Bool = false) -> [String] {
        let linear = ["_affine.txt", "_affine.mat", "_warped.nii.gz", "_summary.json"]
        let dense = ["_warp.nii.gz", "_inverse_warp.nii.gz", "_jacobian.nii.gz"]
        let composites = composite ? ["_composite.h5", "_inverse_composite.h5"] : []
        return (deformable ? dense + composites + linear : composites + linear).map { prefix + $0 }
    }

    /// Writes the result's files as one set (`OutputTransaction`: all appear together, or none)
    /// and returns their paths. The two fields stream to their files on a thread of their own (a
    /// megabyte of buffer each) while the rest are written; the summary, written last, records
    /// the run's id and every other file with its size. Dense outputs of an earlier run under
    /// the same prefix that this result does not have (an affine-only run after a SyN run) are
    /// removed when that run's summary lists them, unchanged, and they are not `inputs`, so the
    /// folder never mixes two runs and never loses a file another tool wrote.
    @discardableResult
    public static func write(_ result: RegistrationResult, prefix: String, inputs: [String] = [], composite: Bool = false) throws -> [String] {
        let written = paths(prefix: prefix, deformable: result.deformable != nil, composite: composite)
        return try OutputTransaction.run(outputs: written, inputs: inputs) { transaction in
            let fieldWrites = result.deformable.map { deformable in
                BackgroundJob {
                    try TransformFile.writeDisplacementField(deformable.forward.field, to: prefix + "_warp.nii.gz")
                    try TransformFile.writeDisplacementField(deformable.inverse.field, to: prefix + "_inverse_warp.nii.gz")
                }
            }
            do {
                // Planes registered in a frame have a physical 3-D map, even onto a 2-D fixed grid.
                let dimension = result.summary.planeNormal == nil ? result.warped.geometry.dimension : 3
                let record = LinearTransformRecord(map: result.affine, center: result.center, dimension: dimension)
                try TransformFile.write([record], to: prefix + "_affine.txt")
                try TransformFile.write([record], to: prefix + "_affine.mat")
                if composite { try writeComposites(result, record: record, prefix: prefix) }
                if let detJ = result.jacobian { try ImageFile.write(detJ, to: prefix + "_jacobian.nii.gz", options: .runLength) }
                try ImageFile.write(result.warped, to: prefix + "_warped.nii.gz", options: .runLength)
                try fieldWrites?.wait()
            } catch {
                try? fieldWrites?.wait()
                throw error
            }
            var summary = result.summary
            summary.run = transaction.record(of: written)
            // The earlier run's summary says which of the files beside it are still its own.
            struct Earlier: Decodable { var run: RunRecord? }
            let earlier = try? JSONDecoder().decode(Earlier.self, from: Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json")))
            try TextFile.write(try JSONText.encode(summary), to: prefix + "_summary.json")
            for stale in Set(paths(prefix: prefix, deformable: true, composite: true)).subtracting(written)
            where earlier?.run?.lists(stale) == true && !inputs.contains(where: { OutputFolder.sameFile($0, stale) }) {
                transaction.remove(stale)
            }
            return written
        }
    }
}

extension RegistrationOutputs {
    /// `_composite.h5` (fixed → moving points: the field first, then the affine) and
    /// `_inverse_composite.h5` (moving → fixed: the inverse affine, then the inverse field).
    static func writeComposites(_ result: RegistrationResult, record: LinearTransformRecord, prefix: String) throws {
        guard let inverse = record.map.inverse else {
            throw RegError.invalidArgument(name: prefix + "_inverse_composite.h5", reason: "the affine map found is singular and has no inverse")
        }
        var forward: [FileTransform] = [.linear(record)]
        var backward: [FileTransform] = [.linear(LinearTransformRecord(map: inverse, center: record.center, dimension: record.dimension))]
        if let deformable = result.deformable {
            forward.insert(.displacement(deformable.forward.field), at: 0)
            backward.append(.displacement(deformable.inverse.field))
        }
        try HDF5TransformFile.write(forward, to: prefix + "_composite.h5")
        try HDF5TransformFile.write(backward, to: prefix + "_inverse_composite.h5")
    }
}

/// `swiftreg register` as one call: reads what the plan's `inputs` name, runs the plan and writes
/// the outputs under `prefix`.
///
/// ```swift
/// var plan = RegistrationPlan.preset("syn")!
/// plan.inputs = PlanInputs(fixed: "subject.nii.gz", moving: "atlas.nii.gz")
/// let run = try RegistrationFiles.register(plan, prefix: "out/syn")
/// print(run.result.summary.correlationAfter, run.files)
/// ```
public enum RegistrationFiles {
    public struct Run: Sendable {
        public var inputs: RegistrationInputs
        public var result: RegistrationResult
        public var files: [String]
    }

    /// With `composite`, the chain is also written as ITK HDF5 composites (`_composite.h5`, `_inverse_composite.h5`).
    public static func register(_ plan: RegistrationPlan, prefix: String, progress: ProgressHandler? = nil, composite: Bool = false) throws -> Run {
        try plan.validate()
        let inputs = plan.inputs
        let inputPaths = [inputs.fixed, inputs.moving, inputs.fixedMask, inputs.movingMask, inputs.fixedLandmarks,
                          inputs.movingLandmarks, inputs.initialTransform].compactMap { $0 } + plan.stageMaskFiles
        try OutputFolder.check(outputs: RegistrationOutputs.paths(prefix: prefix, deformable: plan.deformable != nil, composite: composite),
                               inputs: inputPaths)
        let read = try RegistrationInputs(plan)
        let result: RegistrationResult
        do {
            result = try Registration(plan).run(fixed: read.fixed, moving: read.moving, masks: read.masks, landmarks: read.landmarks,
                                                initial: read.initialTransform, progress: progress)
        } catch RegError.invalidArgument(let name, let reason) where name == "fixed image" || name == "moving image" {
            throw RegError.invalidArgument(name: (name == "fixed image" ? inputs.fixed : inputs.moving) ?? name, reason: reason)
        }
        let files = try RegistrationOutputs.write(result, prefix: prefix, inputs: inputPaths, composite: composite)
        return Run(inputs: read, result: result, files: files)
    }
}
