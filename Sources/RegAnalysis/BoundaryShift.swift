import Foundation
import RegCore

/// Percent volume change from the motion of a region's edge between two images in one space, as
/// SIENA estimates brain atrophy: at every voxel near the mask's boundary, the intensity profiles
/// of both images along the outward normal are differentiated and the shift that best aligns the
/// two derivative profiles (the largest normalised correlation, refined to a fraction of a step by
/// a least-squares fit of the shifted profile with free gain and offset) is the local edge motion. The motion, averaged with the co-area weight |∇m| of the
/// smoothed mask (so every piece of surface counts by its area, whatever its orientation to the
/// grid), times the surface area `∫ |∇m| dV`, is the volume change, calibrated as SIENA does by
/// measuring the baseline shrunk and grown by a known 1 % between them. It measures the images directly,
/// independent of any deformation model: a second estimate beside det J.
///
/// ```swift
/// // baseline and follow-up resampled into their halfway space, with the baseline brain mask there
/// let shift = try BoundaryShift(baseline: baselineHalf, followup: followupHalf, mask: brainHalf)
/// print(shift.percentVolumeChange, shift.meanShift)        // %, mm (outward positive)
/// ```
public struct BoundaryShift: Sendable, Codable, Equatable {
    /// 100 · mean edge motion · surface area / volume.
    public var percentVolumeChange: Double
    /// The area-weighted mean outward motion of the edge, mm.
    public var meanShift: Double
    /// The mask's surface area, mm² (its perimeter in mm on a 2-D grid).
    public var surfaceArea: Double
    /// The mask's volume, mm³ (mm² on a 2-D grid).
    public var volume: Double
    /// Profiles that found a shift, and those rejected for a poor match (correlation < 0.6).
    public var profiles: Int
    public var rejected: Int
    /// Percent volume change per percent measured without calibration, from the baseline shrunk
    /// by 0.5 % against itself grown by 0.5 % (1 when that measure is too small to use).
    public var calibration: Double

    /// - Parameters:
    ///   - window: half the length of the compared profile, mm.
    ///   - maxShift: the largest edge motion searched, mm.
    /// - Throws: `geometryMismatch` when the three are not on one grid, `invalidArgument` for an
    ///   empty mask or one without a boundary inside the grid, or a window or shift that is not
    ///   positive.
    public init(baseline: Image<Float>, followup: Image<Float>, mask: Image<UInt8>, window: Double = 3, maxShift: Double = 2) throws {
        let g = mask.geometry
        for (name, other) in [("baseline", baseline.geometry), ("follow-up", followup.geometry)] where !other.sameGrid(as: g) {
            throw RegError.geometryMismatch("the \(name) image (\(other.brief)) and the mask (\(g.brief)) are not on one grid")
        }
        guard window > 0, maxShift > 0, window.isFinite, maxShift.isFinite else {
            throw RegError.invalidArgument(name: "boundary shift", reason: "window and largest shift must be positive mm, found \(window) and \(maxShift)")
        }
        let inside = mask.voxels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        guard inside > 0 else { throw RegError.invalidArgument(name: "mask", reason: "is empty: it has no edge to follow") }
        let planar = g.dimension == 2 || g.size.z == 1
        let smoothed = Self.smoothedMask(mask, planar: planar)
        volume = Double(inside) * g.voxelVolume
        let raw = Self.measure(baseline.voxels, followup.voxels, smoothed: smoothed, geometry: g, planar: planar, window: window, maxShift: maxShift)
        guard raw.weight > 0 else {
            throw RegError.invalidArgument(name: "mask", reason: "no edge profile matched between the images: the mask has no boundary inside the grid, or its edge shows no intensity edge")
        }
        surfaceArea = raw.area
        profiles = raw.profiles
        rejected = raw.rejected
        // Self-calibration, as SIENA: the baseline shrunk and grown by half a percent of volume
        // about the region's centre (both resampled alike) gives the factor that turns measured
        // edge motion into volume change.
        let centre = Self.centroid(mask), power = 1 / Double(planar ? 2 : 3)
        let smaller = Self.scaled(baseline, by: pow(0.995, power), about: centre, planar: planar)
        let larger = Self.scaled(baseline, by: pow(1.005, power), about: centre, planar: planar)
        let known = Self.measure(smaller, larger, smoothed: smoothed, geometry: g, planar: planar, window: window, maxShift: maxShift)
        let knownShift = known.weight > 0 ? known.weighted / known.weight : 0
        let measuredKnown = 100 * knownShift * raw.area / volume, truth = 100 * (1.005 / 0.995 - 1)
        calibration = measuredKnown > 0.1 * truth ? truth / measuredKnown : 1
        meanShift = raw.weighted / raw.weight
        percentVolumeChange = 100 * meanShift * surfaceArea / volume * calibration
    }

    struct Sums { var area = 0.0, weighted = 0.0, weight = 0.0, profiles = 0, rejected = 0 }

    /// Edge motion from `b` to `f` at every voxel near the smoothed mask's edge.
    static func measure(_ baseline: VoxelBuffer<Float>, _ followup: VoxelBuffer<Float>, smoothed: [Float], geometry g: Geometry, planar: Bool,
                        window: Double, maxShift: Double) -> Sums {
        let step = 0.5 * (planar ? min(g.spacing.x, g.spacing.y) : g.spacing.min())
        let shifts = Int((maxShift / step).rounded(.up)), half = Int((window / step).rounded(.up))
        let voxelVolume = g.voxelVolume
        let toIndex = g.physicalToIndex
        let gradientToPhysical = g.direction * Matrix3.diagonal(SIMD3(1 / g.spacing.x, 1 / g.spacing.y, 1 / g.spacing.z))
        let (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
        // A voxel is near the edge when the smoothed mask changes by more than 2 % a voxel.
        let nearEdge = 0.02 / (planar ? min(g.spacing.x, g.spacing.y) : g.spacing.min())
        return baseline.withUnsafeBufferPointer { b in
            followup.withUnsafeBufferPointer { f in
                smoothed.withUnsafeBufferPointer { m in
                    let (bBox, fBox, mBox) = (UnsafeSendable(b), UnsafeSendable(f), UnsafeSendable(m))
                    return parallelReduce(count: nz, chunkSize: 1, initial: Sums(), combine: {
                        Sums(area: $0.area + $1.area, weighted: $0.weighted + $1.weighted, weight: $0.weight + $1.weight,
                             profiles: $0.profiles + $1.profiles, rejected: $0.rejected + $1.rejected)
                    }) { slices in
                        var s = Sums()
                        var profileB = [Double](repeating: 0, count: 2 * (half + shifts) + 3)
                        var profileF = profileB
                        for z in slices { for y in 0..<ny { for x in 0..<nx {
                            let m = mBox.value, i = x + nx * (y + ny * z)
                            let gi = SIMD3<Double>(x > 0 && x < nx - 1 ? Double(m[i + 1] - m[i - 1]) / 2 : 0,
                                                   y > 0 && y < ny - 1 ? Double(m[i + nx] - m[i - nx]) / 2 : 0,
                                                   !planar && z > 0 && z < nz - 1 ? Double(m[i + nx * ny] - m[i - nx * ny]) / 2 : 0)
                            let gradient = gradientToPhysical * gi
                            let w = gradient.length
                            s.area += w * voxelVolume
                            guard w > nearEdge else { continue }
                            let normal = gradient * (-1 / w)                 // outward: the mask falls along it
                            let stepIndex = toIndex * (normal * step)
                            let center = SIMD3<Double>(Double(x), Double(y), Double(z))
                            let n = half + shifts + 1
                            for k in -n...n {
                                let p = center + stepIndex * Double(k)
                                profileB[k + n] = sample(bBox.value, nx, ny, nz, p)
                                profileF[k + n] = sample(fBox.value, nx, ny, nz, p)
                            }
                            guard let shift = bestShift(profileB, profileF, center: n, half: half, shifts: shifts) else {
                                s.rejected += 1
                                continue
                            }
                            s.profiles += 1
                            s.weighted += w * shift * step
                            s.weight += w
                        } } }
                        return s
                    }
                }
            }
        }
    }

    /// The image grown by `factor` about `center` (a continuous index), trilinear, clamped.
    static func scaled(_ image: Image<Float>, by factor: Double, about center: SIMD3<Double>, planar: Bool) -> VoxelBuffer<Float> {
        let g = image.geometry
        let (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
        var out = VoxelBuffer<Float>(repeating: 0, count: image.voxels.count)
        image.voxels.withUnsafeBufferPointer { v in
            for z in 0..<nz { for y in 0..<ny { for x in 0..<nx {
                var p = center + (SIMD3<Double>(Double(x), Double(y), Double(z)) - center) / factor
                if planar { p.z = Double(z) }
                out[x + nx * (y + ny * z)] = Float(sample(v, nx, ny, nz, p))
            } } }
        }
        return out
    }

    /// The mean index of the mask's voxels.
    static func centroid(_ mask: Image<UInt8>) -> SIMD3<Double> {
        let g = mask.geometry
        var sum = SIMD3<Double>.zero, count = 0.0
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x where mask.voxels[g.offset(x, y, z)] != 0 {
            sum += SIMD3(Double(x), Double(y), Double(z))
            count += 1
        } } }
        return sum / max(count, 1)
    }

    /// The shift, in profile steps, that best aligns the follow-up's derivative profile with the
    /// baseline's over `±half` steps about `center`; nil when the best correlation is below 0.6
    /// or a profile is flat.
    static func bestShift(_ b: [Double], _ f: [Double], center: Int, half: Int, shifts: Int) -> Double? {
        func derivative(_ p: [Double], _ k: Int) -> Double { p[k + 1] - p[k - 1] }
        var bb = 0.0
        for k in -half...half { bb += derivative(b, center + k) * derivative(b, center + k) }
        guard bb > 0 else { return nil }
        var scores = [Double](repeating: -2, count: 2 * shifts + 1)
        for j in -shifts...shifts {
            var bf = 0.0, ff = 0.0
            for k in -half...half {
                let db = derivative(b, center + k), df = derivative(f, center + k + j)
                bf += db * df
                ff += df * df
            }
            scores[j + shifts] = ff > 0 ? bf / (bb * ff).squareRoot() : -2
        }
        let best = scores.indices.max { scores[$0] < scores[$1] }!
        guard scores[best] >= 0.6 else { return nil }
        let j = best - shifts
        // Sub-step refinement without the parabola's pull towards whole steps: least squares of
        // F(k + j) ≈ a·B(k) − a·δ·B′(k) + b over the window (gain a and offset b free).
        var m = [Double](repeating: 0, count: 9), v = [Double](repeating: 0, count: 3)
        for k in -half...half {
            let x = [b[center + k], derivative(b, center + k) / 2, 1.0], y = f[center + k + j]
            for r in 0..<3 {
                v[r] += x[r] * y
                for c in 0..<3 { m[3 * r + c] += x[r] * x[c] }
            }
        }
        let solved = Matrix3(rowMajor: m).inverse.map { $0 * SIMD3(v[0], v[1], v[2]) }
        guard let coefficients = solved, coefficients.x > 0 else { return Double(j) }
        let delta = -coefficients.y / coefficients.x
        return abs(delta) <= 1 ? Double(j) + delta : Double(j)
    }

    /// Trilinear value at a continuous index, clamped to the grid.
    static func sample(_ v: UnsafeBufferPointer<Float>, _ nx: Int, _ ny: Int, _ nz: Int, _ p: SIMD3<Double>) -> Double {
        let x = min(max(p.x, 0), Double(nx - 1)), y = min(max(p.y, 0), Double(ny - 1)), z = min(max(p.z, 0), Double(nz - 1))
        let x0 = min(Int(x), max(nx - 2, 0)), y0 = min(Int(y), max(ny - 2, 0)), z0 = min(Int(z), max(nz - 2, 0))
        let (x1, y1, z1) = (min(x0 + 1, nx - 1), min(y0 + 1, ny - 1), min(z0 + 1, nz - 1))
        let (fx, fy, fz) = (x - Double(x0), y - Double(y0), z - Double(z0))
        func at(_ a: Int, _ b: Int, _ c: Int) -> Double { Double(v[a + nx * (b + ny * c)]) }
        let c00 = at(x0, y0, z0) * (1 - fx) + at(x1, y0, z0) * fx, c10 = at(x0, y1, z0) * (1 - fx) + at(x1, y1, z0) * fx
        let c01 = at(x0, y0, z1) * (1 - fx) + at(x1, y0, z1) * fx, c11 = at(x0, y1, z1) * (1 - fx) + at(x1, y1, z1) * fx
        return (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz
    }

    /// The mask as 0/1, smoothed by the binomial kernel [1 4 6 4 1]/16 (σ = 1 voxel) along each
    /// axis of the grid (not across the plane of a 2-D grid).
    static func smoothedMask(_ mask: Image<UInt8>, planar: Bool) -> [Float] {
        let g = mask.geometry
        var values = mask.voxels.map { $0 != 0 ? Float(1) : 0 }
        let strides = [1, g.size.x, g.size.x * g.size.y], lengths = [g.size.x, g.size.y, g.size.z]
        let kernel: [Float] = [1, 4, 6, 4, 1].map { $0 / 16 }
        for axis in 0..<(planar ? 2 : 3) where lengths[axis] > 1 {
            let source = values, stride = strides[axis], length = lengths[axis]
            for i in values.indices {
                let position = (i / stride) % length
                var sum: Float = 0
                for (t, weight) in kernel.enumerated() {
                    let q = min(max(position + t - 2, 0), length - 1)
                    sum += weight * source[i + (q - position) * stride]
                }
                values[i] = sum
            }
        }
        return values
    }
}
