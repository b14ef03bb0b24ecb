import RegCore

/// Intensity preprocessing applied to both images before a registration.
///
/// ```swift
/// let pre = IntensityNormalization(winsorize: 0.005...0.995, zScore: true)
/// let ready = pre.apply(to: image)
/// ```
public struct IntensityNormalization: Equatable, Sendable, Codable {
    /// Clamp intensities to these lower and upper percentiles (as fractions), as ANTs'
    /// `--winsorize-image-intensities` does; nil keeps them.
    public var winsorize: ClosedRange<Double>?
    /// Subtract the mean and divide by the standard deviation ("normalised SSD").
    public var zScore: Bool

    public init(winsorize: ClosedRange<Double>? = nil, zScore: Bool = false) {
        self.winsorize = winsorize
        self.zScore = zScore
    }

    public func apply(to image: Image<Float>) -> Image<Float> {
        var out = image
        if let w = winsorize, !image.voxels.isEmpty {
            let sorted = image.voxels.sorted()
            let pick = { (q: Double) in sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count - 1)).rounded())))] }
            let lo = pick(w.lowerBound), hi = pick(w.upperBound)
            for i in out.voxels.indices { out.voxels[i] = min(max(out.voxels[i], lo), hi) }
        }
        if zScore, !out.voxels.isEmpty {
            let n = Double(out.voxels.count)
            let mean = out.voxels.reduce(0.0) { $0 + Double($1) } / n
            let variance = out.voxels.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
            let sd = variance > 0 ? variance.squareRoot() : 1
            for i in out.voxels.indices { out.voxels[i] = Float((Double(out.voxels[i]) - mean) / sd) }
        }
        return out
    }
}
