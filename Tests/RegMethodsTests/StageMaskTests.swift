import Foundation
import RegCore
import RegKernels
@testable import RegMethods
import RegMetrics
import RegTestSupport
import RegTransforms
import Testing

/// Per-stage masks: a stage samples through the registration's masks, none, or a file of its own.
@Suite struct StageMaskTests {
    typealias Cases = DeformableSequenceTests
    /// The half of the grid with x index below the middle.
    static let half: Image<UInt8> = {
        let g = Cases.grid
        var voxels = [UInt8](repeating: 0, count: g.voxelCount)
        for i in voxels.indices where i % g.size.x < g.size.x / 2 { voxels[i] = 1 }
        return try! Image(geometry: g, voxels: voxels)
    }()

    static func plan(linear: StageMasks, deformable: StageMasks) -> RegistrationPlan {
        var rigid = LinearStage(.rigid, metric: .meanSquares, levels: [Level(shrink: 2, sigma: .voxels(1), iterations: 30)])
        rigid.masks = linear
        var syn = DeformableStage(metric: .meanSquares, levels: [Level(shrink: 2, sigma: .voxels(1), iterations: 20)], step: 0.3,
                                  updateSigma: 2, totalSigma: 0.5)
        syn.masks = deformable
        return RegistrationPlan(linear: [rigid], deformable: .syn(syn))
    }

    static func run(_ plan: RegistrationPlan, _ masks: RegistrationMasks) throws -> RegistrationResult {
        try Registration(plan).run(fixed: Cases.fixed, moving: Cases.moving, masks: masks)
    }

    static func same(_ a: RegistrationResult, _ b: RegistrationResult) -> Bool {
        a.affine == b.affine && a.deformable!.forward == b.deformable!.forward
    }

    /// A stage's own file acts as the registration's mask would; `none` as no mask at all; and
    /// the mask changes the result, so the equalities say something.
    @Test func aStageFileActsAsTheRegistrationMaskAndNoneAsNoMask() throws {
        let byFile = RegistrationMasks(files: ["half.nii.gz": Self.half])
        let asRegistration = try Self.run(Self.plan(linear: StageMasks(), deformable: StageMasks()), RegistrationMasks(fixed: Self.half))
        let asFile = try Self.run(Self.plan(linear: StageMasks(fixed: .file("half.nii.gz")), deformable: StageMasks(fixed: .file("half.nii.gz"))), byFile)
        let unmasked = try Self.run(Self.plan(linear: StageMasks(), deformable: StageMasks()), RegistrationMasks())
        let none = try Self.run(Self.plan(linear: StageMasks(fixed: .none), deformable: StageMasks(fixed: .none)), RegistrationMasks(fixed: Self.half))
        let fileIsRegistration = Self.same(asFile, asRegistration), noneIsUnmasked = Self.same(none, unmasked)
        let maskMatters = !Self.same(asRegistration, unmasked)
        #expect(fileIsRegistration && noneIsUnmasked && maskMatters)
        // Each stage takes its own: the rigid stage masked, SyN not.
        let mixed = try Self.run(Self.plan(linear: StageMasks(), deformable: StageMasks(fixed: .none)), RegistrationMasks(fixed: Self.half))
        let linearMasked = mixed.affine == asRegistration.affine, synUnmasked = mixed.deformable!.forward != asRegistration.deformable!.forward
        #expect(linearMasked && synUnmasked)
    }

    @Test func aFileThatWasNotReadIsNamedWithItsStage() throws {
        let plan = Self.plan(linear: StageMasks(), deformable: StageMasks(moving: .file("brain.nii.gz")))
        #expect(throws: RegError.invalidArgument(name: "deformable.movingMask",
                                                 reason: "names brain.nii.gz, which was not read: per-stage mask files are read by register (the command, batch jobs and Python)")) {
            try Self.run(plan, RegistrationMasks())
        }
        let empty = try Image<UInt8>(geometry: Cases.grid, voxels: [UInt8](repeating: 0, count: Cases.grid.voxelCount))
        #expect(throws: RegError.self) {
            try Self.run(Self.plan(linear: StageMasks(fixed: .file("e")), deformable: StageMasks()), RegistrationMasks(files: ["e": empty]))
        }
    }
}
