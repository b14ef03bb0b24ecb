import ArgumentParser
import RegCore
import RegIO
import RegKernels
import RegLearn
import RegSynth

/// The images `train` and `bench-learn` read: intensity volumes with labels carried onto their
/// grids, or label maps brought into one space and painted with a contrast.
enum LearningData {
    /// An image as floats, shrunk by `shrink` when > 1.
    static func load(_ path: String, shrink: Int) throws -> Image<Float> {
        try shrunk(ImageFile.read(path).image.floatImage(), by: shrink)
    }

    /// Smoothed and shrunk by `factor` along each axis of the image's dimension (itself for 1).
    static func shrunk(_ image: Image<Float>, by factor: Int) throws -> Image<Float> {
        guard factor > 1 else { return image }
        return try Shrink.shrink(image, factors: SIMD3(factor, factor, image.geometry.dimension == 2 ? 1 : factor))
    }

    /// Labels carried onto `image`'s grid through their own header (nearest neighbour).
    static func labels(_ path: String, onto image: Image<Float>) throws -> Image<Int32> {
        let labels = try ImageFile.read(path).image.labelImage()
        return try Resampler.resample(labels, onto: image.geometry, interpolation: .nearest)
    }

    /// Label maps shrunk by `shrink` (nearest) and aligned to `reference` (itself when nil: the
    /// first map) by the centroids of the labels they share, on the reference's grid.
    static func alignedLabelMaps(_ paths: [String], shrink: Int, reference: Image<Int32>? = nil) throws -> [Image<Int32>] {
        let maps = try paths.map { try SynthCommand.labelMap($0, shrink: shrink) }
        guard let target = reference ?? maps.first else { return [] }
        return try maps.map { try LabelAlignment(moving: $0, fixed: target).resampled($0, onto: target.geometry) }
    }

    /// A label map painted with a named contrast: `t1` or `t2` (fixed intensities by tissue), or
    /// `random`. Labels without a fixed intensity (all with `random`) take one drawn from `seed` and
    /// the label value, so every map painted with one seed shares the contrast; noise, blur and bias
    /// come from `seed` and `instance` together, so the two images of a pair differ in them.
    static func painted(_ labels: Image<Int32>, contrast: String, seed: UInt64, instance: UInt64) throws -> Image<Float> {
        var synthesis = ContrastSynthesis()
        let range = synthesis.meanRange
        var means = Dictionary(uniqueKeysWithValues: Set(labels.voxels).map { label in
            var rng = SplitMix64(seed: seed ^ (UInt64(UInt32(bitPattern: label)) &* 0x9E37_79B9_7F4A_7C15))
            return (label, range.lowerBound + rng.nextUnit() * (range.upperBound - range.lowerBound))
        })
        switch contrast {
        case "t1": means.merge(ContrastSynthesis.t1Like.means ?? [:]) { $1 }
        case "t2": means.merge(ContrastSynthesis.t2Like.means ?? [:]) { $1 }
        case "random": break
        default: throw ValidationError("contrast must be t1, t2 or random, found '\(contrast)'")
        }
        synthesis.means = means
        return try synthesis.image(from: labels, seed: seed &* 1_000_003 &+ instance)
    }

    /// A pair's contrasts from `NAME` (both images) or `FIXED:MOVING` (e.g. `t1:t2`, multi-modal).
    static func contrastPair(_ text: String) -> (fixed: String, moving: String) {
        let parts = text.split(separator: ":").map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : (text, text)
    }

    /// Planes z of a volume pair and its labels as 2-D validation pairs, or the volumes themselves for a 3-D model.
    static func pairs(fixed: Image<Float>, moving: Image<Float>, fixedLabels: Image<Int32>, movingLabels: Image<Int32>,
                      dimension: Int, slices: [Int]?) throws -> [ValidationPair] {
        guard fixed.geometry.size == moving.geometry.size else {
            throw ValidationError("validation images must share one grid (\(fixed.geometry.brief), \(moving.geometry.brief))")
        }
        guard dimension == 2, fixed.geometry.dimension == 3 else {
            return [ValidationPair(fixed: fixed, moving: moving, fixedLabels: fixedLabels, movingLabels: movingLabels)]
        }
        let depth = fixed.geometry.size.z
        return try (slices ?? Array(stride(from: depth / 4, to: 3 * depth / 4, by: 8))).map { z in
            guard z >= 0, z < depth else { throw ValidationError("validation slice \(z) is outside the volume (depth \(depth))") }
            return try ValidationPair(fixed: fixed.plane(z), moving: moving.plane(z), fixedLabels: fixedLabels.plane(z),
                                      movingLabels: movingLabels.plane(z))
        }
    }
}
