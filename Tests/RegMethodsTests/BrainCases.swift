import RegCore
import RegIO
import RegKernels
import RegTestSupport
import RegTransforms

/// Real brains placed on oblique, anisotropic grids with non-zero origins, and moving images made
/// from them through known transforms.
enum BrainCases {
    /// `clapirn/image_A_fullsize` (160×192×224, 1 mm) shrunk by `factor`, then given an oblique,
    /// anisotropic geometry with a non-zero origin.
    static func obliqueBrain(_ relative: String = "brain/clapirn/image_A_fullsize.nii.gz", factor: Int = 2) throws -> Image<Float> {
        let image = try ImageFile.read(SharedData.path(relative)).image.floatImage()
        let small = try Shrink.shrink(image, factors: SIMD3(repeating: factor))
        let spacing = SIMD3<Double>(1.9, 2.15, 2.3) * Double(factor) / 2
        let g = try Geometry(size: small.geometry.size, spacing: spacing, origin: SIMD3(-83.5, 101.25, -47.0),
                             direction: Phantoms.rotation(8, -12, 15))
        return try Image(geometry: g, voxels: small.voxels)
    }

    /// The moving image `M = F ∘ S` on another oblique grid, where `S = true⁻¹`: registering `M`
    /// to `F` should recover `truth` (fixed point ↦ moving point).
    static func moving(from fixed: Image<Float>, truth: AffineMap) throws -> Image<Float> {
        let g = fixed.geometry
        // Another oblique, anisotropic grid, a little larger, centred where the brain lands.
        let size = SIMD3<Int>((SIMD3<Double>(g.size) * 1.15).rounded(.up))
        let spacing = SIMD3(g.spacing.y, g.spacing.y, g.spacing.z)
        let direction = Phantoms.rotation(-5, 10, -20)
        let center = truth.apply(center(g))
        let origin = center - direction * (spacing * (SIMD3<Double>(size) - 1) * 0.5)
        let grid = try Geometry(size: size, spacing: spacing, origin: origin, direction: direction)
        let s = truth.inverse!
        return try Resampler.resample(fixed, onto: grid, mapping: PointMapping(s),
                                      interpolation: .bspline)
    }

    /// A random transform about `center` within the ranges: rotations ±20°, translations
    /// ±25 mm and, for affine, scales ±12 % and shears ±6 %.
    static func randomTransform(affine: Bool, center: SIMD3<Double>, seed: UInt64) -> AffineMap {
        let r = Phantoms.randomValues(count: 12, seed: seed, range: -1...1)
        var m = Matrix3.rotation(ax: r[0] * 20 * .pi / 180, ay: r[1] * 20 * .pi / 180, az: r[2] * 20 * .pi / 180)
        if affine {
            let scale = Matrix3.diagonal(SIMD3(1 + 0.12 * r[3], 1 + 0.12 * r[4], 1 + 0.12 * r[5]))
            let shear = Matrix3(rows: SIMD3(1, 0.06 * r[6], 0.06 * r[7]), SIMD3(0, 1, 0.06 * r[8]), SIMD3(0, 0, 1))
            m = m * scale * shear
        }
        return AffineMap(matrix: m, translation: SIMD3(r[9], r[10], r[11]) * 25, center: center)
    }

    /// Mean distance (mm) between two maps over the voxels of `image` brighter than `threshold`
    /// of its maximum (the brain).
    static func meanEndpointError(_ a: AffineMap, _ b: AffineMap, over image: Image<Float>, threshold: Float = 0.1) -> Double {
        let g = image.geometry, top = image.voxels.max() ?? 1
        var sum = 0.0, n = 0
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x where image[x, y, z] > threshold * top {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            sum += (a.apply(p) - b.apply(p)).length
            n += 1
        } } }
        return sum / Double(max(n, 1))
    }

    /// The brain centre (centre of the domain).
    static func center(_ g: Geometry) -> SIMD3<Double> { g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5) }
}
