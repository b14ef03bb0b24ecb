#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RegCore
import RegKernels
import RegTransforms

/// Images of random contrast painted from a label map, as SynthSeg and SynthMorph make them:
/// each label gets a random mean intensity and noise level, then the image is blurred, multiplied
/// by a smooth random bias field and mapped to 0…1. Two draws from one label map look like two
/// different MR contrasts of the same anatomy, with exact labels.
///
/// ```swift
/// let synth = ContrastSynthesis()
/// let t1like = try synth.image(from: labels, seed: 1)
/// let other = try synth.image(from: labels, seed: 2)   // another contrast, same anatomy
/// ```
public struct ContrastSynthesis: Equatable, Sendable, Codable {
    /// Range of each label's mean intensity (label 0, the background, keeps mean 0).
    public var meanRange: ClosedRange<Double>
    /// Range of each label's noise standard deviation.
    public var noiseRange: ClosedRange<Double>
    /// Range of the Gaussian blur sigma, voxels.
    public var blurRange: ClosedRange<Double>
    /// Standard deviation of the log bias field's control values, and their spacing in mm.
    public var biasStrength: Double
    public var biasSpacing: Double

    public init(meanRange: ClosedRange<Double> = 0.05...1, noiseRange: ClosedRange<Double> = 0...0.05,
                blurRange: ClosedRange<Double> = 0.5...1.2, biasStrength: Double = 0.2, biasSpacing: Double = 48) {
        self.meanRange = meanRange
        self.noiseRange = noiseRange
        self.blurRange = blurRange
        self.biasStrength = biasStrength
        self.biasSpacing = biasSpacing
    }

    /// One image on the label map's grid; the same seed gives the same image on every machine.
    public func image(from labels: Image<Int32>, seed: UInt64) throws -> Image<Float> {
        var rng = SplitMix64(seed: seed)
        func uniform(_ r: ClosedRange<Double>) -> Double { r.lowerBound + rng.nextUnit() * (r.upperBound - r.lowerBound) }
        var means: [Int32: (Float, Float)] = [:]
        for label in Set(labels.voxels).sorted() {
            means[label] = label == 0 ? (0, Float(uniform(noiseRange))) : (Float(uniform(meanRange)), Float(uniform(noiseRange)))
        }
        var image = Image<Float>(geometry: labels.geometry)
        for i in image.voxels.indices {
            let (mean, noise) = means[labels.voxels[i]]!
            image.voxels[i] = mean + noise * Float(rng.nextGaussian())
        }
        image = GaussianSmoothing.smooth(image, sigma: .voxels(uniform(blurRange)))
        var bias = try BSplineGrid(covering: labels.geometry, spacing: SIMD3(repeating: biasSpacing))
        for i in bias.coefficients.vectors.indices { bias.coefficients.vectors[i] = Float(biasStrength * rng.nextGaussian()) }
        let logBias = try bias.field(on: labels.geometry)
        var lo = Float.infinity, hi = -Float.infinity
        for i in image.voxels.indices {
            let v = image.voxels[i] * exp(logBias.vectors[3 * i])
            image.voxels[i] = v
            lo = min(lo, v); hi = max(hi, v)
        }
        let scale = hi > lo ? 1 / (hi - lo) : 1
        for i in image.voxels.indices { image.voxels[i] = (image.voxels[i] - lo) * scale }
        return image
    }
}
