import Foundation
import RegCore

/// Test images on realistic grids: oblique, anisotropic, with non-zero origins.
public enum Phantoms {
    /// A rotation about all three axes (degrees).
    public static func rotation(_ ax: Double, _ ay: Double, _ az: Double) -> Matrix3 {
        Matrix3.rotation(ax: ax * .pi / 180, ay: ay * .pi / 180, az: az * .pi / 180)
    }

    /// An oblique, anisotropic 3-D grid with a non-zero origin.
    public static func obliqueGeometry(size: SIMD3<Int> = SIMD3(19, 17, 13)) -> Geometry {
        try! Geometry(size: size, spacing: SIMD3(0.9, 1.3, 2.1), origin: SIMD3(-31.5, 12.25, 48.0),
                      direction: rotation(-15, 10, 20))
    }

    /// An oblique, anisotropic 2-D grid (rotation in plane) with a non-zero origin.
    public static func oblique2DGeometry(size: SIMD2<Int> = SIMD2(23, 19)) -> Geometry {
        try! Geometry(size: SIMD3(size.x, size.y, 1), spacing: SIMD3(0.8, 1.2, 1), origin: SIMD3(15.5, -7.25, 0),
                      direction: Matrix3.rotation(axis: 2, angle: 0.35), dimension: 2)
    }

    /// An image whose value at each voxel is `f(physical point)`.
    public static func image(on geometry: Geometry, _ f: (SIMD3<Double>) -> Double) -> Image<Float> {
        var img = Image<Float>(geometry: geometry)
        let s = geometry.size
        for z in 0..<s.z { for y in 0..<s.y { for x in 0..<s.x {
            img[x, y, z] = Float(f(geometry.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))))
        } } }
        return img
    }

    /// Reproducible pseudo-random values in `range`.
    public static func randomValues(count: Int, seed: UInt64, range: ClosedRange<Double> = 0...1) -> [Double] {
        var state = seed &+ 0x9E3779B97F4A7C15
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let unit = Double(state >> 11) / Double(1 << 53)
            return range.lowerBound + unit * (range.upperBound - range.lowerBound)
        }
    }

    /// An image of reproducible random values.
    public static func randomImage<T: VoxelScalar>(_ type: T.Type, on geometry: Geometry, components: Int = 1, seed: UInt64 = 1,
                                                   range: ClosedRange<Double> = 0...100) -> Image<T> {
        let values = randomValues(count: geometry.voxelCount * components, seed: seed, range: range)
        return try! Image(geometry: geometry, components: components, voxels: values.map { T(clampingDouble: $0) })
    }
}

/// Approximate comparisons for tests.
public enum Approx {
    /// Largest absolute difference between two vectors.
    public static func maxDifference(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a - b).magnitudes.max() }

    /// True when the two geometries agree within `tolerance` in every field.
    public static func sameGeometry(_ a: Geometry, _ b: Geometry, tolerance: Double) -> Bool {
        a.size == b.size && a.dimension == b.dimension
            && maxDifference(a.spacing, b.spacing) <= tolerance
            && maxDifference(a.origin, b.origin) <= tolerance
            && a.direction.maxAbsDifference(b.direction) <= tolerance
    }
}

extension Phantoms {
    /// A smooth object with no symmetry: `count` anisotropic Gaussian blobs (widths 2.5–7 mm along
    /// random axes, heights 40–100) placed at random within `extent` mm of `center`, on a
    /// background of 10. In 2-D (`dimension` 2) the blobs lie in the plane z = `center.z` and
    /// turn about z only.
    public static func blobs(center: SIMD3<Double>, extent: SIMD3<Double>, dimension: Int = 3, count: Int = 7,
                             seed: UInt64 = 1) -> @Sendable (SIMD3<Double>) -> Double {
        let r = randomValues(count: 10 * count, seed: seed, range: -1...1)
        struct Blob { var center: SIMD3<Double>; var precision: Matrix3; var height: Double }
        let blobs: [Blob] = (0..<count).map { k in
            let v = Array(r[10 * k..<10 * k + 10])
            var offset = SIMD3(v[0], v[1], v[2]) * extent
            var turn = Matrix3.rotation(ax: v[3] * .pi, ay: v[4] * .pi, az: v[5] * .pi)
            var widths = SIMD3(4.75 + 2.25 * v[6], 4.75 + 2.25 * v[7], 4.75 + 2.25 * v[8])
            if dimension == 2 {
                offset.z = 0
                turn = Matrix3.rotation(axis: 2, angle: v[5] * .pi)
                widths.z = 1
            }
            let precision = turn * Matrix3.diagonal(1 / (widths * widths)) * turn.transposed
            return Blob(center: center + offset, precision: precision, height: 70 + 30 * v[9])
        }
        return { p in
            var value = 10.0
            for b in blobs {
                var d = p - b.center
                if dimension == 2 { d.z = 0 }
                value += b.height * exp(-0.5 * (d * (b.precision * d)).sum())
            }
            return value
        }
    }

    /// A grid with `spacing` and `direction` (orthonormal; in-plane in 2-D) covering `points`
    /// with `margin` voxels to spare on every side.
    public static func grid(covering points: [SIMD3<Double>], spacing: SIMD3<Double>, direction: Matrix3, margin: Double = 2,
                            dimension: Int = 3) -> Geometry {
        let toIndex = Matrix3.diagonal(1 / spacing) * direction.transposed
        var lo = SIMD3<Double>(repeating: .infinity), hi = -lo
        for p in points {
            let q = toIndex * p
            lo = pointwiseMin(lo, q); hi = pointwiseMax(hi, q)
        }
        lo -= margin; hi += margin
        var size = SIMD3<Int>((hi - lo).rounded(.up)) &+ 1
        if dimension == 2 { size.z = 1; lo.z = (toIndex * (points.first ?? .zero)).z }
        return try! Geometry(size: size, spacing: spacing, origin: direction * (spacing * lo), direction: direction,
                             dimension: dimension)
    }
}
