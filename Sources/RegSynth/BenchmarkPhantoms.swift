import Foundation
import RegCore

/// The synthetic images of `swiftreg bench`: sizes and shapes of real work, with nothing to read.
///
/// ```swift
/// let image = try BenchmarkPhantoms.head(SIMD3(160, 192, 144))
/// let (reference, test) = try BenchmarkPhantoms.labelMaps()
/// ```
public enum BenchmarkPhantoms {
    /// Two 256³ label maps of 50 labels (a 5×5×2 partition of an ellipsoid), the second
    /// deformed smoothly by up to 3 voxels: the size of a whole-head parcellation.
    public static func labelMaps() throws -> (Image<Int32>, Image<Int32>) {
        let n = 256
        let g = try Geometry(size: SIMD3(n, n, n), spacing: SIMD3(1, 1, 1), origin: SIMD3(-128, -128, -128))
        func labels(shift: Double) -> Image<Int32> {
            var image = Image<Int32>(geometry: g)
            for z in 0..<n { for y in 0..<n { for x in 0..<n {
                let p = SIMD3(Double(x), Double(y), Double(z))
                let wobble = SIMD3(sin(p.y / 20), cos(p.z / 25), sin(p.x / 30))
                let q: SIMD3<Double> = p + shift * wobble
                let d: SIMD3<Double> = (q - 128) / SIMD3(120, 124, 110)
                guard (d * d).sum() < 1 else { continue }
                let cell = SIMD3<Int>(((q - SIMD3(8, 4, 18)) / SIMD3(48, 50, 110)).rounded(.down))
                let cx = min(4, max(0, cell.x)), cy = min(4, max(0, cell.y)), cz = min(1, max(0, cell.z))
                image[x, y, z] = Int32(1 + cx + 5 * cy + 25 * cz)
            } } }
            return image
        }
        return (labels(shift: 0), labels(shift: 3))
    }

    /// A smooth head-like phantom with uniform noise from `seed`, on a 1 mm grid with a centred origin.
    public static func head(_ size: SIMD3<Int>, seed: UInt64 = 7) throws -> Image<Float> {
        let g = try Geometry(size: size, spacing: SIMD3(1, 1, 1), origin: SIMD3(-80, -96, -112))
        var img = Image<Float>(geometry: g)
        let c = SIMD3<Double>(size) * 0.5
        var random = SplitMix64(seed: seed)
        for z in 0..<size.z { for y in 0..<size.y { for x in 0..<size.x {
            let d = (SIMD3<Double>(Double(x), Double(y), Double(z)) - c) / c
            let r = (d * d).sum()
            let noise = random.nextUnit() * 0.05
            img[x, y, z] = Float(r < 1 ? 0.5 + 0.4 * cos(6 * r) + noise : noise)
        } } }
        return img
    }
}
