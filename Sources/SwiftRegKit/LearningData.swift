import RegCore
import RegIO
import RegKernels
import RegLearn
import RegSynth

/// The images `train` and `bench-learn` read: intensity volumes with labels carried onto their
/// grids, or label maps brought into one space (then painted with `ContrastSynthesis.painted`).
///
/// ```swift
/// let maps = try LearningData.alignedLabelMaps(["seg_09.nii.gz", "seg_10.nii.gz"], shrink: 2)
/// ```
public enum LearningData {
    /// An image as floats, shrunk by `shrink` when > 1.
    public static func load(_ path: String, shrink: Int) throws -> Image<Float> {
        try shrunk(ImageFile.read(path).image.floatImage(), by: shrink)
    }

    /// Smoothed and shrunk by `factor` along each axis of the image's dimension (itself for 1).
    public static func shrunk(_ image: Image<Float>, by factor: Int) throws -> Image<Float> {
        guard factor > 1 else { return image }
        return try Shrink.shrink(image, factors: SIMD3(factor, factor, image.geometry.dimension == 2 ? 1 : factor))
    }

    /// Labels carried onto `image`'s grid through their own header (nearest neighbour).
    public static func labels(_ path: String, onto image: Image<Float>) throws -> Image<Int32> {
        let labels = try ImageFile.readLabels(path)
        return try Resampler.resample(labels, onto: image.geometry, interpolation: .nearest)
    }

    /// Label maps shrunk by `shrink` (nearest) and aligned to `reference` (itself when nil: the
    /// first map) by the centroids of the labels they share, on the reference's grid.
    public static func alignedLabelMaps(_ paths: [String], shrink: Int, reference: Image<Int32>? = nil) throws -> [Image<Int32>] {
        let maps = try paths.map { try labelMap($0, shrink: shrink) }
        guard let target = reference ?? maps.first else { return [] }
        return try maps.map { try LabelAlignment(moving: $0, fixed: target).resampled($0, onto: target.geometry) }
    }

    /// A pair's contrasts from `NAME` (both images) or `FIXED:MOVING` (e.g. `t1:t2`, multi-modal).
    public static func contrastPair(_ text: String) -> (fixed: String, moving: String) {
        let parts = text.split(separator: ":").map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : (text, text)
    }

    /// A label map read as integers, shrunk by an integer factor with nearest-neighbour sampling
    /// at the centres of the coarse voxels (physical extent kept).
    public static func labelMap(_ path: String, shrink: Int) throws -> Image<Int32> {
        guard shrink >= 1 else { throw RegError.invalidArgument(name: "shrink", reason: "must be ≥ 1, found \(shrink)") }
        let labels = try ImageFile.readLabels(path)
        guard shrink > 1 else { return labels }
        let g = labels.geometry
        let grid = try Geometry(size: (g.size &+ (shrink - 1)) / shrink, spacing: g.spacing * Double(shrink),
                                origin: g.physicalPoint(ofIndex: SIMD3(repeating: 0.5 * Double(shrink - 1))), direction: g.direction)
        return try Resampler.resample(labels, onto: grid, interpolation: .nearest)
    }
}
