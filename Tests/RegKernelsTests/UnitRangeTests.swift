import Testing
import RegCore
import RegKernels

/// `UnitRange.scaled` clamps to two percentiles and maps linearly onto 0…1: the residual of
/// abnormality detection uses it with the 1st and 99th, so a voxel far brighter than any tissue (a
/// remnant of the skull) differs from tissue no more than the brightest tissue does.
struct UnitRangeTests {
    @Test func intensitiesBeyondThePercentilesAreClampedAndTheRestMappedLinearly() throws {
        let grid = try Geometry(size: SIMD3(10, 10, 10), spacing: SIMD3(1, 1, 1), origin: .zero, direction: .identity)
        var voxels = (0..<1000).map { Float($0) / 10 }   // 0 … 99.9
        voxels[500] = 1e4                                   // one outlier, far above every other value
        voxels[3] = -1e4                                    // and one below
        let scaled = UnitRange.scaled(try Image(geometry: grid, voxels: voxels), percentiles: 0.01...0.99).voxels
        let sorted = voxels.sorted(), (p1, p99) = (sorted[9], sorted[989])
        #expect(scaled[500] == 1 && scaled[3] == 0)
        #expect(scaled[999] == 1 && scaled[0] == 0)
        for i in [20, 250, 700, 980] {
            #expect(abs(Double(scaled[i]) - Double((voxels[i] - p1) / (p99 - p1))) < 1e-6)
        }
    }
}
