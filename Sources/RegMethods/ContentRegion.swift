import RegCore

/// An image's content without a mask: its voxels above a tenth of its 99th percentile (the
/// percentile taken from at most 2²⁰ evenly strided voxels), which leaves out air and noise
/// around a head or a body.
///
/// ```swift
/// let t = ContentRegion.threshold(head)   // head voxels are those above t
/// ```
public enum ContentRegion {
    /// The threshold, nil for an image without finite values.
    public static func threshold(_ image: Image<Float>) -> Float? {
        let stride = max(1, image.voxels.count >> 20)
        var sample: [Float] = []
        sample.reserveCapacity(image.voxels.count / stride + 1)
        for i in Swift.stride(from: 0, to: image.voxels.count, by: stride) where image.voxels[i].isFinite { sample.append(image.voxels[i]) }
        guard !sample.isEmpty else { return nil }
        sample.sort()
        return 0.1 * sample[min(sample.count - 1, Int(0.99 * Double(sample.count)))]
    }
}
