import Foundation
import RegCore

/// The dense stages' side of `Metric`: a similarity of two images on one grid with its
/// derivative at every voxel of both. Higher values are better for every measure.
///
/// ```swift
/// let s = Metric.localCorrelation(radius: 2).evaluate(fixed: warpedFixed, moving: warpedMoving, mask: nil)
/// ```
extension Metric {
    /// Value and derivatives, counting only voxels inside `mask` (nonzero) when one is given.
    /// Only the dense measures (`isDense`); plans check this before a run.
    public func evaluate(fixed: Image<Float>, moving: Image<Float>, mask: Image<UInt8>?) -> VoxelwiseSimilarity {
        switch self {
        case .localCorrelation(let r):
            return LocalCorrelation.evaluate(fixed: fixed, moving: moving, radius: r, mask: mask)
        case .meanSquares:
            return Self.meanSquares(fixed: fixed, moving: moving, mask: mask)
        case .mutualInformation(let bins):
            return DenseMutualInformation.evaluate(fixed: fixed, moving: moving, bins: bins, mask: mask)
        case .meanAbsoluteDifference, .normalizedCorrelation, .normalizedMutualInformation:
            preconditionFailure("\(name) is not a dense metric; valid: \(Metric.denseNames.joined(separator: ", "))")
        }
    }

    static func meanSquares(fixed: Image<Float>, moving: Image<Float>, mask: Image<UInt8>?) -> VoxelwiseSimilarity {
        let n = fixed.voxels.count
        let maskVoxels = mask?.voxels ?? []
        let inside: (Int) -> Bool = { i in maskVoxels.isEmpty || maskVoxels[i] != 0 }
        var count = 0, sum = 0.0
        for i in 0..<n where inside(i) {
            let d = Double(fixed.voxels[i] - moving.voxels[i])
            sum += d * d; count += 1
        }
        let scale = Float(2 / Double(max(1, count)))
        var dI = [Float](repeating: 0, count: n), dJ = dI
        for i in 0..<n where inside(i) {
            let d = fixed.voxels[i] - moving.voxels[i]
            dJ[i] = scale * d; dI[i] = -scale * d
        }
        return VoxelwiseSimilarity(value: -sum / Double(max(1, count)), fixedDerivative: dI, movingDerivative: dJ)
    }
}

/// A similarity value with its derivative at every voxel of the two images compared.
public struct VoxelwiseSimilarity: Sendable {
    /// The similarity (higher is better).
    public var value: Double
    /// `∂value/∂I(y)` for every voxel of the fixed-side image.
    public var fixedDerivative: [Float]
    /// `∂value/∂J(y)` for every voxel of the moving-side image.
    public var movingDerivative: [Float]

    public init(value: Double, fixedDerivative: [Float], movingDerivative: [Float]) {
        self.value = value
        self.fixedDerivative = fixedDerivative
        self.movingDerivative = movingDerivative
    }
}

/// Mutual information over all voxels with cubic B-spline Parzen windows on both intensity
/// axes, so it is differentiable in both images: `MI = Σ p log(p / (p_I p_J))` and
/// `∂MI/∂J(y) = −(1/(N·w_J)) Σ_ab β₃(a − η_I(y)) β₃′(b − η_J(y)) log(p_ab / p_J(b))`.
enum DenseMutualInformation {
    static func evaluate(fixed: Image<Float>, moving: Image<Float>, bins: Int, mask: Image<UInt8>?) -> VoxelwiseSimilarity {
        let n = fixed.voxels.count
        let maskVoxels = mask?.voxels ?? []
        let inside: (Int) -> Bool = { i in maskVoxels.isEmpty || maskVoxels[i] != 0 }
        let (fLo, fHi) = JointHistogramBinning.range(fixed.voxels), (mLo, mHi) = JointHistogramBinning.range(moving.voxels)
        let wI = fHi > fLo ? Double(fHi - fLo) / Double(bins - 5) : 1, wJ = mHi > mLo ? Double(mHi - mLo) / Double(bins - 5) : 1
        let eta = { (v: Float, lo: Float, w: Double) in min(max(2 + Double(v - lo) / w, 2), Double(bins - 3)) }
        let counts = parallelReduce(count: n, chunkSize: 1 << 15, initial: [Double](repeating: 0, count: bins * bins),
                                    combine: { a, b in zip(a, b).map(+) }) { range in
            var h = [Double](repeating: 0, count: bins * bins)
            for i in range where inside(i) {
                let ei = eta(fixed.voxels[i], fLo, wI), ej = eta(moving.voxels[i], mLo, wJ)
                let a0 = Int(ei) - 1, b0 = Int(ej) - 1
                for a in 0..<4 {
                    let wa = cubicBSpline(Double(a0 + a) - ei)
                    for b in 0..<4 { h[(a0 + a) * bins + b0 + b] += wa * cubicBSpline(Double(b0 + b) - ej) }
                }
            }
            return h
        }
        let total = max(counts.reduce(0, +), 1e-12)
        let p = counts.map { $0 / total }
        var pI = [Double](repeating: 0, count: bins), pJ = pI
        for a in 0..<bins { for b in 0..<bins { pI[a] += p[a * bins + b]; pJ[b] += p[a * bins + b] } }
        var mi = 0.0
        var logJ = [Double](repeating: 0, count: bins * bins), logI = logJ
        for a in 0..<bins { for b in 0..<bins where p[a * bins + b] > 1e-12 {
            let v = p[a * bins + b]
            mi += v * log(v / (pI[a] * pJ[b]))
            logJ[a * bins + b] = log(v / pJ[b]); logI[a * bins + b] = log(v / pI[a])
        } }
        let samples = Double(max(1, (0..<n).reduce(0) { $0 + (inside($1) ? 1 : 0) }))
        var dI = [Float](repeating: 0, count: n), dJ = dI
        dI.withUnsafeMutableBufferPointer { dIb in
            dJ.withUnsafeMutableBufferPointer { dJb in
                let oi = UnsafeSendable(dIb.baseAddress!), oj = UnsafeSendable(dJb.baseAddress!)
                parallelFor(count: n, chunkSize: 1 << 15) { range in
                    for i in range where inside(i) {
                        let ei = eta(fixed.voxels[i], fLo, wI), ej = eta(moving.voxels[i], mLo, wJ)
                        let a0 = Int(ei) - 1, b0 = Int(ej) - 1
                        var gi = 0.0, gj = 0.0
                        for a in 0..<4 {
                            let wa = cubicBSpline(Double(a0 + a) - ei), da = cubicBSplineDerivative(Double(a0 + a) - ei)
                            for b in 0..<4 {
                                let k = (a0 + a) * bins + b0 + b
                                gj += wa * cubicBSplineDerivative(Double(b0 + b) - ej) * logJ[k]
                                gi += da * cubicBSpline(Double(b0 + b) - ej) * logI[k]
                            }
                        }
                        oj.value[i] = Float(-gj / (samples * wJ)); oi.value[i] = Float(-gi / (samples * wI))
                    }
                }
            }
        }
        return VoxelwiseSimilarity(value: mi, fixedDerivative: dI, movingDerivative: dJ)
    }
}
