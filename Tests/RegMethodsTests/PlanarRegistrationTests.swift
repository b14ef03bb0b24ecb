import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegMetrics
import RegTestSupport
import RegTransforms

/// A 2-D slice stored as a one-slice volume (any physical plane, any one-voxel axis) registers
/// exactly as the same slice stored as a 2-D image, and its transforms are physical 3-D ones.
@Suite struct PlanarRegistrationTests {
    /// The in-plane problem: a blob phantom and the same object turned 8° and shifted.
    static let grid2D = LinearPhantoms.fixedGrid(dimension: 2)
    static let truth = LinearPhantoms.truth(dimension: 2, affine: false, degrees: SIMD3(0, 0, 8), shift: SIMD3(3, -2, 0),
                                            center: LinearPhantoms.center(grid2D))
    static let fixed2D = Phantoms.image(on: grid2D, LinearPhantoms.object(on: grid2D))
    static let moving2D = LinearPhantoms.moving(object: LinearPhantoms.object(on: grid2D), fixedGrid: grid2D, truth: truth)

    /// Where the 2-D plane is put in space: an oblique rotation and a shift.
    static let placement = AffineMap(matrix: Phantoms.rotation(35, -20, 60), translation: SIMD3(-12, 40, 7.5))

    /// The same voxels as a one-slice volume lying in `placement`'s plane moved `offset` mm
    /// along its normal, one voxel along index axis 1 (a coronal-style 160×1×192 layout).
    static func oneSlice(_ image: Image<Float>, offset: Double = 0) throws -> Image<Float> {
        let g = image.geometry, q = placement.matrix
        let normal = q * SIMD3(0, 0, 1)
        let geometry = try Geometry(size: SIMD3(g.size.x, 1, g.size.y), spacing: SIMD3(g.spacing.x, 2.5, g.spacing.y),
                                    origin: placement.apply(g.origin) + offset * normal,
                                    direction: Matrix3(columns: q * g.direction.column(0), normal, q * g.direction.column(1)))
        return try Image(geometry: geometry, voxels: image.voxels)
    }

    static func compare(_ flat: RegistrationResult, _ slice: RegistrationResult, offset: Double) throws {
        let normal = placement.matrix * SIMD3(0, 0, 1)
        let n = try #require(slice.summary.planeNormal)
        #expect(abs(abs(n[0] * normal.x + n[1] * normal.y + n[2] * normal.z) - 1) < 1e-9)
        #expect(slice.warped.geometry.dimension == 3 && slice.warped.voxels.count == flat.warped.voxels.count)
        let top = flat.warped.voxels.max()!
        let difference = zip(flat.warped.voxels, slice.warped.voxels).map { abs($0 - $1) }.max()!
        #expect(difference < 1e-3 * top, "warped images differ by \(difference)")
        // The physical chain: fixed-plane point ↦ the 2-D result's point, placed on the moving plane.
        var worst = 0.0
        for y in stride(from: 0, to: grid2D.size.y, by: 5) { for x in stride(from: 0, to: grid2D.size.x, by: 5) {
            let p = grid2D.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), 0))
            let expected = placement.apply(flat.chain.map(p)) + offset * normal
            worst = max(worst, (slice.chain.map(placement.apply(p)) - expected).length)
        } }
        #expect(worst < 0.01, "one-slice chain is \(worst) mm from the 2-D chain")
    }

    @Test func aRigidFitInAnObliquePlaneIsThe2DFit() throws {
        let plan = RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!
        let flat = try Registration(plan).run(fixed: Self.fixed2D, moving: Self.moving2D)
        #expect(LinearPhantoms.cornerError(flat.affine, Self.truth, on: Self.grid2D) < 0.2)
        let slice = try Registration(plan).run(fixed: Self.oneSlice(Self.fixed2D), moving: Self.oneSlice(Self.moving2D, offset: 2.5))
        try Self.compare(flat, slice, offset: 2.5)
        #expect(slice.summary.model == .rigid)
    }

    /// A moving slice 1 mm along the normal, 0.5 mm thick and tilted 0.5°: the chain lands on its
    /// own plane (a map onto the untilted plane leaves the 0.5 mm slab 29 mm from the origin).
    @Test func aSlightlyTiltedThinMovingSliceIsWarpedLikeThe2DImage() throws {
        let plan = RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!
        let flat = try Registration(plan).run(fixed: Self.fixed2D, moving: Self.moving2D)
        var moving = try Self.oneSlice(Self.moving2D, offset: 1)
        let g = moving.geometry
        moving.geometry = try Geometry(size: g.size, spacing: SIMD3(g.spacing.x, 0.5, g.spacing.z), origin: g.origin,
                                       direction: g.direction * Matrix3.rotation(axis: 0, angle: 0.0087))
        let slice = try Registration(plan).run(fixed: Self.oneSlice(Self.fixed2D), moving: moving)
        let top = flat.warped.voxels.max()!
        let difference = zip(flat.warped.voxels, slice.warped.voxels).map { abs($0 - $1) }.max()!
        #expect(difference < 2e-3 * top, "warped images differ by \(difference)")
        let fixedGrid = try Self.oneSlice(Self.fixed2D).geometry
        for index in [SIMD3<Double>(0, 0, 0), SIMD3(47, 0, 43), SIMD3(0, 0, 43), SIMD3(47, 0, 0)] {
            let mapped = slice.chain.map(fixedGrid.physicalPoint(ofIndex: index))
            #expect(abs(moving.geometry.continuousIndex(ofPhysicalPoint: mapped).y) < 1e-6)
        }
    }

    @Test func synInAnObliquePlaneIsThe2DSyN() throws {
        var plan = RegistrationPlan.preset("syn", linearMetric: .meanSquares)!
        plan.linear = []
        if case .syn(var stage) = plan.deformable {
            stage.levels = Level.pyramid(iterations: [20, 10, 5])
            plan.deformable = .syn(stage)
        }
        let flat = try Registration(plan).run(fixed: Self.fixed2D, moving: Self.moving2D)
        let slice = try Registration(plan).run(fixed: Self.oneSlice(Self.fixed2D), moving: Self.oneSlice(Self.moving2D, offset: -1.5))
        try Self.compare(flat, slice, offset: -1.5)
        // det J of the physical warp on the one-slice grid is the 2-D one.
        let j2 = try #require(flat.jacobian), j3 = try #require(slice.jacobian)
        #expect(zip(j2.voxels, j3.voxels).map { abs($0 - $1) }.max()! < 1e-3)
        #expect(j2.voxels.contains { abs($0 - 1) > 0.05 }, "the warp should not be the identity")
    }

    @Test func aSliceAndAVolumeAreRefused() throws {
        let plan = RegistrationPlan.preset("rigid", linearMetric: .meanSquares)!
        let volume = Phantoms.image(on: Phantoms.obliqueGeometry()) { $0.x + 2 * $0.y }
        let slice = try Self.oneSlice(Self.fixed2D)
        for (f, m) in [(slice, volume), (volume, slice)] {
            #expect {
                try Registration(plan).run(fixed: f, moving: m)
            } throws: { "\($0)".contains("slice-to-volume registration is not supported") }
        }
    }

    /// The shared data's lapirn pair, one coronal plane: stored as a one-slice volume it
    /// registers (SyN) to the same Dice as stored as a 2-D image.
    @Test(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
    func aRealCoronalSliceRegistersAsIts2DImage() throws {
        // Labels on their image's grid, voxel by voxel (seg A's own header puts it elsewhere).
        func plane(_ name: String, asVolume: Bool) throws -> Image<Float> {
            let image = try ImageFile.read(SharedData.path("brain/lapirn/" + name)).image.floatImage()
            let g = try ImageFile.read(SharedData.path("brain/lapirn/" + name.replacingOccurrences(of: "_seg", with: ""))).image.geometry
            let y = g.size.y / 2
            var voxels: [Float] = []
            for z in 0..<g.size.z { for x in 0..<g.size.x { voxels.append(image[x, y, z]) } }
            let origin = g.physicalPoint(ofIndex: SIMD3(0, Double(y), 0))
            let geometry = asVolume
                ? try Geometry(size: SIMD3(g.size.x, 1, g.size.z), spacing: g.spacing, origin: origin, direction: g.direction)
                : try Geometry(size: SIMD3(g.size.x, g.size.z, 1), spacing: SIMD3(g.spacing.x, g.spacing.z, 1), dimension: 2)
            return try Image(geometry: geometry, voxels: voxels)
        }
        var plan = RegistrationPlan.preset("syn")!
        plan.linear = []
        var dice: [Double] = []
        for asVolume in [false, true] {
            let fixed = try plane("image_B_160x192x144.nii.gz", asVolume: asVolume)
            let moving = try plane("image_A_160x192x144.nii.gz", asVolume: asVolume)
            let labels = try plane("image_B_160x192x144_seg.nii.gz", asVolume: asVolume)
            let movingLabels = try plane("image_A_160x192x144_seg.nii.gz", asVolume: asVolume)
            let result = try Registration(plan).run(fixed: fixed, moving: moving)
            let warped = try Resampler.resample(movingLabels, onto: fixed.geometry, mapping: result.chain.mapping(onto: fixed.geometry),
                                                interpolation: .label)
            dice.append(Self.meanDice(labels.voxels, warped.voxels, labels: [1, 2]))
        }
        #expect(abs(dice[0] - dice[1]) < 0.005, "2-D \(dice[0]), one-slice volume \(dice[1])")
        #expect(dice[1] > 0.66, "SyN should raise the plane's Dice from 0.62; got \(dice[1])")
    }

    static func meanDice(_ a: some ContiguousValues<Float>, _ b: some ContiguousValues<Float>, labels: [Float]) -> Double {
        labels.map { l in
            let inA = a.map { $0 == l }, inB = b.map { $0 == l }
            let both = zip(inA, inB).filter { $0 && $1 }.count
            return 2 * Double(both) / Double(inA.filter { $0 }.count + inB.filter { $0 }.count)
        }.reduce(0, +) / Double(labels.count)
    }
}
