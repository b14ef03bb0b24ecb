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
    /// Fixed mean intensities by label (a known contrast); labels not listed draw theirs.
    public var means: [Int32: Double]?

    public init(meanRange: ClosedRange<Double> = 0.05...1, noiseRange: ClosedRange<Double> = 0...0.05,
                blurRange: ClosedRange<Double> = 0.5...1.2, biasStrength: Double = 0.2, biasSpacing: Double = 48,
                means: [Int32: Double]? = nil) {
        self.meanRange = meanRange
        self.noiseRange = noiseRange
        self.blurRange = blurRange
        self.biasStrength = biasStrength
        self.biasSpacing = biasSpacing
        self.means = means
    }

    /// FreeSurfer (aseg) labels by tissue, for the fixed contrasts below.
    static let whiteMatter: [Int32] = [2, 7, 16, 28, 41, 46, 60, 85]
    static let cortex: [Int32] = [3, 8, 17, 18, 42, 47, 53, 54]
    static let deepGrey: [Int32] = [10, 11, 12, 26, 49, 50, 51, 58]
    static let pallidum: [Int32] = [13, 52]
    static let fluid: [Int32] = [4, 5, 14, 15, 24, 30, 31, 43, 44, 62, 63, 72]

    static func table(white: Double, cortex c: Double, deep: Double, pallidum p: Double, fluid f: Double) -> [Int32: Double] {
        var t = [Int32: Double]()
        for (labels, v) in [(whiteMatter, white), (cortex, c), (deepGrey, deep), (pallidum, p), (fluid, f)] { for l in labels { t[l] = v } }
        return t
    }

    /// A T1-weighted look on FreeSurfer labels: white matter bright, cortex darker, fluid dark.
    /// Labels outside the brain keep random intensities.
    public static var t1Like: ContrastSynthesis {
        ContrastSynthesis(means: table(white: 0.85, cortex: 0.55, deep: 0.65, pallidum: 0.75, fluid: 0.15))
    }

    /// A T2-weighted look: fluid bright, white matter dark.
    public static var t2Like: ContrastSynthesis {
        ContrastSynthesis(means: table(white: 0.35, cortex: 0.6, deep: 0.55, pallidum: 0.45, fluid: 0.95))
    }

    /// One image on the label map's grid; the same seed gives the same image on every machine.
    public func image(from labels: Image<Int32>, seed: UInt64) throws -> Image<Float> {
        var rng = SplitMix64(seed: seed)
        func uniform(_ r: ClosedRange<Double>) -> Double { r.lowerBound + rng.nextUnit() * (r.upperBound - r.lowerBound) }
        // A table over the label range; labels present draw their mean and noise in ascending order.
        guard let low = labels.voxels.min(), let high = labels.voxels.max(), Int(high) - Int(low) < 1 << 24 else {
            throw RegError.invalidArgument(name: "labels", reason: "label values must span fewer than 2²⁴ integers")
        }
        var present = [Bool](repeating: false, count: Int(high) - Int(low) + 1)
        for v in labels.voxels { present[Int(v) - Int(low)] = true }
        var means = [Float](repeating: 0, count: present.count), noises = means
        for k in present.indices where present[k] {
            let label = Int(low) + k
            if label != 0 {
                let drawn = uniform(meanRange)   // drawn even when fixed, so the other draws do not move
                means[k] = Float(self.means?[Int32(label)] ?? drawn)
            }
            noises[k] = Float(uniform(noiseRange))
        }
        var image = Image<Float>(geometry: labels.geometry)
        for i in image.voxels.indices {
            let k = Int(labels.voxels[i]) - Int(low)
            image.voxels[i] = means[k] + noises[k] * Float(rng.nextGaussian())
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
