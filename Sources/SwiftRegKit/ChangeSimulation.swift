import Foundation
import RegCore
import RegIO
import RegKernels
import RegSynth
import RegTransforms

/// A pair of scans with a known change, for validating `longitudinal`: the follow-up is the image
/// deformed by a `SimulatedAtrophy` of one region, then moved by a small rigid motion, and resampled
/// once by cubic B-spline interpolation; the baseline is the image itself; each gets independent
/// noise. (Linear interpolation would blur the follow-up against the baseline, and a registration
/// reads blur at an edge as change: on a painted head it made the cortex grow by 0.7 % and the
/// putamen shrink by 1.8 % where nothing changed.)
///
/// ```swift
/// var simulation = ChangeSimulation(image: "bl.nii.gz", percentChange: -1)
/// simulation.mask = "bl_brain.nii.gz"                 // the whole brain shrinks by 1 %
/// simulation.motionDegrees = 2; simulation.motionMillimetres = 1.5; simulation.noise = 0.02
/// let truth = try simulation.write(prefix: "sim/bl_minus1")   // sim/bl_minus1_baseline.nii.gz, _followup.nii.gz, …
/// print(truth.percentVolumeChange)
/// ```
public struct ChangeSimulation: Sendable {
    public var image: String
    public var percentChange: Double
    /// The region: a mask on the image's grid, or the `labelValues` of a label map; with
    /// neither, the image's voxels above a tenth of its 99th percentile.
    public var mask: String?
    public var labels: String?
    public var labelValues: [Int] = []
    /// Width of the band in which the tissue moves, mm.
    public var sigma = 2.0
    /// Noise standard deviation as a fraction of the image's 99th percentile.
    public var noise = 0.0
    /// Rigid motion of the follow-up about the image centre (a random axis and direction).
    public var motionDegrees = 0.0
    public var motionMillimetres = 0.0
    public var seed: UInt64 = 1

    public init(image: String, percentChange: Double) {
        self.image = image
        self.percentChange = percentChange
    }

    /// What `write` records as `PREFIX_truth.json`.
    public struct Truth: Sendable, Codable {
        public var image: String
        public var region: String
        /// The region's change reached, `∫_region det J` on the image's grid.
        public var percentVolumeChange: Double
        /// The change of the whole brain (threshold region) and of each label, when a label map is given.
        public var labelChanges: [String: Double] = [:]
        /// Baseline → follow-up rigid part (LPS mm).
        public var rigidMatrix: [Double], rigidTranslation: [Double]
        public var noise: Double
    }

    /// Writes `PREFIX_baseline.nii.gz` and `PREFIX_followup.nii.gz` (the scans), `PREFIX_true_warp.nii.gz`
    /// (baseline → follow-up, on the baseline's grid), `PREFIX_followup_labels.nii.gz` with a label
    /// map, and `PREFIX_truth.json`.
    public func write(prefix: String) throws -> Truth {
        let baseline = try RegistrationInputs.scalarImage(image)
        let g = baseline.geometry
        let labelMap = try labels.map { path -> Image<Int32> in
            let l = try ImageFile.readLabels(path)
            guard l.geometry.sameGrid(as: g) else {
                throw RegError.geometryMismatch("the labels \(path) (\(l.geometry.brief)) are not on the image \(image)'s grid (\(g.brief))")
            }
            return l
        }
        let region: Image<UInt8>, regionName: String
        if let mask {
            region = try ImageFile.readMask(mask, on: g, role: "the image \(image)")
            regionName = mask
        } else if let labelMap, !labelValues.isEmpty {
            let wanted = Set(labelValues.map(Int32.init))
            region = try Image<UInt8>(geometry: g, voxels: labelMap.voxels.map { wanted.contains($0) ? 1 : 0 })
            regionName = "labels " + labelValues.map(String.init).joined(separator: ", ")
        } else {
            region = try LongitudinalChange.thresholdMask(baseline)
            regionName = "threshold mask"
        }
        guard noise >= 0, noise <= 1, motionDegrees >= 0, motionDegrees <= 45, motionMillimetres >= 0, motionMillimetres <= 100 else {
            throw RegError.invalidArgument(name: "simulation", reason: "noise takes 0–1, motion 0–45° and 0–100 mm; found \(noise), \(motionDegrees)°, \(motionMillimetres) mm")
        }
        let change = try SimulatedAtrophy(region: region, percentChange: percentChange, sigma: sigma)
        // The follow-up at y samples the baseline at exp(−v)(R(y)); a baseline point x is at R⁻¹(exp(v)(x)).
        var rng = SplitMix64(seed: seed)
        let center = g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5)
        let motion = Self.rigidMotion(degrees: motionDegrees, millimetres: motionMillimetres, center: center,
                                      planeNormal: g.dimension == 2 || g.size.z == 1 ? g.direction.column(2) : nil, using: &rng)
        guard let motionInverse = motion.inverse else { throw RegError.invalidArgument(name: "motion", reason: "is singular") }
        let sampling = VectorField(sampling: g) { change.inverse.map(motion.apply($0)) }
        var followup = try Resampler.resample(baseline, onto: g, mapping: PointMapping(displacement: sampling), interpolation: .bspline)
        // Each scan gets noise of its own: a clean baseline against a noisy follow-up is no pair a
        // scanner makes, and biases any registration towards the noisy one.
        var noisyBaseline = baseline
        if noise > 0 {
            let sorted = baseline.voxels.sorted()
            let sd = noise * Double(sorted[min(sorted.count - 1, Int(0.99 * Double(sorted.count)))])
            for i in followup.voxels.indices { followup.voxels[i] += Float(sd * rng.nextGaussian()) }
            for i in noisyBaseline.voxels.indices { noisyBaseline.voxels[i] += Float(sd * rng.nextGaussian()) }
        }
        let trueWarp = VectorField(sampling: g) { motionInverse.apply(change.forward.map($0)) }
        var truth = Truth(image: image, region: regionName, percentVolumeChange: change.percentVolumeChange,
                          rigidMatrix: motionInverse.matrix.rowMajor,
                          rigidTranslation: [motionInverse.translation.x, motionInverse.translation.y, motionInverse.translation.z], noise: noise)
        var outputs = ["_baseline.nii.gz", "_followup.nii.gz", "_true_warp.nii.gz", "_truth.json"].map { prefix + $0 }
        if let labelMap {
            outputs.append(prefix + "_followup_labels.nii.gz")
            let detJ = change.forward.jacobianDeterminant
            var counts: [Int32: Int] = [:], sums: [Int32: Double] = [:]
            for (j, l) in zip(detJ.voxels, labelMap.voxels) where l != 0 {
                counts[l, default: 0] += 1
                sums[l, default: 0] += Double(j)
            }
            for (l, n) in counts { truth.labelChanges[String(l)] = 100 * (sums[l]! / Double(n) - 1) }
        }
        return try OutputTransaction.run(outputs: outputs, inputs: [image, mask, labels].compactMap { $0 }) { _ in
            try ImageFile.write(noisyBaseline, to: prefix + "_baseline.nii.gz")
            try ImageFile.write(followup, to: prefix + "_followup.nii.gz")
            try TransformFile.writeDisplacementField(trueWarp, to: prefix + "_true_warp.nii.gz")
            if let labelMap {
                try ImageFile.write(try Resampler.resample(labelMap, onto: g, mapping: PointMapping(displacement: sampling), interpolation: .label),
                                    to: prefix + "_followup_labels.nii.gz")
            }
            try TextFile.write(try JSONText.encode(truth), to: prefix + "_truth.json")
            return truth
        }
    }

    /// A rotation by `degrees` about a random axis (the plane's normal for a 2-D image) through
    /// `center`, then a shift of `millimetres` in a random direction (in the plane for 2-D).
    static func rigidMotion(degrees: Double, millimetres: Double, center: SIMD3<Double>, planeNormal: SIMD3<Double>?,
                            using rng: inout SplitMix64) -> AffineMap {
        func randomUnit() -> SIMD3<Double> {
            var v = SIMD3(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian())
            if let n = planeNormal { v -= (v * n).sum() * n }
            return v / max(v.length, 1e-12)
        }
        let axis = planeNormal ?? randomUnit(), shift = randomUnit() * millimetres
        let k = Matrix3(rows: SIMD3(0, -axis.z, axis.y), SIMD3(axis.z, 0, -axis.x), SIMD3(-axis.y, axis.x, 0))
        let theta = degrees * .pi / 180
        let rotation = Matrix3.identity + k * sin(theta) + (k * k) * (1 - cos(theta))
        return AffineMap(matrix: rotation, translation: shift, center: center)
    }
}

/// A lesion with mass effect added to a real image (`SimulatedLesion`), for validating
/// `abnormality`.
///
/// ```swift
/// var lesion = LesionSimulation(image: "subject.nii.gz", center: SIMD3(20, -10, 30), radius: 10)
/// lesion.massEffect = 3
/// let truth = try lesion.write(prefix: "sim/lesion")    // sim/lesion_image.nii.gz, _lesion.nii.gz, …
/// ```
public struct LesionSimulation: Sendable {
    public var image: String
    /// LPS mm.
    public var center: SIMD3<Double>
    public var radius: Double
    public var massEffect = 2.0
    /// The lesion's intensity as a fraction of the image's 99th percentile (dark, as a T1 lesion).
    public var intensity = 0.25

    public init(image: String, center: SIMD3<Double>, radius: Double) {
        self.image = image
        self.center = center
        self.radius = radius
    }

    /// What `write` records as `PREFIX_truth.json`.
    public struct Truth: Sendable, Codable {
        public var image: String
        public var center: [Double]
        public var radius: Double
        public var massEffect: Double
        public var lesionVoxels: Int
        public var lesionVolume: Double
    }

    /// Writes `PREFIX_image.nii.gz` (the image with the lesion), `PREFIX_lesion.nii.gz` (its
    /// mask), `PREFIX_true_warp.nii.gz` (original → lesioned points) and `PREFIX_truth.json`.
    public func write(prefix: String) throws -> Truth {
        let original = try RegistrationInputs.scalarImage(image)
        let g = original.geometry
        guard intensity.isFinite, intensity >= 0, intensity <= 10 else {
            throw RegError.invalidArgument(name: "intensity", reason: "takes 0–10 (a fraction of the 99th percentile), found \(intensity)")
        }
        let lesion = try SimulatedLesion(on: g, center: center, radius: radius, massEffect: massEffect)
        let sorted = original.voxels.sorted()
        let p99 = sorted[min(sorted.count - 1, Int(0.99 * Double(sorted.count)))]
        let lesioned = try lesion.apply(to: original, intensity: Float(intensity) * p99)
        let voxels = lesion.mask.voxels.reduce(0) { $0 + Int($1) }
        let truth = Truth(image: image, center: [center.x, center.y, center.z], radius: radius, massEffect: massEffect,
                          lesionVoxels: voxels, lesionVolume: Double(voxels) * g.voxelVolume)
        let outputs = ["_image.nii.gz", "_lesion.nii.gz", "_true_warp.nii.gz", "_truth.json"].map { prefix + $0 }
        return try OutputTransaction.run(outputs: outputs, inputs: [image]) { _ in
            try ImageFile.write(lesioned, to: prefix + "_image.nii.gz")
            try ImageFile.write(lesion.mask, to: prefix + "_lesion.nii.gz")
            try TransformFile.writeDisplacementField(lesion.forward.field, to: prefix + "_true_warp.nii.gz")
            try TextFile.write(try JSONText.encode(truth), to: prefix + "_truth.json")
            return truth
        }
    }
}
