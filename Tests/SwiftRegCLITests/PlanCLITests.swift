import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// `--print-plan` then `--plan` reproduces a run bit for bit: for every preset, and for a run with
/// masks, landmarks and changed options. Small oblique, anisotropic 2-D phantoms, so no shared
/// data is needed.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct PlanCLITests {
    let folder = TemporaryFolder()

    /// A fixed blob pair and a moving copy shifted and turned, with a mask and three landmark pairs.
    func writeInputs() throws -> (fixed: String, moving: String, mask: String, fixedPoints: String, movingPoints: String) {
        let grid = Phantoms.oblique2DGeometry(size: SIMD2(44, 38))
        let center = grid.physicalPoint(ofIndex: SIMD3(21.5, 18.5, 0))
        func blobs(_ shift: SIMD3<Double>) -> Image<Float> {
            Phantoms.image(on: grid) { p in
                let q = p - center - shift
                return exp(-((q.x - 6) * (q.x - 6) + q.y * q.y) / 40) + 0.6 * exp(-((q.x + 7) * (q.x + 7) + (q.y - 5) * (q.y - 5)) / 25)
            }
        }
        let fixed = blobs(.zero), moving = blobs(SIMD3(2.5, -1.5, 0))
        let mask = try Image<UInt8>(geometry: grid, voxels: fixed.voxels.map { $0 > 0.05 ? 1 : 0 })
        let paths = (folder.file("fixed.nii.gz"), folder.file("moving.nii.gz"), folder.file("mask.nii.gz"),
                     folder.file("fixed.csv"), folder.file("moving.csv"))
        try ImageFile.write(fixed, to: paths.0)
        try ImageFile.write(moving, to: paths.1)
        try ImageFile.write(mask, to: paths.2)
        let points = [SIMD3(6.0, 0, 0), SIMD3(-7.0, 5, 0), SIMD3(0.0, -4, 0)].map { center + $0 }
        try LandmarkFile.write(Landmarks(points: points, labels: ["a", "b", "c"]), to: paths.3)
        try LandmarkFile.write(Landmarks(points: points.map { $0 + SIMD3(2.5, -1.5, 0) }, labels: ["a", "b", "c"]), to: paths.4)
        return paths
    }

    /// Runs the options, then the printed plan, and compares every output file byte for byte
    /// (the summaries without their timings).
    func expectReproduced(_ options: [String], name: String) throws {
        let direct = folder.file("\(name)_direct"), planned = folder.file("\(name)_planned"), plan = folder.file("\(name).yaml")
        let printed = try CLI.run(["register"] + options + ["--print-plan"])
        #expect(printed.status == 0, "\(printed.stderr)")
        try printed.stdout.write(toFile: plan, atomically: true, encoding: .utf8)
        let a = try CLI.run(["register"] + options + ["-o", direct, "--quiet"])
        let b = try CLI.run(["register", "--plan", plan, "-o", planned, "--quiet"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\n\(b.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(name + "_direct_") }
        #expect(files.count >= 4, "\(files)")
        for file in files {
            let suffix = String(file.dropFirst((name + "_direct").count))
            var one = try Data(contentsOf: URL(fileURLWithPath: direct + suffix))
            var two = try Data(contentsOf: URL(fileURLWithPath: planned + suffix))
            if suffix == "_summary.json" { (one, two) = (try Self.withoutTimes(one), try Self.withoutTimes(two)) }
            #expect(one == two, "\(name): \(suffix) differs")
        }
    }

    /// The summary without its timings (`seconds`, and the dense levels' `phases`) and the run's
    /// record (its id and file names differ from run to run by design).
    static func withoutTimes(_ data: Data) throws -> Data {
        func strip(_ v: Any) -> Any {
            if let d = v as? [String: Any] { return d.filter { !["seconds", "phases", "run"].contains($0.key) }.mapValues(strip) }
            if let a = v as? [Any] { return a.map(strip) }
            return v
        }
        return try JSONSerialization.data(withJSONObject: strip(try JSONSerialization.jsonObject(with: data)), options: .sortedKeys)
    }

    @Test func everyPresetIsReproducedFromItsPrintedPlan() throws {
        let inputs = try writeInputs()
        for preset in ["translation", "rigid", "similarity", "affine", "syn", "syn-mi", "quick", "demons", "bspline"] {
            try expectReproduced(["-f", inputs.fixed, "-m", inputs.moving, "--preset", preset, "--metric", "mse"], name: preset)
        }
    }

    /// `--metric` sets every stage's metric or is refused (issue 37, item 4): `mi` reaches the SyN
    /// stage too, `nmi` (linear stages only) needs `--deformable-metric`, and a run says which
    /// stages it changed.
    @Test func metricAppliesToEveryStageOrIsRefused() throws {
        let inputs = try writeInputs()
        func plan(_ options: [String]) throws -> (status: Int32, text: String) {
            let r = try CLI.run(["register", "-f", inputs.fixed, "-m", inputs.moving] + options + ["--print-plan", "--plan-format", "json"])
            return (r.status, r.status == 0 ? r.stdout : r.stderr)
        }
        func metricNames(_ json: String) throws -> [String] {
            let plan = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let stages = (plan["linear"] as? [[String: Any]] ?? []) + [plan["deformable"] as? [String: Any]].compactMap { $0 }
            return stages.map { (($0["metrics"] as? [[String: Any]])?.first?["metric"] as? String) ?? "?" }
        }
        let mi = try plan(["--preset", "syn", "--metric", "mi"])
        #expect(mi.status == 0, "\(mi.text)")
        #expect(try metricNames(mi.text) == ["mi", "mi", "mi"])
        let refused = try plan(["--preset", "syn", "--metric", "nmi"])
        #expect(refused.status == 2 && refused.text.contains("--metric nmi is for linear stages only")
                && refused.text.contains("--deformable-metric lncc keeps the preset's lncc(radius 2)"), "\(refused.text)")
        let both = try plan(["--preset", "syn", "--metric", "nmi", "--deformable-metric", "lncc", "--radius", "3"])
        #expect(both.status == 0, "\(both.text)")
        #expect(try metricNames(both.text) == ["nmi", "nmi", "lncc"])
        #expect(try plan(["--preset", "affine", "--deformable-metric", "mi"]).status == 2)
        #expect(try plan(["--preset", "syn", "--deformable-metric", "ncc"]).text.contains("--deformable-metric takes lncc, mse, mi"))
        let run = try CLI.run(["register", "-f", inputs.fixed, "-m", inputs.moving, "--preset", "quick", "--metric", "mse",
                               "-o", folder.file("metric")])
        #expect(run.status == 0 && run.stdout.contains("metrics: affine mse, syn mse"), "\(run.stdout)\n\(run.stderr)")
    }

    @Test func aRunWithMasksLandmarksAndChangedOptionsIsReproduced() throws {
        let inputs = try writeInputs()
        try expectReproduced(["-f", inputs.fixed, "-m", inputs.moving, "--preset", "syn", "--fixed-mask", inputs.mask,
                              "--moving-mask", inputs.mask, "--landmarks", inputs.fixedPoints, inputs.movingPoints,
                              "--landmark-weight", "0.05", "--init", "landmarks", "--sampling", "0.5", "--seed", "7",
                              "--iterations", "40x20", "--deformable-iterations", "20x10x5", "--step", "0.3", "--winsorize", "0.01,0.99",
                              "--radius", "1"], name: "guided")
        let plan = try String(contentsOfFile: folder.file("guided.yaml"), encoding: .utf8)
        for words in ["fixedMask: ", "fixedLandmarks: ", "landmarkWeight: 0.05", "initialization: landmarks", "samplingFraction: 0.5",
                      "seed: 7", "iterations: [40, 20]", "iterations: [20, 10, 5]", "step: 0.3", "winsorize: [0.01, 0.99]", "radius: 1"] {
            #expect(plan.contains(words), "missing '\(words)' in\n\(plan)")
        }
    }

    @Test func theDeformableLandmarkWeightReachesSyNAndBSplineStagesAndNotDemons() throws {
        let inputs = try writeInputs()
        func deformable(_ preset: String) throws -> (status: Int32, stage: [String: Any]?, stderr: String) {
            let r = try CLI.run(["register", "-f", inputs.fixed, "-m", inputs.moving, "--preset", preset, "--landmarks", inputs.fixedPoints,
                                 inputs.movingPoints, "--deformable-landmark-weight", "0.01", "--print-plan", "--plan-format", "json"])
            guard r.status == 0 else { return (r.status, nil, r.stderr) }
            let plan = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            return (r.status, (plan["deformable"] as? [String: Any]), r.stderr)
        }
        for preset in ["syn", "bspline"] {
            let r = try deformable(preset)
            #expect(r.status == 0 && r.stage?["landmarkWeight"] as? Double == 0.01, "\(preset): \(r.stderr)")
        }
        let demons = try deformable("demons")
        #expect(demons.status == 2 && demons.stderr.contains("applies to syn and bspline"), "\(demons.stderr)")
    }

    @Test func optionsThatThePlanSetsAreErrorsThatNameThem() throws {
        let inputs = try writeInputs()
        let plan = folder.file("p.yaml")
        let printed = try CLI.run(["register", "-f", inputs.fixed, "-m", inputs.moving, "--preset", "rigid", "--print-plan"])
        try printed.stdout.write(toFile: plan, atomically: true, encoding: .utf8)
        let overridden = try CLI.run(["register", "--plan", plan, "-o", folder.file("x"), "--metric", "mse", "--seed", "3"])
        #expect(overridden.status == 2 && overridden.stderr.contains("--metric, --seed are set by the plan file"), "\(overridden.stderr)")
        let twice = try CLI.run(["register", "--plan", plan, "-o", folder.file("x"), "-f", inputs.moving])
        #expect(twice.status == 2 && twice.stderr.contains("-f/--fixed") && twice.stderr.contains("already names"), "\(twice.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("x_summary.json")))
        // --print-plan needs no files at all.
        let bare = try CLI.run(["register", "--preset", "bspline", "--print-plan"])
        #expect(bare.status == 0 && bare.stdout.contains("method: bspline") && !bare.stdout.contains("inputs:"), "\(bare.stderr)")
        let json = try CLI.run(["register", "--preset", "rigid", "--print-plan", "--plan-format", "json"])
        #expect(json.status == 0 && json.stdout.hasPrefix("{\n  \"preset\": \"rigid\""), "\(json.stdout)")
    }

    /// Options that would make huge buffers are refused before anything is allocated or written
    /// (issue 31, item 4: each of these once aborted or grew past 6 GB).
    @Test func optionsThatSetHugeSizesAreRefusedAtOnce() throws {
        let inputs = try writeInputs()
        let cases: [([String], Int32, String)] = [
            (["register", "--bins", "100000000"], 2, "bins"),
            (["register", "--sigmas", "1e9x1x0"], 2, "smoothing"),
            (["register", "--preset", "bspline", "--grid-spacing", "1e-6"], 1, "gridSpacing"),
            (["resample", inputs.fixed, folder.file("huge_resampled.nii.gz"), "--spacing", "1e-4"], 1, "voxels"),
        ]
        for (arguments, status, words) in cases {
            let output = folder.file("huge")
            let full = arguments[0] == "register" ? arguments + ["-f", inputs.fixed, "-m", inputs.moving, "-o", output] : arguments
            let r = try CLI.run(full)
            #expect(r.status == status && r.stderr.contains(words), "\(arguments): \(r.status) \(r.stderr)")
            #expect(!r.stderr.contains("level 1/"), "\(arguments) ran a registration first")
            let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("huge") }
            #expect(left.isEmpty, "\(arguments) left \(left)")
        }
    }

    /// A landmark fit alone (no iterations) writes a readable summary with the fit's cost
    /// (issue 31, item 6: it once failed to encode an infinite cost).
    @Test func aLandmarkFitWithoutIterationsWritesItsSummary() throws {
        let inputs = try writeInputs()
        let prefix = folder.file("fit")
        let r = try CLI.run(["register", "-f", inputs.fixed, "-m", inputs.moving, "-o", prefix, "--preset", "rigid", "--init", "landmarks",
                             "--landmarks", inputs.fixedPoints, inputs.movingPoints, "--iterations", "0x0x0", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prefix + "_summary.json"))) as? [String: Any])
        let levels = try #require(summary["linearLevels"] as? [[String: Any]])
        #expect(levels.count == 3 && levels.allSatisfy { ($0["finalCost"] as? Double)?.isFinite == true && $0["evaluations"] as? Int == 1 })
        #expect(((summary["landmarkRMS"] as? Double) ?? 1) < 1e-6)
    }

    /// `register --report` builds the page through the library's `RegistrationReport`, with the
    /// run's timings and plan; `report --prefix` reads the same summary back.
    @Test func registerWritesItsReportAndReportReadsTheSummary() throws {
        let inputs = try writeInputs()
        let prefix = folder.file("qc")
        let r = try CLI.run(["register", "-f", inputs.fixed, "-m", inputs.moving, "-o", prefix, "--preset", "rigid", "--report", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let page = try String(contentsOfFile: prefix + "_report.html", encoding: .utf8)
        for words in ["<h2>Stages and levels</h2>", "<h2>Plan</h2>", "preset rigid", "model: rigid"] {
            #expect(page.contains(words), "missing \(words)")
        }
        let again = try CLI.run(["report", "-f", inputs.fixed, "-m", inputs.moving, "--prefix", prefix, "-o", folder.file("again.html")])
        let second = try String(contentsOfFile: folder.file("again.html"), encoding: .utf8)
        #expect(again.status == 0 && second.contains("preset rigid"), "\(again.stderr)")
    }

    @Test func logJSONEndsWithADoneEvent() throws {
        let inputs = try writeInputs()
        let r = try CLI.run(["register", "-f", inputs.fixed, "-m", inputs.moving, "--preset", "rigid", "-o", folder.file("log"), "--log-json"])
        #expect(r.status == 0, "\(r.stderr)")
        let last = try #require(r.stderr.split(separator: "\n").last)
        #expect(last.contains("\"kind\":\"done\""), "\(last)")
    }
}
