import RegCore

/// Cubic B-spline interpolation coefficients (Unser's recursive prefilter, mirror boundary).
///
/// Evaluating the cubic B-spline on these coefficients reproduces the samples exactly at voxel
/// centres, which plain B-spline smoothing of the samples would not.
///
/// ```swift
/// let coefficients = BSplinePrefilter.coefficients(of: image)
/// ```
public enum BSplinePrefilter {
    static let pole = 3.0.squareRoot() - 2

    /// Coefficients of a scalar image, along every axis with more than one voxel.
    public static func coefficients(of image: Image<Float>) -> Image<Float> {
        precondition(image.components == 1, "prefilter a scalar image")
        var out = image
        let size = image.geometry.size
        let (nx, ny, nz) = (size.x, size.y, size.z)
        out.voxels.withUnsafeMutableBufferPointer { buf in
            let data = UnsafeSendable(buf.baseAddress!)
            // x: lines are rows of each slice.
            if nx > 1 {
                parallelFor(count: nz) { zs in
                    var line = [Double](repeating: 0, count: nx)
                    for z in zs { for y in 0..<ny { filter(data.value + (y * nx + z * nx * ny), count: nx, stride: 1, line: &line) } }
                }
            }
            if ny > 1 {
                parallelFor(count: nz) { zs in
                    var line = [Double](repeating: 0, count: ny)
                    for z in zs { for x in 0..<nx { filter(data.value + (x + z * nx * ny), count: ny, stride: nx, line: &line) } }
                }
            }
            if nz > 1 {
                parallelFor(count: ny) { ys in
                    var line = [Double](repeating: 0, count: nz)
                    for y in ys { for x in 0..<nx { filter(data.value + (x + y * nx), count: nz, stride: nx * ny, line: &line) } }
                }
            }
        }
        return out
    }

    /// Filters one line in place (`count` values `stride` apart), through a Double buffer.
    static func filter(_ p: UnsafeMutablePointer<Float>, count n: Int, stride: Int, line c: inout [Double]) {
        let z = pole
        let gain = (1 - z) * (1 - 1 / z)
        for k in 0..<n { c[k] = Double(p[k * stride]) * gain }
        // Causal initialisation, mirror boundary.
        let horizon = 30
        if n <= horizon {
            var zn = z, z2n = pow(z, Double(n - 1)), sum = c[0] + z2n * c[n - 1]
            let iz = 1 / z
            z2n *= z2n * iz
            for k in 1..<(n - 1) {
                sum += (zn + z2n) * c[k]
                zn *= z
                z2n *= iz
            }
            c[0] = sum / (1 - zn * zn)
        } else {
            var zn = z, sum = c[0]
            for k in 1..<horizon { sum += zn * c[k]; zn *= z }
            c[0] = sum
        }
        for k in 1..<n { c[k] += z * c[k - 1] }
        c[n - 1] = (z / (z * z - 1)) * (z * c[n - 2] + c[n - 1])
        for k in Swift.stride(from: n - 2, through: 0, by: -1) { c[k] = z * (c[k + 1] - c[k]) }
        for k in 0..<n { p[k * stride] = Float(c[k]) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
