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
                #expect(Approx.maxDifference(try frame.framePoints([p], of: g, name: "slice")[0], q) < 1e-9)
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

    /// A frame map becomes a physical map that lands on the moving image's own plane, whether it
    /// lies along the normal or is tilted by less than 0.6°; a larger tilt is refused.
    @Test func mapsLandOnTheMovingImagesOwnPlane() throws {
        let g = Self.coronal
        let frame = try #require(PlaneFrame(of: g))
        let identity = try frame.physicalMap(.identity, fixed: g, moving: g)
        #expect(identity.matrix.maxAbsDifference(.identity) < 1e-12 && Approx.maxDifference(identity.translation, .zero) < 1e-9)
        let turn = AffineMap(matrix: .rotation(axis: 2, angle: 0.3), translation: SIMD3(1.5, -2, 0), center: SIMD3(4, 5, 0))
        let shifted = try g.with(origin: g.origin + 3 * frame.normal + g.direction.column(0) * 2)
        let tilted = try g.with(direction: g.direction * Matrix3.rotation(axis: 0, angle: 0.005))
        for moving in [shifted, tilted] {
            let physical = try frame.physicalMap(turn, fixed: g, moving: moving)
            let into = try frame.embedding(of: moving, name: "moving")
            for index in [SIMD3<Double>(0, 0, 0), SIMD3(11, 0, 0), SIMD3(3, 0, 9), SIMD3(11, 0, 9)] {
                let p = g.physicalPoint(ofIndex: index)
                let q = try frame.framePoints([p], of: g, name: "fixed")[0]
                #expect(Approx.maxDifference(physical.apply(p), into.apply(turn.apply(q))) < 1e-9)
                // On the moving image's plane: index 0 along its one-voxel axis.
                #expect(abs(moving.continuousIndex(ofPhysicalPoint: physical.apply(p)).y) < 1e-9)
            }
        }
        let steep = try g.with(direction: g.direction * Matrix3.rotation(axis: 0, angle: 0.05))
        #expect(throws: RegError.self) { try frame.planarGeometry(of: steep, name: "moving image") }
        #expect(throws: RegError.self) { try frame.planarGeometry(of: Phantoms.obliqueGeometry(), name: "moving image") }
    }

    /// Direction columns need not be unit vectors: the relabelled grid keeps each voxel's place.
    @Test func nonUnitDirectionColumnsKeepTheVoxelsInPlace() throws {
        let g = try Geometry(size: SIMD3(5, 4, 1), spacing: SIMD3(1, 2, 3), origin: SIMD3(1, 2, 3),
                             direction: Matrix3(columns: SIMD3(2, 0, 0), SIMD3(0, 0.5, 0), SIMD3(0, 0, 1)))
        let frame = try #require(PlaneFrame(of: g))
        let planar = try frame.planarGeometry(of: g, name: "slice")
        for (x, y) in [(0, 0), (4, 0), (2, 3), (4, 3)] {
            let p = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), 0))
            #expect(Approx.maxDifference(frame.physicalPoint(planar.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), 0))), p) < 1e-9)
        }
    }
}
