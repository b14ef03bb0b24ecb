import RegCore

/// Intensities clamped to two percentiles and mapped onto 0…1, in parallel over the voxels. The
/// percentiles are read from every voxel of images up to 200 000 voxels and from an even stride of
/// about 200 000 of larger ones.
///
/// ```swift
/// let ready = UnitRange.scaled(image)                                  // 0.5th–99.5th, as ANTs' SyN scripts winsorise
/// let robust = UnitRange.scaled(image, percentiles: 0.01...0.99)       // beyond them: 0 or 1
/// ```
public enum UnitRange {
    public static func scaled(_ image: Image<Float>, percentiles: ClosedRange<Double> = 0.005...0.995) -> Image<Float> {
        var sample = stride(from: 0, to: image.voxels.count, by: max(1, image.voxels.count / 200_000)).map { image.voxels[$0] }
        sample.sort()
        guard let first = sample.first else { return image }
        let lo = sample[Int(percentiles.lowerBound * Double(sample.count - 1))], hi = sample[Int(percentiles.upperBound * Double(sample.count - 1))]
        let scale: Float = hi > lo ? 1 / (hi - lo) : 1
        let low = hi > lo ? lo : first
        let values = image.voxels.withUnsafeBufferPointer { src in
            VoxelBuffer<Float>(unsafeUninitializedCapacity: src.count) { dst, n in
                let s = UnsafeSendable(src.baseAddress!), d = UnsafeSendable(dst.baseAddress!)
                parallelFor(count: src.count, chunkSize: 1 << 16) { r in
                    for i in r { (d.value + i).initialize(to: min(max((s.value[i] - low) * scale, 0), 1)) }
                }
                n = src.count
            }
        }
        return try! Image(geometry: image.geometry, components: image.components, voxels: values)
    }
}
