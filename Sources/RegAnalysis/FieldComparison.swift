import Foundation
import RegCore

/// How far an estimated transform lands from a known one: the endpoint error |φ(x) − φ*(x)| of two
/// displacement fields on one grid (maps x ↦ x + u(x), fixed → moving space, LPS mm), over a mask,
/// and the angle of the rotation left between their best-fitting linear maps, for rigid and affine
/// recovery experiments.
///
/// ```swift
/// let truth = try TransformFile.readDisplacementField("true_warp.nii.gz")
/// let estimate = try TransformFile.readDisplacementField("tool_field.nii.gz")
/// let c = try FieldComparison(estimate: estimate, truth: truth, mask: brain)
/// print(c.meanError, c.error95, c.rotationDegrees)
/// ```
public struct FieldComparison: Sendable, Codable, Equatable {
    /// Voxels compared (inside the mask).
    public var voxels: Int
    /// Mean, median, 95th percentile and largest endpoint error, mm.
    public var meanError: Double
    public var medianError: Double
    public var error95: Double
    public var maximumError: Double
    /// Mean length of the known displacement over the mask, mm (the error before registration).
    public var meanTruth: Double
    /// Angle (degrees) of the rotation R·R*ᵀ between the rotations of the two maps' least-squares
    /// linear fits over the mask (polar decomposition); 0 when they turn alike.
    public var rotationDegrees: Double

    /// - Parameter mask: voxels to compare (non-zero), on the fields' grid; all voxels when nil.
    /// - Throws: `RegError.geometryMismatch` when the grids differ, `invalidArgument` when the
    ///   mask selects no voxel.
    public init(estimate: VectorField, truth: VectorField, mask: Image<UInt8>? = nil) throws {
        let g = truth.geometry
        guard estimate.geometry.sameGrid(as: g) else {
            throw RegError.geometryMismatch("the estimated field (\(estimate.geometry.brief)) and the known field (\(g.brief)) are on different grids")
        }
        if let mask, !mask.geometry.sameGrid(as: g) {
            throw RegError.geometryMismatch("the mask (\(mask.geometry.brief)) is not on the fields' grid (\(g.brief))")
        }
        var errors: [Double] = [], truthSum = 0.0
        var fitEstimate = LinearFit(), fitTruth = LinearFit()
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let i = g.offset(x, y, z)
            if let mask, mask.voxels[i] == 0 { continue }
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            let e = p + Self.vector(estimate.vectors, i), t = p + Self.vector(truth.vectors, i)
            errors.append((e - t).length)
            truthSum += (t - p).length
            fitEstimate.add(p, e); fitTruth.add(p, t)
        } } }
        guard !errors.isEmpty else { throw RegError.invalidArgument(name: "mask", reason: "selects no voxel") }
        errors.sort()
        let n = errors.count
        voxels = n
        meanError = errors.reduce(0, +) / Double(n)
        medianError = errors[(n - 1) / 2]
        error95 = errors[Int(0.95 * Double(n - 1))]
        maximumError = errors[n - 1]
        meanTruth = truthSum / Double(n)
        let normal = g.dimension == 2 ? g.direction.column(2) : nil
        if let r = fitEstimate.rotation(normal: normal), let s = fitTruth.rotation(normal: normal) {
            let c = min(1, max(-1, ((r * s.transposed).trace - 1) / 2))
            rotationDegrees = acos(c) * 180 / .pi
        } else {
            rotationDegrees = .nan
        }
    }

    static func vector(_ v: VoxelBuffer<Float>, _ i: Int) -> SIMD3<Double> {
        SIMD3(Double(v[3 * i]), Double(v[3 * i + 1]), Double(v[3 * i + 2]))
    }

    /// Least-squares linear part A of q ≈ A p + b from centred cross-moments, A = C_qp C_pp⁻¹.
    struct LinearFit {
        var n = 0.0
        var sumP = SIMD3<Double>.zero, sumQ = SIMD3<Double>.zero
        var pp = Matrix3.diagonal(.zero), qp = Matrix3.diagonal(.zero)

        mutating func add(_ p: SIMD3<Double>, _ q: SIMD3<Double>) {
            n += 1; sumP += p; sumQ += q
            pp = pp + .outer(p, p); qp = qp + .outer(q, p)
        }

        /// The rotation of the fitted map; `normal` (2-D images) is the axis the samples do not
        /// span, taken as mapped to itself.
        func rotation(normal: SIMD3<Double>?) -> Matrix3? {
            let mp = sumP / n, mq = sumQ / n
            var cpp = pp * (1 / n) - .outer(mp, mp), cqp = qp * (1 / n) - .outer(mq, mp)
            if let normal { cpp = cpp + .outer(normal, normal); cqp = cqp + .outer(normal, normal) }
            guard let inverse = cpp.inverse else { return nil }
            return (cqp * inverse).nearestOrthogonal
        }
    }
}
