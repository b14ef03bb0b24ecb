import Foundation
import RegCore
import RegIO
import RegKernels
@testable import RegMethods
import RegMetrics
import RegTestSupport
import RegTransforms
import Synchronization
import Testing

/// Helpers for the deformable tests.
enum DeformableCases {
    /// A smooth sphere (radius `r` mm about `c`) or ellipsoid (semi-axes `axes`) on `grid`.
    static func blob(on grid: Geometry, center c: SIMD3<Double>, axes: SIMD3<Double>) -> Image<Float> {
        Phantoms.image(on: grid) { p in
            let q = (p - c) / axes
            let r = (q * q).sum().squareRoot()
            return 1 / (1 + exp((r - 1) * 12))      // 1 inside, 0 outside, a soft edge
        }
    }

    static func dice(_ a: Image<Float>, _ b: Image<Float>, threshold: Float = 0.5) -> Double {
        var both = 0, na = 0, nb = 0
        for (x, y) in zip(a.voxels, b.voxels) {
            let p = x > threshold, q = y > threshold
            if p { na += 1 }; if q { nb += 1 }; if p && q { both += 1 }
        }
        return 2 * Double(both) / Double(max(1, na + nb))
    }

    static func labelDice(_ a: Image<Int32>, _ b: Image<Int32>, labels: [Int32]) -> [Double] {
        labels.map { l in
            var both = 0, na = 0, nb = 0
            for (x, y) in zip(a.voxels, b.voxels) {
                if x == l { na += 1 }; if y == l { nb += 1 }; if x == l && y == l { both += 1 }
            }
            return 2 * Double(both) / Double(max(1, na + nb))
        }
    }

    /// Mean `‖(id + u)∘(id + w) − id‖` over voxels where `mask` is true.
    static func meanResidual(_ u: DisplacementField, after w: DisplacementField, where mask: (Int) -> Bool) -> Double {
        let r = FieldKernels.compose(u.field, after: w.field)
        var sum = 0.0, n = 0
        for i in 0..<r.geometry.voxelCount where mask(i) {
            let v = SIMD3<Double>(Double(r.vectors[3 * i]), Double(r.vectors[3 * i + 1]), Double(r.vectors[3 * i + 2]))
            sum += v.length; n += 1
        }
        return sum / Double(max(1, n))
    }

    /// A 2-D axial slice of a lapirn subject and its segmentation read through the seg's own
    /// header onto the image's grid (the data README says why).
    static func lapirnSlice(_ subject: String, z: Int = 72) throws -> (Image<Float>, Image<Int32>) {
        let image = try ImageFile.read(SharedData.path("brain/lapirn/image_\(subject)_160x192x144.nii.gz")).image.floatImage()
        let seg = try ImageFile.read(SharedData.path("brain/lapirn/image_\(subject)_160x192x144_seg.nii.gz")).image.floatImage()
        let onImage = try Resampler.resample(seg, onto: image.geometry, interpolation: .label)
        let g = image.geometry
        let sliceGrid = try Geometry(size: SIMD3(g.size.x, g.size.y, 1), spacing: g.spacing,
                                     origin: g.physicalPoint(ofIndex: SIMD3(0, 0, Double(z))), direction: g.direction, dimension: 2)
        let slice = try Resampler.resample(image, onto: sliceGrid)
        let labels = try Resampler.resample(onImage, onto: sliceGrid, interpolation: .nearest).converted(to: Int32.self)
        return (slice, labels)
    }

    static let small2DLevels = [Level(shrink: 4, sigma: .voxels(2), iterations: 80), Level(shrink: 2, sigma: .voxels(1), iterations: 60),
                                Level(shrink: 1, sigma: .voxels(0), iterations: 30)]
}

@Suite struct DeformablePhantomTests {
    static let grid = try! Geometry(size: SIMD3(36, 32, 28), spacing: SIMD3(1.1, 1.25, 1.4), origin: SIMD3(-20, 15, -8),
                                    direction: Matrix3.diagonal(SIMD3(-1, -1, 1)) * Phantoms.rotation(8, -10, 12))
    static var center: SIMD3<Double> { grid.physicalPoint(ofIndex: SIMD3<Double>(grid.size &- 1) / 2) }

    @Test(arguments: ["syn", "demons"])
    func sphereBecomesEllipsoid(_ method: String) throws {
        let fixed = DeformableCases.blob(on: Self.grid, center: Self.center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: Self.grid, center: Self.center + SIMD3(1, -1, 0.5), axes: SIMD3(12, 8, 7))
        let levels = [Level(shrink: 2, sigma: .voxels(1), iterations: 60), Level(shrink: 1, sigma: .voxels(0), iterations: 40)]
        let result: DeformableResult
        if method == "syn" {
            result = try SyNRegistration(stage: DeformableStage(metric: .meanSquares, levels: levels, step: 0.3, updateSigma: 2, totalSigma: 0.5))
                .run(fixed: fixed, moving: moving)
        } else {
            var stage = DeformableStage.demons
            stage.levels = levels
            result = try DemonsRegistration(stage: stage).run(fixed: fixed, moving: moving)
        }
        let warped = try Resampler.resample(moving, onto: Self.grid, mapping: PointMapping(displacement: result.forward.field))
        let before = DeformableCases.dice(fixed, moving), after = DeformableCases.dice(fixed, warped)
        #expect(before < 0.85)
        #expect(after > 0.95, "\(method): Dice \(before) → \(after)")
        let j = JacobianStatistics(determinant: result.forward.jacobianDeterminant)
        #expect(j.folded == 0)
        // The inverse warp brings the fixed sphere onto the ellipsoid.
        let back = try Resampler.resample(fixed, onto: Self.grid, mapping: PointMapping(displacement: result.inverse.field))
        #expect(DeformableCases.dice(moving, back) > 0.93)
        let inside = { (i: Int) in fixed.voxels[i] > 0.05 }
        #expect(DeformableCases.meanResidual(result.forward, after: result.inverse, where: inside) < 0.1)
    }

    @Test func resultsAreIdenticalForOneAndTwoThreads() throws {
        let fixed = DeformableCases.blob(on: Self.grid, center: Self.center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: Self.grid, center: Self.center, axes: SIMD3(11, 8, 8))
        let stage = DeformableStage(metric: .localCorrelation(radius: 2), levels: [Level(shrink: 2, sigma: .voxels(1), iterations: 10),
                                                                                    Level(shrink: 1, sigma: .voxels(0), iterations: 5)],
                                    totalSigma: 0.5, volumePenalty: 1)
        let one = try Parallelism.withThreadCount(1) { try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving) }
        let two = try Parallelism.withThreadCount(2) { try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving) }
        #expect(one.forward == two.forward && one.inverse == two.inverse)
    }

    /// A progress handler that throws stops the whole registration, in a linear stage or in SyN,
    /// within the iteration it heard, and its error leaves `run`.
    @Test(arguments: ["rigid", "SyN"])
    func aThrowingProgressHandlerCancelsWithinOneIteration(in stage: String) throws {
        let fixed = DeformableCases.blob(on: Self.grid, center: Self.center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: Self.grid, center: Self.center + SIMD3(1, 0, 0), axes: SIMD3(11, 8, 8))
        let heard = Mutex<[ProgressEvent]>([])
        #expect(throws: RegistrationCancelled.self) {
            try Registration(RegistrationPlan.preset("syn")!).run(fixed: fixed, moving: moving) { event in
                let inStage = heard.withLock { $0.append(event); return $0.filter { $0.stage == stage }.count }
                if inStage == 3 { throw RegistrationCancelled() }
            }
        }
        let events = heard.withLock { $0 }
        #expect(events.last?.stage == stage && events.filter { $0.stage == stage }.count == 3, "\(events.count) events, the last in \(events.last?.stage ?? "none")")
    }
}

/// SyN's penalty on `log det J` of the half fields.
@Suite struct VolumePenaltyTests {
    /// The log-Jacobian's standard deviation and mean square over the grid's interior.
    static func spread(_ u: VectorField) -> (sd: Double, meanSquare: Double) {
        let g = u.geometry, logJ = FieldKernels.logJacobianDeterminant(of: u)
        var values: [Double] = []
        for z in 2..<(g.size.z - 2) { for y in 2..<(g.size.y - 2) { for x in 2..<(g.size.x - 2) {
            values.append(Double(logJ.voxels[x + g.size.x * (y + g.size.y * z)]))
        } } }
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        return (sd, values.map { $0 * $0 }.reduce(0, +) / Double(values.count))
    }

    @Test func stepsOfThePenaltyAloneDiffuseALocalExpansion() throws {
        let g = DeformablePhantomTests.grid, c = DeformablePhantomTests.center
        // A ball about the centre swells by up to about 95 % in volume (log det J 0.67).
        var field = VectorField(geometry: g)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let d = g.physicalPoint(ofIndex: SIMD3(Double(x), Double(y), Double(z))) - c
            field[x, y, z] = SIMD3<Float>(0.25 * d * exp(-(d * d).sum() / 50))
        } } }
        // No total smoothing: `step` applies the penalty alone.
        let syn = SyNRegistration(stage: DeformableStage(metric: .meanSquares, updateSigma: 1, totalSigma: 0, volumePenalty: 1))
        let noUpdate = VectorField(geometry: g)
        let first = Self.spread(field)
        #expect(first.sd > 0.04)
        var last = first
        for _ in 0..<6 {
            field = syn.step(field, update: noUpdate, scale: 0)
            let now = Self.spread(field)
            #expect(now.sd < last.sd && now.meanSquare < last.meanSquare, "\(last) → \(now)")
            last = now
        }
        #expect(last.sd < 0.6 * first.sd, "SD of log det J \(first.sd) → \(last.sd)")
        #expect(JacobianStatistics(determinant: FieldKernels.jacobianDeterminant(of: field)).folded == 0)
        // A tolerance above the swelling's largest log det J (0.67) leaves the field as it is.
        let tolerant = SyNRegistration(stage: DeformableStage(metric: .meanSquares, updateSigma: 1, totalSigma: 0, volumePenalty: 1,
                                                              volumeTolerance: 0.7))
        let swollen = field
        #expect(tolerant.step(swollen, update: noUpdate, scale: 0) == swollen)
    }

    @Test func synWithThePenaltyAlignsAsWellWithAMoreRegularJacobian() throws {
        let grid = DeformablePhantomTests.grid, center = DeformablePhantomTests.center
        let fixed = DeformableCases.blob(on: grid, center: center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: grid, center: center + SIMD3(1, -1, 0.5), axes: SIMD3(12, 8, 7))
        let levels = [Level(shrink: 2, sigma: .voxels(1), iterations: 60), Level(shrink: 1, sigma: .voxels(0), iterations: 40)]
        let inside = try Image<UInt8>(geometry: grid, voxels: fixed.voxels.map { $0 > 0.05 ? 1 : 0 })
        var outcomes: [(dice: Double, sdLogJ: Double)] = []
        for penalty in [0.0, 1.0] {
            let stage = DeformableStage(metric: .meanSquares, levels: levels, step: 0.3, updateSigma: 2, totalSigma: 0, volumePenalty: penalty)
            let result = try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving)
            let warped = try Resampler.resample(moving, onto: grid, mapping: PointMapping(displacement: result.forward.field))
            let j = JacobianStatistics(determinant: result.forward.jacobianDeterminant, mask: inside)
            #expect(j.folded == 0)
            outcomes.append((DeformableCases.dice(fixed, warped), j.sdLogJ))
        }
        #expect(outcomes[1].dice > 0.95, "\(outcomes)")
        #expect(outcomes[1].sdLogJ < 0.7 * outcomes[0].sdLogJ, "\(outcomes)")
    }

    @Test func unstablePenaltiesAreRefusedAndOldPlansReadAsNone() throws {
        #expect(abs(DeformableStage.volumePenaltyLimit(updateSigma: 0, dimension: 3) - 2.0 / 3) < 1e-3)
        #expect(abs(DeformableStage.volumePenaltyLimit(updateSigma: 0, dimension: 2) - 1) < 1e-3)
        #expect(DeformableStage.volumePenaltyLimit(updateSigma: 3, dimension: 3) > 20)
        let grid = DeformablePhantomTests.grid
        let image = DeformableCases.blob(on: grid, center: DeformablePhantomTests.center, axes: SIMD3(9, 9, 9))
        let unstable = DeformableStage(metric: .meanSquares, updateSigma: 0, totalSigma: 0, volumePenalty: 1)
        #expect(throws: RegError.self) { try SyNRegistration(stage: unstable).run(fixed: image, moving: image) }
        var demons = DeformableStage.demons
        demons.volumePenalty = 0.5
        #expect(throws: RegError.self) { try DemonsRegistration(stage: demons).run(fixed: image, moving: image) }
        // A plan without the penalty's keys (or the per-level steps) reads the penalty as off.
        let plan = RegistrationPlan(linear: [], deformable: .syn(.synLocalCorrelation))
        guard case .map(var top) = plan.document, let k = top.firstIndex(where: { $0.key == "deformable" }),
              case .map(let entries) = top[k].value else { Issue.record("no deformable map"); return }
        let dropped = ["volumePenalty", "volumeTolerance", "step"]
        #expect(entries.filter { dropped.contains($0.key) }.count == 3)
        top[k].value = .map(entries.filter { !dropped.contains($0.key) })
        guard case .syn(let old) = try RegistrationPlan(document: .map(top)).deformable else { Issue.record("not syn"); return }
        var expected = DeformableStage.synLocalCorrelation
        expected.volumePenalty = 0
        expected.volumeTolerance = 0
        expected.steps = nil
        expected.step = 0.25
        #expect(old == expected)
        #expect(old.step(atLevel: 0) == old.step && DeformableStage.synLocalCorrelation.step(atLevel: 0) == 0.4)
    }

    /// Each level takes its own step: the same steps everywhere give `step`'s result bit for bit,
    /// and a shorter step at the second level leaves the first level's curve alone (and so the
    /// second level's start) and changes the rest of the second's; a wrong count or a step ≤ 0
    /// is refused.
    @Test func perLevelStepsDriveTheirOwnLevel() throws {
        let grid = DeformablePhantomTests.grid, center = DeformablePhantomTests.center
        let fixed = DeformableCases.blob(on: grid, center: center, axes: SIMD3(9, 9, 9))
        let moving = DeformableCases.blob(on: grid, center: center + SIMD3(1, -1, 0.5), axes: SIMD3(12, 8, 7))
        let levels = [Level(shrink: 2, sigma: .voxels(1), iterations: 15), Level(shrink: 1, sigma: .voxels(0), iterations: 8)]
        let uniform = DeformableStage(metric: .meanSquares, levels: levels, step: 0.3, updateSigma: 2, totalSigma: 0.5,
                                      volumePenalty: 1, volumeTolerance: 0.1)
        var same = uniform, shorter = uniform
        same.steps = [0.3, 0.3]
        shorter.steps = [0.3, 0.1]
        let a = try SyNRegistration(stage: uniform).run(fixed: fixed, moving: moving)
        let b = try SyNRegistration(stage: same).run(fixed: fixed, moving: moving)
        let c = try SyNRegistration(stage: shorter).run(fixed: fixed, moving: moving)
        #expect(a.forward.field.vectors == b.forward.field.vectors && a.inverse.field.vectors == b.inverse.field.vectors)
        #expect(c.levels[0].curve == a.levels[0].curve)
        #expect(c.levels[1].curve.first == a.levels[1].curve.first && c.levels[1].curve != a.levels[1].curve)
        var miscounted = uniform, zero = uniform
        miscounted.steps = [0.3]
        zero.steps = [0.3, 0]
        for stage in [miscounted, zero] {
            #expect(throws: RegError.self) { try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving) }
            #expect(throws: RegError.self) { try DemonsRegistration(stage: stage).run(fixed: fixed, moving: moving) }
        }
    }
}

/// Real brains (2-D slices of the lapirn pair, and known warps of a real subject).
@Suite(.enabled(if: SharedData.isAvailable, Comment(rawValue: SharedData.skipMessage)))
struct DeformableRealDataTests {
    @Test func synImprovesTissueDiceOnRealSlicesBothWays() throws {
        let (a, segA) = try DeformableCases.lapirnSlice("A"), (b, segB) = try DeformableCases.lapirnSlice("B")
        for (fixed, fixedSeg, moving, movingSeg) in [(b, segB, a, segA), (a, segA, b, segB)] {
            let stage = DeformableStage(metric: .localCorrelation(radius: 2), levels: DeformableCases.small2DLevels)
            let result = try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving)
            let mapping = PointMapping(displacement: result.forward.field)
            let warped = try Resampler.resample(movingSeg, onto: fixed.geometry, mapping: mapping, interpolation: .label)
            let before = DeformableCases.labelDice(fixedSeg, movingSeg, labels: [1, 2]).reduce(0, +) / 2
            let after = DeformableCases.labelDice(fixedSeg, warped, labels: [1, 2]).reduce(0, +) / 2
            #expect(after > before + 0.12, "Dice \(before) → \(after)")
            let brain = try Image<UInt8>(geometry: fixed.geometry, voxels: fixedSeg.voxels.map { $0 > 0 ? 1 : 0 })
            let j = JacobianStatistics(determinant: result.forward.jacobianDeterminant, mask: brain)
            #expect(j.folded == 0)
            #expect(DeformableCases.meanResidual(result.forward, after: result.inverse, where: { brain.voxels[$0] != 0 }) < 0.1)
        }
    }

    @Test func knownSmoothWarpOfARealSliceIsRecovered() throws {
        let (fixed, seg) = try DeformableCases.lapirnSlice("A")
        let g = fixed.geometry
        // A smooth diffeomorphism: exp of a smooth random velocity, up to about 6 mm.
        var velocity = VectorField(geometry: g)
        let coefficients = Phantoms.randomValues(count: 12, seed: 21, range: -1...1)
        for y in 0..<g.size.y { for x in 0..<g.size.x {
            let p = SIMD2(Double(x) / Double(g.size.x), Double(y) / Double(g.size.y)) * 2 * .pi
            let vx = 4 * (coefficients[0] * sin(p.x + coefficients[1]) + coefficients[2] * cos(p.y + coefficients[3]))
            let vy = 4 * (coefficients[4] * sin(p.y + coefficients[5]) + coefficients[6] * cos(p.x + coefficients[7]))
            velocity[x, y, 0] = SIMD3(Float(vx), Float(vy), 0)
        } }
        let truth = VelocityField(velocity).exponential()
        // moving(truth(x)) = fixed(x): moving = fixed ∘ truth⁻¹.
        let truthInverse = VelocityField(velocity).negated.exponential()
        let moving = try Resampler.resample(fixed, onto: g, mapping: PointMapping(displacement: truthInverse.field), interpolation: .bspline)
        let stage = DeformableStage(metric: .localCorrelation(radius: 2), levels: DeformableCases.small2DLevels)
        let result = try SyNRegistration(stage: stage).run(fixed: fixed, moving: moving)
        var error = 0.0, largest = 0.0, n = 0
        for i in 0..<g.voxelCount where seg.voxels[i] > 0 {
            let d = (0..<2).map { c in Double(result.forward.field.vectors[3 * i + c] - truth.field.vectors[3 * i + c]) }
            error += (d[0] * d[0] + d[1] * d[1]).squareRoot(); n += 1
            largest = max(largest, Double(simd_length(truth.field[i % g.size.x, i / g.size.x, 0])))
        }
        #expect(largest > 4, "the known warp moves the brain by up to \(largest) mm")
        #expect(error / Double(n) < 1.0, "mean endpoint error \(error / Double(n)) mm")
        let warpedSeg = try Resampler.resample(seg, onto: g, mapping: PointMapping(displacement: truthInverse.field), interpolation: .label)
        let recovered = try Resampler.resample(warpedSeg, onto: g, mapping: PointMapping(displacement: result.forward.field), interpolation: .label)
        #expect(DeformableCases.labelDice(seg, recovered, labels: [1, 2]).allSatisfy { $0 > 0.9 })
    }
}

func simd_length(_ v: SIMD3<Float>) -> Float { (v * v).sum().squareRoot() }
