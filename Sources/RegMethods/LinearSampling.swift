import RegCore

/// Which image the linear stages sample their metrics in. Samples that map outside the other
/// image are dropped, so when the sampled image holds anatomy the other lacks (a neck below a
/// head that ends at the cerebellum, a head around a skull-stripped brain) the optimiser gains by
/// tilting and scaling that anatomy out of view instead of aligning. Sampling in the image whose
/// content is smaller avoids this (elastix's manual advises the smaller field of view as fixed);
/// the transform found is inverted, so the result still maps fixed points to moving points.
///
/// ```swift
/// var plan = RegistrationPlan.preset("affine")!
/// plan.linearSampling = .fixed      // always sample in the fixed image, as ANTs does
/// ```
public enum LinearSampling: String, CaseIterable, Equatable, Sendable, Codable {
    /// The moving image when its region (its mask, else its voxels above a tenth of its 99th
    /// percentile) is over 10 % smaller in physical volume than the fixed image's; else the fixed
    /// one. Contents of about one size are sampled in the fixed image, as ANTs does, so images of
    /// one cohort (noisy copies, a lesion more or less) do not flip between the two.
    case smaller
    /// The fixed image, as ANTs and elastix do.
    case fixed

    /// Whether the linear stages of this pair sample in the moving image.
    ///
    /// ```swift
    /// let swap = LinearSampling.smaller.samplesMoving(fixed: head, moving: brain)   // true when the brain is smaller
    /// ```
    public func samplesMoving(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>? = nil,
                              movingMask: Image<UInt8>? = nil) -> Bool {
        guard self == .smaller else { return false }
        return Self.regionVolume(moving, mask: movingMask) * Self.margin < Self.regionVolume(fixed, mask: fixedMask)
    }

    /// How much larger the fixed region must be for the moving image to be sampled.
    static let margin = 1.1

    /// Physical volume of the mask's non-zero voxels, or without a mask of the voxels above the
    /// content threshold (`ContentRegion`).
    static func regionVolume(_ image: Image<Float>, mask: Image<UInt8>?) -> Double {
        if let mask { return Double(mask.voxels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }) * mask.geometry.voxelVolume }
        guard let threshold = ContentRegion.threshold(image) else { return 0 }
        return Double(image.voxels.reduce(0) { $0 + ($1 > threshold ? 1 : 0) }) * image.geometry.voxelVolume
    }
}
