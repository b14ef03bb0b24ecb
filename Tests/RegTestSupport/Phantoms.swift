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
