import Foundation
import RegCore
import RegKernels
@testable import RegMethods
import RegTestSupport
import RegTransforms
import Testing

/// Dense stages iterate on the box around the fixed image's content (`StageDomain.content`).
@Suite struct StageDomainTests {
    /// A blob of radius 9 mm off-centre in a grid of about 70 × 64 × 50 mm, oblique and anisotropic.
    static let grid = try! Geometry(size: SIMD3(64, 52, 36), spacing: SIMD3(1.1, 1.25, 1.4), origin: SIMD3(-20, 15, -8),
                                    direction: Matrix3.diagonal(SIMD3(-1, -1, 1)) * Phantoms.rotation(8, -10, 12))
    static var center: SIMD3<Double> { grid.physicalPoint(ofIndex: SIMD3(20, 24, 17)) }

    @Test func theBoxHoldsTheContentAndTheMarginInWholeBlocks() throws {
        let fixed = DeformableCases.blob(on: Self.grid, center: Self.center, axes: SIMD3(9, 9, 9))
        let domain = try #require(DenseDomain(fixed: fixed, mask: nil, margin: 5, blocks: 4))
        let threshold = try #require(ContentRegion.threshold(fixed))
        let g = Self.grid, grow = SIMD3<Int>((SIMD3(repeating: 5) / g.spacing).rounded(.up))
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x where fixed[x, y, z] > threshold {
            let p = SIMD3(x, y, z)
            // The content and `margin` mm around it, as far as the grid goes.
            #expect(all(pointwiseMax(p &- grow, .zero) .>= domain.low) && all(pointwiseMin(p &+ grow &+ 1, g.size) .<= domain.high))
        } } }
        #expect(all(domain.low % 4 .== 0))
        for a in 0..<3 { #expect(domain.high[a] == g.size[a] || (domain.high[a] - domain.low[a]) % 4 == 0) }
        #expect(domain.high.x < g.size.x, "the box leaves out the air beside the blob")
        // A mask sets the box instead of the intensities.
        var mask = Image<UInt8>(geometry: g)
        mask[40, 30, 20] = 1
        let masked = try #require(DenseDomain(fixed: fixed, mask: mask, margin: 2, blocks: 1))
        #expect(masked.low == SIMD3(38, 28, 18) && masked.high == SIMD3(43, 33, 23))
    }

    @Test func contentFillingTheGridOrTheGridChoiceKeepsTheWholeGrid() throws {
        let full = Phantoms.image(on: Self.grid) { p in 1 + 0.1 * sin(p.x) }
        #expect(DenseDomain(fixed: full, mask: nil, margin: 5) == nil)
        #expect(DenseDomain(fixed: Image<Float>(geometry: Self.grid), mask: nil, margin: 5) == nil, "no content")
        var stage = DeformableStage.synLocalCorrelation
        stage.domain = .grid
        let blob = DeformableCases.blob(on: Self.grid, center: Self.center, axes: SIMD3(9, 9, 9))
        #expect(DenseDomain(stage, fixed: blob, mask: nil) == nil)
        stage.domain = .content
        #expect(DenseDomain(stage, fixed: blob, mask: nil) != nil)
    }

    /// SyN on the box recovers the sphere-to-ellipsoid warp as the whole grid does, the fields
    /// agree inside the blob, and beyond the box the field continues its value on the box's face.
    @Test func synOnTheContentBoxMatchesSynOnTheWholeGrid() throws {
        let fixed = DeformableCases.blob(on: Self.grid, center: Self.center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: Self.grid, center: Self.center + SIMD3(1, -1, 0.5), axes: SIMD3(12, 8, 7))
        var stage = DeformableStage(metric: .meanSquares, levels: [Level(shrink: 2, sigma: .voxels(1), iterations: 60),
                                                                   Level(shrink: 1, sigma: .voxels(0), iterations: 40)],
                                    step: 0.3, updateSigma: 2, totalSigma: 0.5)
        let content = try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving)
        stage.domain = .grid
        let whole = try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving)
        let box = try #require(DenseDomain(stage: stage, fixed: fixed))
        #expect(content.levels.last!.size == Array([box.high.x - box.low.x, box.high.y - box.low.y, box.high.z - box.low.z]))
        #expect(whole.levels.last!.size == [64, 52, 36])
        for result in [content, whole] {
            let warped = try Resampler.resample(moving, onto: Self.grid, mapping: PointMapping(displacement: result.forward.field))
            #expect(DeformableCases.dice(fixed, warped) > 0.95)
            #expect(JacobianStatistics(determinant: result.forward.jacobianDeterminant).folded == 0)
        }
        var sum = 0.0, n = 0
        for i in 0..<Self.grid.voxelCount where fixed.voxels[i] > 0.05 {
            let a = content.forward.field.vectors, b = whole.forward.field.vectors
            let d = SIMD3<Double>(Double(a[3 * i] - b[3 * i]), Double(a[3 * i + 1] - b[3 * i + 1]), Double(a[3 * i + 2] - b[3 * i + 2]))
            sum += d.length; n += 1
        }
        #expect(sum / Double(n) < 0.05, "mean difference \(sum / Double(n)) mm inside the blob")
        // Beyond the box's high x face the half fields hold the face's vector; their composition
        // moves it by hundredths of a voxel.
        let half = content.forward.field.vectors, g = Self.grid
        for x in box.high.x..<g.size.x {
            let (y, z) = (box.low.y + 3, box.low.z + 3)
            let here = 3 * g.offset(x, y, z), face = 3 * g.offset(box.high.x - 1, y, z)
            let gap = (0..<3).map { abs(half[here + $0] - half[face + $0]) }.max()!
            #expect(gap < 0.02)
        }
    }

    @Test func thePlanKeyReadsWritesAndRefusesOtherNames() throws {
        func domain(_ plan: RegistrationPlan) -> StageDomain? {
            if case .syn(let stage) = plan.deformable { return stage.domain } else { return nil }
        }
        var plan = RegistrationPlan.preset("syn")!
        #expect(domain(plan) == .content)
        var stage = DeformableStage.synLocalCorrelation
        stage.domain = .grid
        plan.deformable = .syn(stage)
        let again = try RegistrationPlan(document: plan.document)
        #expect(again == plan && domain(again) == .grid)
        var text = PlanValue.map([PlanEntry("deformable", .map([PlanEntry("method", .string("syn")), PlanEntry("domain", .string("air"))]))])
        #expect { try RegistrationPlan(document: text) } throws: { "\($0)".contains("deformable.domain") && "\($0)".contains("content, grid") }
        text = .map([PlanEntry("deformable", .map([PlanEntry("method", .string("syn"))]))])
        #expect(domain(try RegistrationPlan(document: text)) == .content, "a plan without the key iterates on the content")
    }
}

extension DenseDomain: Equatable {
    public static func == (a: DenseDomain, b: DenseDomain) -> Bool { a.low == b.low && a.high == b.high }

    /// The box a stage's run iterates on (SyN unit-ranges the image first, which keeps the box).
    init?(stage: DeformableStage, fixed: Image<Float>) {
        var content = stage
        content.domain = .content
        self.init(content, fixed: UnitRange.scaled(fixed), mask: nil)
    }
}
