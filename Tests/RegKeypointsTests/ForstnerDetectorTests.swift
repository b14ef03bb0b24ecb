import Foundation
import RegCore
@testable import RegKeypoints
import RegTestSupport
import Testing

/// The detector on phantoms whose corners are known.
@Suite struct ForstnerDetectorTests {
    /// A bright box of voxels `lo…hi` (inclusive) on an oblique, anisotropic grid with a
    /// non-zero origin; its corners lie half a voxel outside the outermost bright voxels.
    static func box(size: SIMD3<Int>, lo: SIMD3<Int>, hi: SIMD3<Int>, dimension: Int) throws -> Image<Float> {
        let direction = dimension == 2 ? Matrix3.rotation(axis: 2, angle: 0.4) : Phantoms.rotation(0.3, -0.2, 0.5)
        let g = try Geometry(size: size, spacing: dimension == 2 ? [0.8, 1.1, 1] : [1, 1.2, 0.9], origin: [12, -30, 7],
                             direction: direction, dimension: dimension)
        var image = Image<Float>(geometry: g, filledWith: 10)
        for z in 0..<size.z {
            for y in 0..<size.y {
                for x in 0..<size.x where all(SIMD3(x, y, z) .>= lo) && all(SIMD3(x, y, z) .<= hi) { image[x, y, z] = 110 }
            }
        }
        return image
    }

    static func corners(lo: SIMD3<Int>, hi: SIMD3<Int>, dimension: Int) -> [SIMD3<Double>] {
        let a = SIMD3<Double>(lo) - 0.5, b = SIMD3<Double>(hi) + 0.5
        var out: [SIMD3<Double>] = []
        for z in dimension == 2 ? [0.0] : [a.z, b.z] { for y in [a.y, b.y] { for x in [a.x, b.x] { out.append(SIMD3(x, y, z)) } } }
        return out
    }

    @Test(arguments: [3, 2]) func findsEveryCornerOfABoxWithinAVoxel(dimension: Int) throws {
        let size: SIMD3<Int> = dimension == 2 ? [40, 36, 1] : [40, 36, 34]
        let lo: SIMD3<Int> = dimension == 2 ? [9, 8, 0] : [9, 8, 7], hi: SIMD3<Int> = dimension == 2 ? [28, 25, 0] : [28, 25, 24]
        let image = try Self.box(size: size, lo: lo, hi: hi, dimension: dimension)
        let truth = Self.corners(lo: lo, hi: hi, dimension: dimension)
        let found = try ForstnerDetector(count: truth.count).detect(in: image)
        #expect(found.count == truth.count)
        var unmatched = truth
        for k in found {
            let index = image.geometry.continuousIndex(ofPhysicalPoint: k.position)
            let nearest = unmatched.indices.min { Approx.maxDifference(unmatched[$0], index) < Approx.maxDifference(unmatched[$1], index) }!
            #expect(Approx.maxDifference(unmatched[nearest], index) <= 0.5, "point at index \(index), nearest corner \(unmatched[nearest])")
            unmatched.remove(at: nearest)
        }
        #expect(unmatched.isEmpty)
    }

    @Test func aMaskKeepsPointsInsideAndTheResultDoesNotDependOnThreads() throws {
        let lo: SIMD3<Int> = [9, 8, 7], hi: SIMD3<Int> = [28, 25, 24]
        let image = try Self.box(size: [40, 36, 34], lo: lo, hi: hi, dimension: 3)
        var mask = Image<UInt8>(geometry: image.geometry)
        for z in 0..<34 { for y in 0..<36 { for x in 0..<20 { mask[x, y, z] = 1 } } }   // the half with x < 20
        let one = try Parallelism.withThreadCount(1) { try ForstnerDetector(count: 8).detect(in: image, mask: mask) }
        let two = try Parallelism.withThreadCount(2) { try ForstnerDetector(count: 8).detect(in: image, mask: mask) }
        #expect(one == two)
        #expect(one.count == 4)
        #expect(one.allSatisfy { $0.voxel.x < 20 })
    }

    @Test func badInputIsRefusedWithAReason() throws {
        let image = try Self.box(size: [20, 20, 20], lo: [5, 5, 5], hi: [14, 14, 14], dimension: 3)
        #expect(throws: RegError.self) { try ForstnerDetector(count: 0).detect(in: image) }
        let otherGrid = Image<UInt8>(geometry: try Geometry(size: [20, 20, 19]), filledWith: 1)
        #expect(throws: RegError.self) { try ForstnerDetector().detect(in: image, mask: otherGrid) }
    }
}
