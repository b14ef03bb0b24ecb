import Foundation
import RegCore
import RegTransforms

/// How the first stage's transform is initialised.
public enum Initialization: String, Sendable, Codable, CaseIterable {
    /// Identity (the images' physical placement is trusted as is).
    case none
    /// Translate the moving image's domain centre onto the fixed one's.
    case geometry
    /// Translate the moving image's centre of mass onto the fixed one's.
    case moments
    /// Centres of mass plus the rotation that aligns the principal axes of the intensity
    /// distributions (the proper rotation closest to the identity among the axis-sign choices).
    case principalAxes
    /// The least-squares fit of the landmarks (needs landmark pairs).
    case landmarks
}

extension Initialization {
    /// The summary's `start` when the linear stages started from a given transform
    /// (`PlanInputs.initialTransform`) instead of an initialisation.
    public static let initialTransformName = "initialTransform"

    /// The intensity-weighted centre of mass of an image (inside `mask`), LPS mm: the centre
    /// `moments` brings together.
    ///
    /// ```swift
    /// let shift = Initialization.centreOfMass(of: moving) - Initialization.centreOfMass(of: fixed)
    /// ```
    public static func centreOfMass(of image: Image<Float>, mask: Image<UInt8>? = nil) -> SIMD3<Double> {
        Moments.of(image, mask: mask).center
    }
}

/// Centres, moments and principal axes of images, in physical space.
enum Moments {
    /// The centre of the image's domain (voxel-centre box).
    static func domainCenter(_ g: Geometry) -> SIMD3<Double> {
        g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5)
    }

    /// Intensity-weighted centre of mass and second central moments (weights: intensity above the
    /// image minimum, inside `mask` when given). Summed per slice in slice order (deterministic).
    static func of(_ image: Image<Float>, mask: Image<UInt8>?) -> (center: SIMD3<Double>, covariance: Matrix3) {
        let g = image.geometry, s = g.size
        let floor = image.voxels.min() ?? 0
        let toPhysical = g.indexToPhysical, origin = g.origin
        let ones = VoxelBuffer<UInt8>(repeating: 1, count: mask == nil ? s.x : 0)
        let sums = image.voxels.withUnsafeBufferPointer { v in
            (mask?.voxels ?? ones).withUnsafeBufferPointer { m in
                let vs = UnsafeSendable(v), ms = UnsafeSendable(m), masked = mask != nil
                return parallelReduce(count: s.z * s.y, chunkSize: s.y, initial: MomentSums(), combine: +) { rows in
                    var out = MomentSums()
                    for row in rows {
                        let y = row % s.y, z = row / s.y
                        let start = origin + toPhysical * SIMD3(0, Double(y), Double(z))
                        let step = toPhysical.column(0)
                        let base = row &* s.x
                        for x in 0..<s.x {
                            if masked, ms.value[base &+ x] == 0 { continue }
                            let w = Double(vs.value[base &+ x] - floor)
                            guard w > 0 else { continue }
                            let p = start + Double(x) * step
                            out.add(p, weight: w)
                        }
                    }
                    return out
                }
            }
        }
        guard sums.weight > 0 else { return (domainCenter(g), .identity) }
        let mean = sums.first / sums.weight
        return (mean, sums.second * (1 / sums.weight) - Matrix3.outer(mean, mean))
    }

    /// The rotation taking the fixed principal axes onto the moving ones, nearest the identity.
    static func principalRotation(fixed: Matrix3, moving: Matrix3, dimension: Int) -> Matrix3 {
        principalRotations(fixed: fixed, moving: moving, dimension: dimension).max { $0.trace < $1.trace } ?? .identity
    }

    /// Every proper rotation taking the fixed principal axes onto the moving ones: eigenvectors
    /// have arbitrary signs, so four in 3-D, two in 2-D (those that leave z alone).
    static func principalRotations(fixed: Matrix3, moving: Matrix3, dimension: Int) -> [Matrix3] {
        let f = fixed.symmetricEigen().vectors, m = moving.symmetricEigen().vectors
        return (0..<8).compactMap { bits in
            let sign = SIMD3<Double>(bits & 1 == 0 ? 1 : -1, bits & 2 == 0 ? 1 : -1, bits & 4 == 0 ? 1 : -1)
            let r = m * Matrix3.diagonal(sign) * f.transposed
            return r.determinant > 0 && (dimension == 3 || abs(r[2, 2] - 1) < 1e-6) ? r : nil
        }
    }
}

/// Zeroth, first and second moments of weighted points.
struct MomentSums {
    var weight = 0.0
    var first = SIMD3<Double>.zero
    var second = Matrix3.diagonal(.zero)

    @inline(__always) mutating func add(_ p: SIMD3<Double>, weight w: Double) {
        weight += w
        let wp = w * p
        first += wp
        second.row0 += wp.x * p; second.row1 += wp.y * p; second.row2 += wp.z * p
    }

    static func + (a: MomentSums, b: MomentSums) -> MomentSums {
        MomentSums(weight: a.weight + b.weight, first: a.first + b.first, second: a.second + b.second)
    }
}
