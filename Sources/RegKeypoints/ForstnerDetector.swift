import Foundation
import RegCore
import RegKernels

/// Corner detection with the Förstner operator, as Heinrich et al. use it for lung CT: the
/// structure tensor T (outer products of the image gradient, Gaussian-smoothed), and its
/// distinctiveness D = 1 / trace(T⁻¹) (det T over the sum of its principal 2×2 minors in 3-D,
/// det T / trace T in 2-D), large where the gradient turns in every direction: at corners and
/// blobs, not along edges or in flat regions. Points are the local maxima of D above its mean
/// over the mask, spread over the mask (the strongest maximum of each cell of a grid sized so
/// that there are `count` cells, then the strongest of the rest), at most `count` of them,
/// strongest first. D does not depend on the direction cosines, so an oblique or turned image
/// gives the same points (in physical space).
///
/// ```swift
/// let corners = ForstnerDetector(count: 1000).detect(in: image, mask: brainMask)
/// for k in corners.prefix(3) { print(k.position) }   // LPS mm
/// ```
public struct ForstnerDetector: Sendable {
    /// How many points at most.
    public var count: Int
    /// Gaussian smoothing before the gradient, voxels.
    public var derivativeSigma: Double
    /// Gaussian smoothing of the structure tensor (its integration scale), voxels.
    public var integrationSigma: Double
    /// Radius of the non-maximum suppression, in voxels of the finest axis (converted to mm,
    /// then to each axis's voxels).
    public var suppressionRadius: Double
    /// Points keep this many voxels away from the image edges, so patches around them fit.
    public var border: Int

    public init(count: Int = 2000, derivativeSigma: Double = 0.7, integrationSigma: Double = 1.4,
                suppressionRadius: Double = 3, border: Int = 4) {
        self.count = count
        self.derivativeSigma = derivativeSigma
        self.integrationSigma = integrationSigma
        self.suppressionRadius = suppressionRadius
        self.border = border
    }

    /// The keypoints of `image` inside `mask` (nonzero voxels, on the image's grid; nil: all).
    /// - Throws: `RegError.geometryMismatch` when the mask is on another grid,
    ///   `RegError.invalidArgument` for a count below 1 or a multi-component image.
    public func detect(in image: Image<Float>, mask: Image<UInt8>? = nil) throws -> [Keypoint] {
        guard count >= 1 else { throw RegError.invalidArgument(name: "count", reason: "must be at least 1, got \(count)") }
        guard image.components == 1 else {
            throw RegError.invalidArgument(name: "image", reason: "keypoints need a scalar image, this one has \(image.components) components")
        }
        if let mask, !mask.geometry.sameGrid(as: image.geometry) {
            throw RegError.geometryMismatch("the keypoint mask is not on the image's grid")
        }
        let g = image.geometry
        let (strength, gradient) = distinctiveness(image)
        let radius = suppressionRadii(g)
        let peaks = LocalMaxima.filter(strength, size: g.size, radius: radius)
        // Without a mask every voxel is inside.
        let inside = mask?.voxels ?? VoxelBuffer<UInt8>(repeating: 1, count: g.voxelCount)
        var meanStrength = 0.0, insideCount = 0
        for i in 0..<g.voxelCount where inside[i] != 0 { meanStrength += Double(strength[i]); insideCount += 1 }
        guard insideCount > 0 else { return [] }
        meanStrength /= Double(insideCount)

        var candidates: [Int] = []
        let lo = SIMD3(border, border, g.dimension == 2 ? 0 : border)
        let hi = g.size &- 1 &- lo
        guard all(hi .>= lo) else { return [] }
        for z in lo.z...hi.z {
            for y in lo.y...hi.y {
                for x in lo.x...hi.x {
                    let i = g.offset(x, y, z)
                    let s = strength[i]
                    if s > 0, Double(s) > meanStrength, s == peaks[i], inside[i] != 0 { candidates.append(i) }
                }
            }
        }
        candidates.sort { strength[$0] != strength[$1] ? strength[$0] > strength[$1] : $0 < $1 }
        let chosen = spread(candidates, geometry: g, region: insideCount)
        return chosen.map { i in
            let v = SIMD3(i % g.size.x, (i / g.size.x) % g.size.y, i / (g.size.x * g.size.y))
            return Keypoint(position: refined(v, gradient: gradient), voxel: v, strength: strength[i])
        }
    }

    /// Förstner's sub-voxel corner: the point nearest, in least squares, to every edge line (or
    /// plane) through the window about `voxel`, each weighted by its squared gradient: the
    /// solution of (Σ w g gᵀ) x = Σ w g gᵀ p. Kept only when it lies within the window.
    func refined(_ voxel: SIMD3<Int>, gradient: VectorField) -> SIMD3<Double> {
        let g = gradient.geometry
        let centre = g.physicalPoint(ofIndex: SIMD3<Double>(voxel))
        let reach = max(1, Int((2 * integrationSigma).rounded(.up)))
        var a = Matrix3.diagonal(.zero), b = SIMD3<Double>.zero
        let zReach = g.dimension == 2 ? 0 : reach
        for dz in -zReach...zReach {
            for dy in -reach...reach {
                for dx in -reach...reach {
                    let v = voxel &+ SIMD3(dx, dy, dz)
                    guard all(v .>= 0), all(v .< g.size) else { continue }
                    let w = exp(-Double(dx * dx + dy * dy + dz * dz) / (2 * integrationSigma * integrationSigma))
                    let d = SIMD3<Double>(gradient[v.x, v.y, v.z])
                    let p = g.physicalPoint(ofIndex: SIMD3<Double>(v)) - centre
                    let outer = Matrix3.outer(d, d) * w
                    a = a + outer
                    b += outer * p
                }
            }
        }
        if g.dimension == 2 {   // hold the point in the image's plane
            let normal = g.direction.column(2), weight = max(a.row0.x + a.row1.y + a.row2.z, 1e-12)
            a = a + Matrix3.outer(normal, normal) * weight
        }
        guard let inverse = a.inverse else { return centre }
        let offset = inverse * b
        let index = g.continuousIndex(ofPhysicalPoint: centre + offset) - SIMD3<Double>(voxel)
        return all(SIMD3(abs(index.x), abs(index.y), abs(index.z)) .<= Double(reach)) ? centre + offset : centre
    }

    /// The Förstner distinctiveness at every voxel, and the gradient it was made from.
    func distinctiveness(_ image: Image<Float>) -> ([Float], VectorField) {
        let g = image.geometry
        let smoothed = GaussianSmoothing.smooth(image, sigma: .voxels(derivativeSigma))
        let gradient = ImageGradient.gradient(of: smoothed)
        let n = g.voxelCount
        // Six planar tensor volumes: xx, xy, xz, yy, yz, zz.
        var tensor = Image<Float>(geometry: g, components: 6)
        gradient.vectors.withUnsafeBufferPointer { gb in
            tensor.voxels.withUnsafeMutableBufferPointer { tb in
                let gp = UnsafeSendable(gb.baseAddress!), tp = UnsafeSendable(tb.baseAddress!)
                parallelFor(count: n, chunkSize: 1 << 15) { r in
                    for i in r {
                        let (gx, gy, gz) = (gp.value[3 * i], gp.value[3 * i + 1], gp.value[3 * i + 2])
                        let t = tp.value + 6 * i
                        t[0] = gx * gx; t[1] = gx * gy; t[2] = gx * gz
                        t[3] = gy * gy; t[4] = gy * gz; t[5] = gz * gz
                    }
                }
            }
        }
        tensor = GaussianSmoothing.smooth(tensor, sigma: .voxels(integrationSigma))
        let planar = g.dimension == 2
        let strength = tensor.voxels.withUnsafeBufferPointer { tb in
            [Float](unsafeUninitializedCapacity: n) { out, done in
                let tp = UnsafeSendable(tb.baseAddress!), op = UnsafeSendable(out.baseAddress!)
                parallelFor(count: n, chunkSize: 1 << 15) { r in
                    for i in r {
                        let t = tp.value + 6 * i
                        let (xx, xy, xz, yy, yz, zz) = (Double(t[0]), Double(t[1]), Double(t[2]), Double(t[3]), Double(t[4]), Double(t[5]))
                        let trace = xx + yy + zz
                        let minors = (xx * yy - xy * xy) + (xx * zz - xz * xz) + (yy * zz - yz * yz)
                        let det = xx * (yy * zz - yz * yz) - xy * (xy * zz - yz * xz) + xz * (xy * yz - yy * xz)
                        let d = planar ? (trace > 0 ? minors / trace : 0) : (minors > 0 ? det / minors : 0)
                        (op.value + i).initialize(to: Float(max(0, d)))
                    }
                }
                done = n
            }
        }
        return (strength, gradient)
    }

    /// The suppression radius along each axis, voxels.
    func suppressionRadii(_ g: Geometry) -> SIMD3<Int> {
        let mm = suppressionRadius * g.spacing.min()
        var r = SIMD3<Int>(max(1, Int((mm / g.spacing.x).rounded())), max(1, Int((mm / g.spacing.y).rounded())),
                           max(1, Int((mm / g.spacing.z).rounded())))
        if g.dimension == 2 { r.z = 0 }
        return r
    }

    /// The strongest candidate of each cell of a grid with about `count` cells over the region,
    /// then the strongest of the rest, up to `count`, in order of strength.
    func spread(_ sorted: [Int], geometry g: Geometry, region: Int) -> [Int] {
        guard sorted.count > count else { return sorted }
        let dims = g.dimension == 2 ? 2.0 : 3.0
        let side = max(1, Int(pow(Double(region) / Double(count), 1 / dims).rounded(.down)))
        let cells = (g.size &+ side &- 1) / side
        var taken = Set<Int>(), chosen: [Int] = [], rest: [Int] = []
        for i in sorted {
            let v = SIMD3(i % g.size.x, (i / g.size.x) % g.size.y, i / (g.size.x * g.size.y)) / side
            let cell = v.x + cells.x * (v.y + cells.y * v.z)
            if chosen.count < count, taken.insert(cell).inserted { chosen.append(i) } else { rest.append(i) }
        }
        chosen.append(contentsOf: rest.prefix(count - chosen.count))
        let rank = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
        return chosen.sorted { rank[$0]! < rank[$1]! }
    }
}
