import Foundation
import Testing
import RegAnalysis
import RegCore
import RegIO
import RegKernels
import RegTestSupport

/// Reference values in `Fixtures/label_metrics.json`, made by `Fixtures/label_metrics_reference.py`
/// (SimpleITK's LabelOverlapMeasuresImageFilter and scipy's exact distance transform).
enum LabelFixtures {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    typealias Expected = [String: [String: [String: Double]]]
    static let expected: Expected = {
        let data = FileManager.default.contents(atPath: folder + "/label_metrics.json")!
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    static func labels(_ name: String) throws -> Image<Int32> { try ImageFile.read(folder + "/\(name).nii.gz").image.labelImage() }

    /// Checks every label against reference values: Dice and Jaccard within 1e-6, distances within 0.05 mm.
    static func check(_ e: LabelEvaluation, against reference: [String: [String: Double]]) {
        #expect(e.labels.count == reference.count)
        for label in e.labels {
            guard let r = reference[String(label.id)] else { Issue.record("label \(label.id) not in the reference"); continue }
            #expect(abs(label.dice - r["dice"]!) < 1e-6, "Dice of label \(label.id)")
            #expect(abs(label.jaccard - r["jaccard"]!) < 1e-6, "Jaccard of label \(label.id)")
            #expect(abs(label.hd95! - r["hd95"]!) < 0.05, "HD95 of label \(label.id): \(label.hd95!) vs \(r["hd95"]!)")
            #expect(abs(label.assd! - r["assd"]!) < 0.05, "ASSD of label \(label.id): \(label.assd!) vs \(r["assd"]!)")
            #expect(abs(label.hausdorff! - r["hausdorff"]!) < 0.05, "Hausdorff of label \(label.id)")
        }
    }
}

@Suite struct LabelEvaluationTests {
    @Test func matchesFixturesOnObliqueAnisotropic3D() throws {
        let reference = try LabelFixtures.labels("ref3d"), test = try LabelFixtures.labels("test3d")
        #expect(reference.geometry.direction != .identity)
        LabelFixtures.check(try LabelEvaluation(reference: reference, test: test), against: LabelFixtures.expected["3d"]!)
    }

    @Test func matchesFixturesIn2D() throws {
        let reference = try LabelFixtures.labels("ref2d"), test = try LabelFixtures.labels("test2d")
        #expect(reference.geometry.dimension == 2)
        LabelFixtures.check(try LabelEvaluation(reference: reference, test: test), against: LabelFixtures.expected["2d"]!)
    }

    /// The same measures computed live by SimpleITK and scipy on the real lapirn tissue labels
    /// (B, and A's labels carried onto B's grid).
    @Test(.enabled(if: SharedData.isAvailable && LabelOracle.available, "shared data or python3 with SimpleITK and scipy absent"))
    func matchesLiveReferenceOnRealLabels() throws {
        let folder = TemporaryFolder()
        let b = try ImageFile.read(SharedData.path("brain/lapirn/image_B_160x192x144_seg.nii.gz")).image.labelImage()
        let a = try ImageFile.read(SharedData.path("brain/lapirn/image_A_160x192x144_seg.nii.gz")).image.labelImage()
        let aOnB = try Resampler.resample(a, onto: b.geometry, interpolation: .label)
        try ImageFile.write(aOnB, to: folder.file("a_on_b.nii.gz"))
        let output = try PythonOracle.runProcess(["python3", LabelFixtures.folder + "/label_metrics_reference.py",
                                                  SharedData.path("brain/lapirn/image_B_160x192x144_seg.nii.gz"), folder.file("a_on_b.nii.gz")])
        let live = try JSONDecoder().decode([String: [String: Double]].self, from: Data(output.utf8))
        let e = try LabelEvaluation(reference: b, test: aOnB)
        #expect(e.labels.map(\.id) == [1, 2])
        LabelFixtures.check(e, against: live)
    }

    @Test func distanceTransformIsExactOnAnisotropicGrid() {
        let size = SIMD3(9, 7, 5), spacing = SIMD3(0.7, 1.3, 2.1)
        var features = [UInt8](repeating: 0, count: size.x * size.y * size.z)
        for i in [3, 40, 77, 200, 301] { features[i] = 1 }
        let d2 = DistanceTransform.squared(features: features, size: size, spacing: spacing)
        let points = features.indices.filter { features[$0] != 0 }.map { i in SIMD3(i % 9, i / 9 % 7, i / 63) }
        for i in d2.indices {
            let p = SIMD3(i % 9, i / 9 % 7, i / 63)
            let brute = points.map { q -> Double in
                let d = SIMD3<Double>(p &- q) * spacing
                return (d * d).sum()
            }.min()!
            #expect(abs(d2[i] - brute) < 1e-9)
        }
    }

    @Test func identicalLabelsScorePerfectly() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(20, 18, 12))
        let centre = g.physicalPoint(ofIndex: SIMD3<Double>(g.size) / 2)
        let labels = Phantoms.image(on: g) { p in ((p - centre) * (p - centre)).sum() < 60 ? 4 : 0 }.converted(to: Int32.self)
        let e = try LabelEvaluation(reference: labels, test: labels)
        #expect(e.labels.count == 1 && e.labels[0].dice == 1 && e.labels[0].jaccard == 1)
        #expect(e.labels[0].hd95 == 0 && e.labels[0].assd == 0 && e.labels[0].relativeVolumeDifference == 0)
        let voxel = g.spacing.x * g.spacing.y * g.spacing.z
        #expect(abs(e.labels[0].referenceVolume - Double(e.labels[0].referenceVoxels) * voxel) < 1e-9)
    }

    @Test func differentGridsAndAbsentLabels() throws {
        let g = Phantoms.obliqueGeometry(size: SIMD3(10, 10, 6))
        let a = Image<Int32>(geometry: g, filledWith: 1)
        let b = Image<Int32>(geometry: try g.resampled(toSpacing: g.spacing * 2), filledWith: 1)
        #expect(throws: RegError.self) { try LabelEvaluation(reference: a, test: b) }
        // A requested label in neither image is listed as absent and left out of the means.
        let e = try LabelEvaluation(reference: a, test: a, labels: [1, 9])
        #expect(e.labels.map(\.id) == [1] && e.absent == [9] && e.meanDice == 1)
        do {
            _ = try LabelEvaluation(reference: a, test: a, labels: [9])
            Issue.record("a request of only absent labels was accepted")
        } catch {
            #expect("\(error)".contains("label 9"))
        }
    }
}

/// SimpleITK and scipy in python3, for the live comparison.
enum LabelOracle {
    static let available = (try? PythonOracle.run("import SimpleITK, scipy, numpy", arguments: [])) != nil
}
