import Foundation
import Testing
import RegCore
import RegIO
import RegMethods
import RegTestSupport
import SwiftRegKit

/// Plan files as users write them: YAML or JSON, read back equal, faults named by file and key
/// with the valid values listed.
@Suite struct PlanFileTests {
    @Test(arguments: RegistrationPlan.presetNames)
    func printedPlansReadBackEqualAsYAMLAndJSON(name: String) throws {
        var plan = try #require(RegistrationPlan.preset(name))
        plan.inputs = PlanInputs(fixed: "a b/fixed image.nii.gz", moving: "m.nii.gz", fixedLandmarks: "f.csv", movingLandmarks: "m.csv")
        plan.preprocessing.winsorize = 0.01...0.99
        for format in [PlanFile.Format.yaml, .json] {
            #expect(try PlanFile.plan(fromText: PlanFile.text(plan, format: format)) == plan, "\(PlanFile.text(plan, format: format))")
        }
    }

    @Test func theTextReadsLikeAParameterFile() throws {
        let text = PlanFile.text(RegistrationPlan.preset("syn")!)
        for line in ["  metrics:\n  - metric: mi\n    bins: 32\n    weight: 1.0\n", "  shrink: [4, 2, 1]\n", "  smoothing: [2.0, 1.0, 0.0]\n",
                     "  smoothingUnits: voxels\n", "  step: [0.4, 0.4, 0.3]\n", "  convergenceThreshold: 1.0e-06\n", "  method: syn\n"] {
            #expect(text.contains(line), "missing \(line) in\n\(text)")
        }
        #expect(!text.contains("_0") && !text.contains("e+0"), "\(text)")
    }

    /// Each fault names its key and lists what is valid there.
    @Test(arguments: [
        ("linear: [{model: rigid, metric: lncc}]", "linear[0].metric", "mse, mad, ncc, mi, nmi"),
        ("linear: [{model: rigid, metric: mattes-mi}]", "linear[0].metric", "mse, mad, ncc, mi, nmi"),
        ("linear: [{model: rigid, shrinks: [2, 1]}]", "linear[0].shrinks", "shrink, "),
        ("linear: [{model: rotation}]", "linear[0].model", "translation, rigid, similarity, affine"),
        ("deformable: {method: syn, step: [0.4, 0.3]}", "deformable.step", "2 values for 3 levels"),
        ("deformable: {method: syn, metrics: [{metric: ncc}]}", "deformable.metrics[0].metric", "lncc, mse, mi"),
        ("deformable: {method: fluid}", "deformable.method", "syn, demons, bspline"),
        ("initialization: centre\nlinear: [{model: rigid}]", "initialization", "none, geometry, moments, principalAxes, landmarks"),
        ("linear: [{model: rigid, iterations: [10, many]}]", "linear[0].iterations[1]", "expected a number"),
        ("linear: []", "plan", "has no stage"),
        ("linear: [{model: rigid, metrics: [{metric: mi, bins: 2}]}]", "linear[0].metrics[0].bins", "8 to 4096"),
        // A key that is a list or a map trapped inside Yams.load (found by the plan fuzz target).
        ("{[1]: 2}", "line 1", "a key must be a name"),
        ("linear:\n  - model: rigid\n    ? {a: 1}\n    : 3", "line 3", "a key must be a name"),
        ("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
         + "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]",
         "YAML", "more than 100000 values"),
        ("base: &base {model: rigid}\nlinear: [{<<: *base}]", "line 2", "merge keys"),
        // Values that trapped or allocated without end when a run used them (the mutant campaign).
        ("linear: [{model: rigid, sampling: random, samplingFraction: 1.0e-320}]", "linear[0].samplingFraction", "takes 1e-06 to 1.0"),
        ("linear: [{model: rigid, convergenceWindow: -2147483648}]", "linear[0].convergenceWindow", "1 to 100000"),
        ("deformable: {method: syn, updateSigma: 2147483647}", "deformable.updateSigma", "takes 0.0 to 1000.0"),
        ("linear: [{model: rigid, optimizer: lbfgs, memory: 1000000000}]", "linear[0].memory", "1 to 1000"),
        // YAML 1.1's base-60 integer, whose overflow trapped in Yams' constructor (the plan fuzz target).
        ("linear: [{model: rigid, iterations: [2000000000000063861:30]}]", "linear[0].iterations[0]", "expected a number"),
    ])
    func faultsNameTheFileTheKeyAndTheValidValues(text: String, key: String, words: String) throws {
        do {
            _ = try PlanFile.plan(fromText: text, source: "bad.yaml")
            Issue.record("accepted: \(text)")
        } catch RegError.invalidHeader(let path, let field, let reason) {
            #expect(path == "bad.yaml" && field == key, "\(field): \(reason)")
            #expect(reason.contains(words), "\(field): \(reason)")
        }
    }

    @Test func aPlanFileOnDiskIsReadAndItsFaultsNameIt() throws {
        let folder = TemporaryFolder()
        let path = folder.file("plan.yaml")
        try PlanFile.text(RegistrationPlan.preset("quick")!).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try PlanFile.read(path) == RegistrationPlan.preset("quick")!)
        try "linear: [{model: rigid, optimiser: adam}]\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RegError.self) { try PlanFile.read(path) }
        do { _ = try PlanFile.read(path) } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("optimiser") && "\(error)".contains("optimizer"), "\(error)")
        }
    }
}

/// Images that are not one value per voxel are refused before a registration starts, naming the
/// file (issue 31, item 5: a 4-D series once ran the whole registration and then crashed).
@Suite struct RegistrationInputTests {
    @Test func aSeriesOrVectorImageIsRefusedNamingTheFile() throws {
        let folder = TemporaryFolder()
        let grid = Phantoms.obliqueGeometry(size: SIMD3(6, 5, 4))
        let scalar = folder.file("scalar.nii.gz"), vector = folder.file("vector.nii.gz")
        try ImageFile.write(AnyImage(Phantoms.randomImage(Float.self, on: grid, seed: 1)), to: scalar)
        try ImageFile.write(AnyImage(Phantoms.randomImage(Float.self, on: grid, components: 3, seed: 2)), to: vector)
        var plan = RegistrationPlan.preset("rigid")!
        plan.inputs = PlanInputs(fixed: scalar, moving: vector)
        do {
            _ = try RegistrationFiles.register(plan, prefix: folder.file("reg"))
            Issue.record("a vector image was registered")
        } catch let error as RegError {
            #expect("\(error)".contains(vector) && "\(error)".contains("3 components per voxel"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("reg_summary.json")))
        let image = Phantoms.randomImage(Float.self, on: grid, components: 2, seed: 3)
        #expect(throws: RegError.self) { try Registration(plan).run(fixed: image, moving: image) }
    }
}
