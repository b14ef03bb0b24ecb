import Testing
import RegCore
import RegTestSupport

/// One-slice volumes as 2-D images of their plane.
@Suite struct PlaneFrameTests {
    /// A coronal slice (one voxel along index axis 1) on an oblique, anisotropic grid.
    static let coronal = try! Geometry(size: SIMD3(12, 1, 10), spacing: SIMD3(0.8, 2.5, 1.5), origin: SIMD3(-31.5, 12.25, 48),
                                       direction: Phantoms.rotation(20, -35, 50) * Matrix3(columns: SIMD3(1, 0, 0), SIMD3(0, 0, -1), SIMD3(0, -1, 0)))

    @Test func everyVoxelKeepsItsPhysicalPointInTheFrame() throws {
        for g in [Self.coronal,
                  try Geometry(size: SIMD3(1, 9, 7), spacing: SIMD3(3, 0.7, 1.1), origin: SIMD3(4, -5, 6), direction: Phantoms.rotation(-10, 25, 5)),
                  try Geometry(size: SIMD3(8, 6, 1), spacing: SIMD3(1, 1.2, 4), origin: SIMD3(0, 2, -9), direction: Phantoms.rotation(0, 0, 30))] {
            let frame = try #require(PlaneFrame(of: g))
            let planar = try frame.planarGeometry(of: g, name: "slice")
            #expect(planar.dimension == 2 && planar.voxelCount == g.voxelCount)
            let axes = try #require(PlaneFrame.planarAxes(of: g))
            for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
                let index = SIMD3(x, y, z)
                let p = g.physicalPoint(ofIndex: SIMD3<Double>(index))
                // Storage order is kept: the voxel at linear offset o is voxel o of the 2-D grid.
                let q = planar.physicalPoint(ofIndex: SIMD3(Double(index[axes.u]), Double(index[axes.v]), 0))
                #expect(Approx.maxDifference(frame.framePoint(p), q) < 1e-9)
                #expect(Approx.maxDifference(frame.physicalPoint(q), p) < 1e-9)
            } } }
        }
    }

    @Test func theNormalIsTheSliceAxis() throws {
        let frame = try #require(PlaneFrame(of: Self.coronal))
        let slice = Self.coronal.direction.column(1)
        #expect(abs((frame.normal * slice).sum()).distance(to: 1) < 1e-12)
        #expect(PlaneFrame(of: Phantoms.obliqueGeometry()) == nil)
        #expect(PlaneFrame.isOneSliceVolume(Self.coronal) && !PlaneFrame.isOneSliceVolume(Phantoms.oblique2DGeometry()))
    }

    @Test func aParallelPlaneIsCarriedByTheMapAndATiltedOneIsRefused() throws {
        let frame = try #require(PlaneFrame(of: Self.coronal))
        let shifted = try Self.coronal.with(origin: Self.coronal.origin + 3 * frame.normal + Self.coronal.direction.column(0) * 2)
        #expect(abs(frame.offset(of: shifted) - 3) < 1e-9)
        #expect(try frame.planarGeometry(of: shifted, name: "moving").origin.z == 0)
        // A rotation and shift in the frame becomes the physical map from one plane to the other.
        let turn = AffineMap(matrix: .rotation(axis: 2, angle: 0.3), translation: SIMD3(1.5, -2, 0), center: SIMD3(4, 5, 0))
        let physical = frame.physicalMap(turn, movingPlaneOffset: 3)
        for q in [SIMD3<Double>(0, 0, 0), SIMD3(7, -3, 0), SIMD3(-2, 11, 0)] {
            let p = frame.physicalPoint(q)
            #expect(Approx.maxDifference(physical.apply(p), frame.physicalPoint(turn.apply(q), planeOffset: 3)) < 1e-9)
            #expect(abs(frame.offset(of: try Self.coronal.with(origin: physical.apply(p))) - 3) < 1e-9)
        }
        let tilted = try Self.coronal.with(direction: Self.coronal.direction * Matrix3.rotation(axis: 0, angle: 0.05))
        #expect(throws: RegError.self) { try frame.planarGeometry(of: tilted, name: "moving image") }
        #expect(throws: RegError.self) { try frame.planarGeometry(of: Phantoms.obliqueGeometry(), name: "moving image") }
    }
}
