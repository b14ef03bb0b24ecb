import ArgumentParser
import Foundation
import RegAnalysis
import RegCore
import RegSynth
import SwiftRegKit
import RegIO
import RegKernels
import RegLearn
import RegMethods
import RegMetrics

struct BenchCommand: ParsableCommand, WritesAsItGoes {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the core kernels and a linear registration on a volume (default 160×192×224 floats).",
        discussion: """
        Reports the median and best of --repeats runs for: trilinear warp by a dense displacement \
        field, Gaussian smoothing (σ = 2 voxels), B-spline resampling, gradient, shrinking, SyN's field \
        passes (Gaussian σ = 3 and σ = 0.25 voxels of a vector field, the smoothed log-Jacobian, \
        composition, composition with its smoothing fused, composition with the syn preset's \
        penalty step, Newton inverse), an affine registration (rigid → affine, MI, 3 levels) to a \
        rotated copy, `evaluate` of two 256³ label maps \
        with 50 labels (overlap, HD95, ASSD), reading a .nii.gz float \
        volume, and the networks: a VM-1 training step on a 160×192 plane (forward, backward, Adam), \
        VM-1 inference on the volume and its widest layer alone, with the GFLOP/s of their convolutions. --input uses a real image instead of a synthetic phantom; --only NAME runs the \
        kernels whose name contains NAME.
        Example: swiftreg bench --threads 2 --only warp --input ../shared/data/brain/clapirn/image_A_fullsize.nii.gz
        """)

    @OptionGroup var common: CommonOptions
    @Option(help: "Volume size as XxYxZ.") var size = "160x192x224"
    @Option(help: "Runs per kernel.") var repeats = 10
    @Option(help: "A real float image to use instead of the phantom.") var input: String?
    @Option(help: "Run only the kernels whose name contains this text (e.g. warp, gaussian).") var only: String?
    @Option(help: "Also write the timings (kernel, median and best ms) as JSON here.") var json: String?

    /// One kernel's timings, for --json.
    struct Timing: Encodable {
        var kernel: String, medianMs: Double, bestMs: Double
        /// Convolution work per run, for the network kernels.
        var gflops: Double?
    }
    /// What --json writes.
    struct Timings: Encodable {
        var threads: Int, size: [Int], kernels: [Timing] = []
    }

    func run() throws {
        try common.apply()
        let image: Image<Float>
        if let input {
            image = try ImageFile.read(input).image.floatImage()
        } else {
            let dims = size.split(separator: "x").compactMap { Int($0) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else { throw ValidationError("--size takes XxYxZ, found '\(size)'") }
            image = try BenchmarkPhantoms.head(SIMD3(dims[0], dims[1], dims[2]))
        }
        let g = image.geometry
        var timings = Timings(threads: Parallelism.threadCount, size: [g.size.x, g.size.y, g.size.z])
        func measure(_ name: String, flops: Double? = nil, _ body: () throws -> Void) throws {
            guard wanted(name) else { return }
            let ms = try time(body)
            report(name, ms)
            if let flops {
                print("    " + String(format: "%.1f GFLOP of convolutions: %.1f GFLOP/s at the median", flops / 1e9, flops / ms[ms.count / 2] / 1e6))
            }
            timings.kernels.append(Timing(kernel: name, medianMs: ms[ms.count / 2], bestMs: ms[0], gflops: flops.map { $0 / 1e9 }))
        }
        print("volume \(g.size.x)×\(g.size.y)×\(g.size.z), \(Parallelism.threadCount) thread(s), \(repeats) runs each")
        // A smooth field of up to ±2 mm, like a registration's.
        var field = VectorField(geometry: g)
        for z in 0..<g.size.z { for y in 0..<g.size.y { for x in 0..<g.size.x {
            let (fx, fy, fz) = (Double(x) * 0.07, Double(y) * 0.05, Double(z) * 0.06)
            field[x, y, z] = SIMD3(Float(2 * sin(fy + fz)), Float(2 * cos(fx + fz)), Float(2 * sin(fx - fy)))
        } } }
        try measure("warp, trilinear, dense field") { _ = try Resampler.warp(image, by: field) }
        try measure("gaussian σ=2 vox") { _ = GaussianSmoothing.smooth(image, sigma: .voxels(2)) }
        try measure("warp, cubic B-spline (with prefilter)") { _ = try Resampler.warp(image, by: field, interpolation: .bspline) }
        try measure("gradient (central differences)") { _ = ImageGradient.gradient(of: image) }
        try measure("shrink ×2") { _ = try Shrink.shrink(image, factors: SIMD3(2, 2, 2)) }
        // SyN's per-iteration field passes at full resolution.
        try measure("field: gaussian σ=3 vox (3 components)") { _ = GaussianSmoothing.smooth(field, sigma: .voxels(3)) }
        try measure("field: gaussian σ=0.25 vox (3 components)") { _ = GaussianSmoothing.smooth(field, sigma: .voxels(0.25)) }
        try measure("field: smoothed log-Jacobian σ=3 vox") { _ = FieldKernels.smoothedLogJacobian(of: field, tolerance: 0.15, sigma: .voxels(3)) }
        try measure("field: compose") { _ = FieldKernels.compose(field, after: field, scale: 0.5) }
        // SyN's update: the composition and its total smoothing (σ = 0.25 voxels) in one pass.
        try measure("field: compose, smoothed σ=0.25 vox") { _ = FieldKernels.compose(field, after: field, scale: 0.5, smoothing: .voxels(0.25)) }
        // The syn preset's step: the update and the volume penalty's step composed into the field.
        let logJ = FieldKernels.smoothedLogJacobian(of: field, tolerance: 0.15, sigma: .voxels(3))
        try measure("field: compose with penalty step") {
            _ = FieldKernels.compose(field, after: field, scale: 0.5, plusVoxelGradientOf: logJ, weight: 2.5)
        }
        try measure("field: inverse") { _ = FieldKernels.inverse(of: field) }
        if wanted("metric") {
            // The similarity terms of deformable registration: value and voxel-wise derivatives
            // of the image against its warped copy.
            let warped = try Resampler.warp(image, by: field)
            try measure("metric: local NCC r=2 with gradient") {
                _ = Metric.localCorrelation(radius: 2).evaluate(fixed: image, moving: warped, mask: nil)
            }
            try measure("metric: MI 32 bins with gradient") {
                _ = Metric.mutualInformation(bins: 32).evaluate(fixed: image, moving: warped, mask: nil)
            }
        }
        if wanted("registration") {
            // Rigid then affine, Mattes MI, 3 levels, to a copy rotated 6° and shifted 4 mm.
            let c = g.physicalPoint(ofIndex: (SIMD3<Double>(g.size) - 1) * 0.5)
            let turn = AffineMap(matrix: .rotation(axis: 2, angle: 0.1), translation: SIMD3(4, -3, 2), center: c)
            let moving = try Resampler.resample(image, onto: g, mapping: PointMapping(turn),
                                                interpolation: .linear)
            let reg = LinearRegistration(stages: RegistrationPlan.preset("affine")!.linear)
            try measure("registration, affine MI 3 levels") { _ = try reg.run(fixed: image, moving: moving) }
        }
        let evaluateName = "evaluate 256³, 50 labels, HD95 + ASSD"
        if wanted(evaluateName) {
            let (reference, test) = try BenchmarkPhantoms.labelMaps()
            try measure(evaluateName) { _ = try LabelEvaluation(reference: reference, test: test) }
        }
        let readName = ".nii.gz read (float32)"
        if wanted(readName) {
            let path = NSTemporaryDirectory() + "swiftreg-bench-\(getpid()).nii.gz"
            try ImageFile.write(image, to: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            try measure(readName) { _ = try ImageFile.read(path) }
        }
        try benchLearning(volume: g.size) { try measure($0, flops: $1, $2) }
        if let json { try TextFile.write(JSONText.encode(timings), to: json) }
    }

    /// The networks: a VM-1 training step on a 160×192 plane (forward, backward, Adam), VM-1
    /// inference on the volume, and the widest 3-D layer alone, with the GFLOP/s of the convolutions.
    func benchLearning(volume: SIMD3<Int>, measure: (String, Double?, () throws -> Void) throws -> Void) throws {
        let plane = SIMD3(192, 160, 1)
        let step = "learn: VM-1 2-D training step 160×192"
        if wanted(step) {
            var net = try VoxelMorphNetwork(architecture: .vm1(dimension: 2), seed: 1)
            var adam = Adam(learningRate: 1e-4, shapes: net.weights.map(\.shape))
            let shape = TensorShape(channels: 1, height: plane.y, width: plane.x)
            let pair = TrainingPair(fixed: Self.noise(shape, seed: 1), moving: Self.noise(shape, seed: 2))
            // Forward, the gradients of the inputs of every layer but the first, and of the weights: about 3 passes.
            let flops = 3 * net.architecture.convolutionFLOPs(size: plane)
            try measure(step, flops) { _ = net.train(on: pair, objective: TrainingObjective(), optimizer: &adam) }
        }
        let inference = "learn: VM-1 3-D inference \(volume.x)×\(volume.y)×\(volume.z)"
        if wanted(inference) {
            let net = try VoxelMorphNetwork(architecture: .vm1(dimension: 3), seed: 1)
            let shape = TensorShape(channels: 1, depth: volume.z, height: volume.y, width: volume.x)
            let (f, m) = (Self.noise(shape, seed: 1), Self.noise(shape, seed: 2))
            try measure(inference, net.architecture.convolutionFLOPs(size: volume)) {
                let tape = Tape()
                _ = net.forward(on: tape, fixed: tape.constant(f), moving: tape.constant(m))
            }
        }
        let layer = "learn: widest 3-D layer (48→32 channels)"
        if wanted(layer) {
            let shape = TensorShape(channels: 48, depth: volume.z, height: volume.y, width: volume.x)
            let x = Self.noise(shape, seed: 1)
            let w = Self.noise(TensorShape(batch: 32, channels: 48, depth: 3, height: 3, width: 3), seed: 2)
            let b = Tensor(shape: TensorShape(channels: 32, height: 1, width: 1))
            try measure(layer, 2 * 27 * 48 * 32 * Double(shape.spatialCount)) {
                let tape = Tape()
                _ = tape.convolution(tape.constant(x), weight: tape.constant(w), bias: tape.constant(b))
            }
        }
    }

    static func noise(_ shape: TensorShape, seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed)
        return Tensor(shape: shape, values: (0..<shape.count).map { _ in Float(rng.nextUnit()) })
    }

    func time(_ body: () throws -> Void) throws -> [Double] {
        try body()   // warm-up
        var out: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            out.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return out.sorted()
    }

    func wanted(_ name: String) -> Bool {
        only.map { name.localizedCaseInsensitiveContains($0) } ?? true
    }

    func report(_ name: String, _ ms: [Double]) {
        let label = name.padding(toLength: 40, withPad: " ", startingAt: 0)
        print("  " + label + String(format: " median %8.2f ms   best %8.2f ms", ms[ms.count / 2], ms[0]))
    }
}
