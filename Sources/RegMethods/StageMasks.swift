// StageMasks: which masks one stage samples through (the registration's, none, or its own files).
import RegCore

/// Where one side of a stage's mask comes from.
public enum StageMask: Equatable, Sendable {
    /// The registration's mask of that side (`inputs.fixedMask`, `--fixed-mask`), or none when
    /// it has none: the default.
    case registration
    /// No mask in this stage: every voxel of the image is sampled.
    case none
    /// This file's non-zero voxels, read by the runner into `RegistrationMasks.files`.
    case file(String)
}

/// The masks one stage samples through, as ANTs' per-stage `--masks [FIXED,MOVING]`: a rigid
/// stage on the whole head and a deformable stage inside the brain, say.
///
/// ```swift
/// var rigid = LinearStage(.rigid, metric: .mutualInformation(bins: 32))
/// rigid.masks = StageMasks(fixed: .none, moving: .none)
/// var syn = DeformableStage.synLocalCorrelation
/// syn.masks = StageMasks(fixed: .file("brain_mask.nii.gz"))
/// ```
public struct StageMasks: Equatable, Sendable {
    public var fixed: StageMask
    public var moving: StageMask

    public init(fixed: StageMask = .registration, moving: StageMask = .registration) {
        self.fixed = fixed
        self.moving = moving
    }

    /// The files the stage names.
    public var files: [String] {
        [fixed, moving].compactMap { if case .file(let path) = $0 { return path } else { return nil } }
    }
}

extension RegistrationMasks {
    /// The masks a stage samples through; `name` (`linear[0]`, `deformable`) names the stage in
    /// errors.
    /// - Throws: `RegError.invalidArgument` when the stage names a file that is not in `files`.
    public func resolved(_ stage: StageMasks, name: String) throws -> RegistrationMasks {
        func side(_ choice: StageMask, _ registration: Image<UInt8>?, _ key: String) throws -> Image<UInt8>? {
            switch choice {
            case .registration: return registration
            case .none: return nil
            case .file(let path):
                guard let mask = files[path] else {
                    throw RegError.invalidArgument(name: name + "." + key, reason: "names \(path), which was not read: per-stage mask files are read by register (the command, batch jobs and Python)")
                }
                return mask
            }
        }
        var stageMasks = RegistrationMasks(fixed: try side(stage.fixed, fixed, "fixedMask"), moving: try side(stage.moving, moving, "movingMask"))
        stageMasks.files = files
        return stageMasks
    }

    /// Checks that each mask lies on its image's grid and is not empty; `stage` (nil for the
    /// registration's own masks) prefixes the errors.
    func check(fixed image: Image<Float>, moving other: Image<Float>, stage: String? = nil) throws {
        for (side, mask, grid) in [("fixed mask", fixed, image.geometry), ("moving mask", moving, other.geometry)] {
            guard let mask else { continue }
            let name = stage.map { $0 + " " + side } ?? side
            guard mask.geometry.sameGrid(as: grid) else {
                throw RegError.geometryMismatch("the \(name)'s grid (size \(mask.geometry.size)) is not its image's grid (size \(grid.size))")
            }
            guard mask.voxels.contains(where: { $0 != 0 }) else { throw RegError.invalidArgument(name: name, reason: "the mask is empty") }
        }
    }
}
