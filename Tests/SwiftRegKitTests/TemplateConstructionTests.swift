import Foundation
import Testing
import RegCore
import RegIO
import RegKernels
import RegAnalysis
import RegMethods
import RegTestSupport
@testable import SwiftRegKit

/// `template` (issue 35, item 1): the template of subjects that differ in size has their mean
/// size, not the first subject's; its shape update shrinks; labels are carried and fused.
struct TemplateConstructionTests {
    static let grid = try! Geometry(size: SIMD3(36, 34, 32), spacing: SIMD3(1.6, 1.5, 1.7), origin: SIMD3(-25, 10, -20),
                                    direction: Phantoms.rotation(7, -5, 11))
    static let center = grid.physicalPoint(ofIndex: SIMD3(17.5, 16.5, 15.5))
    static let base = Phantoms.blobs(center: center, extent: SIMD3(repeating: 11), count: 9, seed: 4)

    /// The base object scaled by `s` about the grid's centre, on a background of 0 (as a skull-stripped brain).
    static func subject(scale s: Double) -> Image<Float> {
        Phantoms.image(on: grid) { p in base(center + (p - center) / s) - 10 }
    }

    /// The root mean square distance of the object's mass from its centre of mass, mm.
    static func radius(_ image: Image<Float>) -> Double {
        var mass = 0.0, first = SIMD3<Double>.zero, second = 0.0
        for z in 0..<grid.size.z { for y in 0..<grid.size.y { for x in 0..<grid.size.x {
            let w = max(0, Double(image[x, y, z]))
            let p = grid.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z)))
            mass += w; first += w * p; second += w * (p * p).sum()
        } } }
        let mean = first / mass
        return (second / mass - (mean * mean).sum()).squareRoot()
    }

    static func threshold(_ image: Image<Float>) throws -> Image<Int32> {
        try Image(geometry: image.geometry, voxels: image.voxels.map { $0 > 35 ? 1 : 0 })
    }

    static func correlation(_ a: some ContiguousValues<Float>, _ b: some ContiguousValues<Float>) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0) { $0 + Double($1) } / n, mb = b.reduce(0) { $0 + Double($1) } / n
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += (Double(x) - ma) * (Double(y) - mb); aa += (Double(x) - ma) * (Double(x) - ma); bb += (Double(y) - mb) * (Double(y) - mb) }
        return ab / (aa * bb).squareRoot()
    }

    @Test func theTemplateHasTheCohortsMeanSizeNotTheFirstSubjects() throws {
        let scales = [0.88, 1.0, 1 / 0.88]
        let subjects = scales.map(Self.subject)
        let labels = try subjects.map(Self.threshold)
        var settings = TemplateSettings()
        settings.iterations = 3
        let result = try TemplateConstruction.build(subjects, labels: labels, settings: settings)
        let truth = Self.radius(Self.subject(scale: 1))
        #expect(abs(Self.radius(subjects[0]) / truth - 0.88) < 0.02)
        let ratio = Self.radius(result.template) / truth
        #expect(abs(ratio - 1) < 0.03, "template radius / mean-shape radius = \(ratio)")
        #expect(result.templates.count == 4 && result.iterations.map(\.iteration) == [0, 1, 2, 3])
        // Sizes agree from the start (the mean affine is undone), so later rounds move it by under half a voxel.
        #expect(abs(Self.radius(result.templates[0]) / truth - 1) < 0.03)
        let updates = result.iterations.dropFirst().map(\.shapeUpdate)
        #expect(updates.allSatisfy { $0 < 0.8 }, "shape updates \(updates) mm")
        #expect(result.iterations.last!.meanCorrelation > 0.97, "\(result.iterations.last!)")
        // The carried labels agree with the fused ones, and the fused ones with the mean shape's.
        #expect(result.iterations.last!.meanLabelDice! > 0.9)
        let reference = try Self.threshold(Self.subject(scale: 1))
        #expect(try LabelEvaluation(reference: reference, test: try #require(result.labels), distances: false).meanDice > 0.9)
        // The subjects carried onto the final template match it.
        for s in result.subjects { #expect(Self.correlation(s.warped.voxels, result.template.voxels) > 0.97) }
    }

    /// Subjects registered two at a time on one thread each give the template, byte for byte, of
    /// one at a time on two threads.
    @Test func concurrentRegistrationsGiveTheSameTemplate() throws {
        let subjects = [0.9, 1.0, 1.1].map(Self.subject)
        var settings = TemplateSettings(plan: RegistrationPlan.preset("quick")!)
        settings.iterations = 1
        settings.concurrentRegistrations = 1
        let serial = try Parallelism.withThreadCount(2) { try TemplateConstruction.build(subjects, settings: settings) }
        settings.concurrentRegistrations = 2
        let concurrent = try Parallelism.withThreadCount(2) { try TemplateConstruction.build(subjects, settings: settings) }
        #expect(serial.template == concurrent.template)
        #expect(zip(serial.subjects, concurrent.subjects).allSatisfy { $0.warped == $1.warped })
        #expect(settings.registrationWorkers(grid: Self.grid) == 2)
        settings.concurrentRegistrations = nil
        #expect(Parallelism.withThreadCount(3) { settings.registrationWorkers(grid: Self.grid) } == 3)
    }

    /// Rounds before the last `fineRounds` register without the deformable stage's finest level;
    /// the last ones, the initial alignment and single-level stages are as planned.
    @Test func roundsBeforeTheFineOnesLeaveOutTheFinestLevel() throws {
        var settings = TemplateSettings()
        settings.iterations = 4
        let plans = (0...4).map(settings.plan(forRound:))
        #expect(plans[0] == settings.initialPlan && plans[4] == settings.plan)
        guard case .syn(let full) = settings.plan.deformable, case .syn(let coarse) = plans[3].deformable else { Issue.record("not syn"); return }
        #expect(coarse.levels == Array(full.levels.dropLast()) && coarse.steps == full.steps.map { Array($0.dropLast()) })
        #expect(plans[1] == plans[3] && plans[1].linear == settings.plan.linear)
        settings.fineRounds = 2
        #expect(settings.plan(forRound: 3) == settings.plan && settings.plan(forRound: 2) == plans[2])
        settings.fineRounds = nil
        #expect((1...4).allSatisfy { settings.plan(forRound: $0) == settings.plan })
        settings.plan = RegistrationPlan.preset("bspline")!
        settings.fineRounds = 1
        guard case .bspline(let spline) = settings.plan(forRound: 1).deformable else { Issue.record("not bspline"); return }
        #expect(spline.levels.count == 2 && spline.gridSchedule == [4, 2])
        settings.plan.deformable = .syn(DeformableStage(metric: .meanSquares, levels: Level.pyramid(iterations: [10], shrink: [2])))
        #expect(settings.plan(forRound: 1) == settings.plan)
    }

    @Test func fewerThanTwoImagesOrMismatchedLabelsAreRefused() throws {
        let one = [Self.subject(scale: 1)]
        #expect(throws: RegError.self) { try TemplateConstruction.build(one, settings: TemplateSettings()) }
        let two = [Self.subject(scale: 1), Self.subject(scale: 1.1)]
        #expect(throws: RegError.self) { try TemplateConstruction.build(two, labels: [Image<Int32>(geometry: Self.grid)], settings: TemplateSettings()) }
    }
}

/// The template's sharpening against SimpleITK's `LaplacianSharpening` (ITK's filter, which
/// ANTs' `ImageMath Sharpen` runs) on an anisotropic oblique image.
@Suite(.enabled(if: PythonOracle.available, "python3 with SimpleITK is not installed"))
struct LaplacianSharpeningTests {
    @Test func itMatchesITKsFilter() throws {
        let folder = TemporaryFolder()
        let image = TemplateConstructionTests.subject(scale: 1)
        try ImageFile.write(image, to: folder.file("in.nrrd"))
        _ = try PythonOracle.run("""
            import sys, SimpleITK as sitk
            sitk.WriteImage(sitk.LaplacianSharpening(sitk.ReadImage(sys.argv[1], sitk.sitkFloat32), True), sys.argv[2])
            """, arguments: [folder.file("in.nrrd"), folder.file("itk.nrrd")])
        let theirs = try ImageFile.read(folder.file("itk.nrrd")).image.floatImage()
        let mine = LaplacianSharpening.sharpened(image)
        let range = image.voxels.max()! - image.voxels.min()!
        let worst = zip(mine.voxels, theirs.voxels).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4 * range, "largest difference \(worst) of a range \(range)")
        #expect(TemplateConstruction.sharpness(mine) > TemplateConstruction.sharpness(image))
    }
}
