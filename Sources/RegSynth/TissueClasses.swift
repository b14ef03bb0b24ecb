import RegCore
import RegKernels

/// Three intensity classes of a skull-stripped brain, as labels for known-warp experiments
/// on images without segmentations: brain voxels (> 0) split at the terciles of their
/// intensities after a Gaussian of 1 voxel (so that noise does not fragment the classes);
/// labels 1, 2, 3 from dark to bright, 0 outside.
///
/// ```swift
/// let labels = TissueClasses.terciles(of: brain)   // Image<Int32>
/// ```
public enum TissueClasses {
    public static func terciles(of image: Image<Float>) -> Image<Int32> {
        let smooth = GaussianSmoothing.smooth(image, sigma: .voxels(1))
        let inside = image.voxels.indices.filter { image.voxels[$0] > 0 }.map { smooth.voxels[$0] }.sorted()
        var out = Image<Int32>(geometry: image.geometry)
        guard !inside.isEmpty else { return out }
        let t1 = inside[inside.count / 3], t2 = inside[2 * inside.count / 3]
        for i in out.voxels.indices where image.voxels[i] > 0 {
            let v = smooth.voxels[i]
            out.voxels[i] = v < t1 ? 1 : (v < t2 ? 2 : 3)
        }
        return out
    }
}
