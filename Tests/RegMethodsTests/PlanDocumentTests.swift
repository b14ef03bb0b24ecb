import Testing
import RegCore
import RegMethods
import RegMetrics
import RegOptimize

/// The plan file is the whole run: every preset, and plans with every kind of setting, come back
/// equal from their document; misspelt keys and names are errors that list the valid ones.
@Suite struct PlanDocumentTests {
    @Test(arguments: RegistrationPlan.presetNames)
    func everyPresetComesBackEqualFromItsDocument(name: String) throws {
        var plan = try #require(RegistrationPlan.preset(name))
        #expect(try RegistrationPlan(document: plan.document) == plan)
        plan.inputs = PlanInputs(fixed: "f.nii.gz", moving: "m.nii.gz", fixedMask: "fm.nii.gz", movingMask: "mm.nii.gz",
                                 fixedLandmarks: "f.csv", movingLandmarks: "m.csv", initialTransform: "start.mat")
        plan.landmarkWeight = 0.125
        plan.preprocessing = IntensityNormalization(winsorize: 0.005...0.995, zScore: true)
        plan.initialization = .principalAxes
        plan.rotationSearch = true
        #expect(try RegistrationPlan(document: plan.document) == plan)
    }

    @Test func everyStageSettingComesBack() throws {
        var rigid = LinearStage(.rigid, metrics: [WeightedMetric(.mutualInformation(bins: 48)), WeightedMetric(.meanSquares, weight: 0.3)],
                                levels: [Level(shrink: 3, sigma: .mm(1.5), iterations: 7), Level(shrink: 1, sigma: .voxels(0), iterations: 9)],
                                sampling: .grid(step: 3), sampleLimit: 1234, optimizer: .adam(learningRate: 0.07),
                                convergence: ConvergenceMonitor(window: 6, threshold: 3e-7))
        var affine = LinearStage(.affine, metric: .normalizedMutualInformation(bins: 16), sampling: .full,
                                 optimizer: .lbfgs(memory: 5, maxStep: 3))
        affine.levels = [Level(shrink: 2, sigma: .mm(1), iterations: 30)]
        rigid.sampling = .random(fraction: 0.1, seed: 99)
        var syn = DeformableStage.synLocalCorrelation
        syn.metrics.append(WeightedMetric(.mutualInformation(bins: 24), weight: 0.5))
        syn.landmarkWeight = 0.3
        var guidedBSpline = BSplineStage(metric: .localCorrelation(radius: 3))
        guidedBSpline.landmarkWeight = 0.05
        var automatic = RegistrationPlan(linear: [affine], deformable: .syn(syn))
        automatic.inputs = PlanInputs(fixed: "f.nii.gz", moving: "m.nii.gz", automaticKeypoints: true)
        automatic.initialization = .landmarks
        var unmaskedRigid = rigid
        unmaskedRigid.masks = StageMasks(fixed: .none, moving: .none)
        var brainSyN = DeformableStage.synMutualInformation
        brainSyN.masks = StageMasks(fixed: .file("brain.nii.gz"))
        var maskedBSpline = guidedBSpline
        maskedBSpline.masks = StageMasks(moving: .file("m.nii.gz"))
        var sequence = RegistrationPlan(linear: [unmaskedRigid, affine])
        sequence.deformableStages = [.syn(brainSyN), .bspline(maskedBSpline), .demons(.demons)]
        let plans = [
            automatic,
            RegistrationPlan(linear: [rigid, affine], deformable: .syn(syn)),
            RegistrationPlan(linear: [], deformable: .demons(.demons)),
            RegistrationPlan(linear: [rigid], deformable: .bspline(BSplineStage(metric: .meanSquares, gridSpacing: 7, gridSchedule: [4, 2, 2]))),
            RegistrationPlan(linear: [rigid], deformable: .bspline(guidedBSpline)),
            sequence,
        ]
        for plan in plans {
            #expect(try RegistrationPlan(document: plan.document) == plan, "\(plan.document.yaml)")
        }
    }

    @Test func automaticKeypointsAreAutoOrAnErrorAndNotBesideLandmarkFiles() throws {
        let document = PlanValue.map([PlanEntry("inputs", .map([PlanEntry("keypoints", .string("manual"))])),
                                      PlanEntry("linear", .list([.map([PlanEntry("model", .string("rigid"))])]))])
        #expect(throws: RegError.invalidArgument(name: "inputs.keypoints", reason: "takes auto (find landmarks automatically), found 'manual'")) {
            try RegistrationPlan(document: document)
        }
        var plan = try #require(RegistrationPlan.preset("affine"))
        plan.inputs = PlanInputs(fixedLandmarks: "f.csv", movingLandmarks: "m.csv", automaticKeypoints: true)
        #expect(throws: RegError.self) { try plan.validate() }
    }

    @Test func perLevelValuesTakeOneValueOrOnePerLevel() throws {
        let yaml = PlanValue.map([
            PlanEntry("linear", .list([.map([PlanEntry("model", .string("rigid")), PlanEntry("metric", .string("mse")),
                                             PlanEntry("shrink", .list([.integer(4), .integer(2), .integer(1)])),
                                             PlanEntry("smoothing", .integer(1)), PlanEntry("iterations", .integer(20))])])),
            PlanEntry("deformable", .map([PlanEntry("method", .string("syn")), PlanEntry("levels", .integer(2)),
                                          PlanEntry("step", .list([.number(0.5), .number(0.25)]))])),
        ])
        let plan = try RegistrationPlan(document: yaml)
        #expect(plan.linear[0].levels == [Level(shrink: 4, sigma: .voxels(1), iterations: 20), Level(shrink: 2, sigma: .voxels(1), iterations: 20),
                                          Level(shrink: 1, sigma: .voxels(1), iterations: 20)])
        #expect(plan.linear[0].metrics == [WeightedMetric(.meanSquares)])
        guard case .syn(let stage) = plan.deformable else { Issue.record("not syn"); return }
        #expect(stage.levels.map(\.shrink) == [2, 1] && stage.steps == [0.5, 0.25])
    }

    /// `deformable` takes one stage or a list of stages; errors in a list name the stage.
    @Test func deformableStagesAreAListWhoseErrorsNameTheStage() throws {
        func plan(_ stages: PlanValue) -> PlanValue {
            .map([PlanEntry("linear", .list([.map([PlanEntry("model", .string("rigid"))])])), PlanEntry("deformable", stages)])
        }
        let syn = PlanValue.map([PlanEntry("method", .string("syn")), PlanEntry("metric", .string("mi"))])
        let badStep = PlanValue.map([PlanEntry("method", .string("syn")), PlanEntry("step", .number(-1))])
        let two = try RegistrationPlan(document: plan(.list([syn, .map([PlanEntry("method", .string("bspline"))])])))
        #expect(two.deformableStages.count == 2)
        guard case .bspline = two.deformable else { Issue.record("the last stage is not the B-spline"); return }
        #expect(two.document.yaml.contains("- method: syn"))
        #expect(throws: RegError.invalidArgument(name: "deformable[1].step", reason: "steps must be > 0 voxels")) {
            try RegistrationPlan(document: plan(.list([syn, badStep])))
        }
        #expect(throws: RegError.invalidArgument(name: "deformable.step", reason: "steps must be > 0 voxels")) {
            try RegistrationPlan(document: plan(badStep))
        }
        #expect(throws: RegError.self) { try RegistrationPlan(document: plan(.list([]))) }
        #expect(try RegistrationPlan(document: plan(.list([syn, .map([PlanEntry("method", .string("bspline")),
                                                                       PlanEntry("fixedMask", .string("b.nii.gz"))])]))).stageMaskFiles == ["b.nii.gz"])
        #expect(throws: RegError.invalidArgument(name: "deformable.fixedMask", reason: "give a mask file, or none for no mask in this stage")) {
            try RegistrationPlan(document: plan(.map([PlanEntry("method", .string("syn")), PlanEntry("fixedMask", .string(""))])))
        }
        var removed = two
        removed.deformable = nil
        #expect(removed.deformableStages.isEmpty)
    }
}
