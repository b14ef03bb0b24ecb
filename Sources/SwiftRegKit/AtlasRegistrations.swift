import Foundation
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegSegment
import RegTransforms

/// The registrations of a segmentation run: every atlas to the one target, a few at once when
/// cores and memory allow, each atlas read when its turn comes.
struct AtlasRegistrations: Sendable {
    let request: SegmentationRequest
    let target: Image<Float>
    let prefix: String
    let progress: (@Sendable (String) -> Void)?

    /// An atlas on the target's grid.
    struct Warped: Sendable {
        var labels: Image<Int32>
        var image: Image<Float>
        var reused: Bool
        var seconds: Double?
        var correlation: Double
    }

    /// Registrations at once: as asked, else one per 4 threads, as far as about 150 bytes per
    /// target voxel each fit in half the available memory.
    var workers: Int {
        if let n = request.concurrentRegistrations { return max(1, n) }
        let byMemory = SystemMemory.runsThatFit(bytesEach: 150 * Double(target.geometry.voxelCount))
        return max(1, min(Parallelism.threadCount / 4, byMemory))
    }

    /// The linear stages for every atlas; each one's similarity to the target over its head mask.
    func rank() throws -> (scores: [Double], linear: [Int: LinearRegistrationResult]) {
        var affineOnly = request.plan
        affineOnly.deformable = nil
        let linearPlan = affineOnly, head = Self.headMask(target)
        let n = request.atlases.count
        let results = try eachAtlas(Array(0..<n)) { i -> (Double, LinearRegistrationResult?) in
            let moving = try RegistrationInputs.scalarImage(request.atlases[i].image)
            let result = try Registration(linearPlan).run(fixed: target, moving: moving)
            let score = request.selectionMetric == .ncc ? Self.correlation(target, result.warped, inside: head)
                : Self.normalizedMutualInformation(target, result.warped, inside: head)
            progress?(String(format: "atlas %d/%d %@: %@ after the linear stages %.4f", i + 1, n, request.atlases[i].image,
                             request.selectionMetric.rawValue, score))
            return (score, result.linear)
        }
        var linear: [Int: LinearRegistrationResult] = [:]
        for (i, r) in results.enumerated() { linear[i] = r.1 }
        return (results.map(\.0), linear)
    }

    /// Each chosen atlas registered (or its kept registration read) and warped onto the target.
    func warp(_ chosen: [Int], linear: [Int: LinearRegistrationResult]) throws -> [Warped] {
        let grid = target.geometry, n = request.atlases.count
        return try eachAtlas(chosen) { i in
            let atlas = request.atlases[i]
            var plan = request.plan
            plan.inputs = PlanInputs(fixed: request.target, moving: atlas.image)
            let kept = AtlasSegmentation.keptPrefix(prefix, i)
            let labels = try ImageFile.read(atlas.labels).image
            if request.keepWarps, let chain = try keptChain(kept, plan: plan) {
                let moving = try RegistrationInputs.scalarImage(atlas.image)
                let mapping = chain.chain.mapping(onto: grid)
                let image = try Resampler.resample(moving, onto: grid, mapping: mapping, interpolation: .linear)
                let warpedLabels = try labels.resampled(onto: grid, mapping: mapping, interpolation: .label).labelImage()
                progress?("atlas \(i + 1)/\(n) \(atlas.image): registration read from \(kept)_*")
                return Warped(labels: warpedLabels, image: image, reused: true, seconds: nil, correlation: chain.correlation)
            }
            let moving = try RegistrationInputs.scalarImage(atlas.image)
            let result = try Registration(plan).run(fixed: target, moving: moving, linear: linear[i])
            if request.keepWarps {
                try RegistrationOutputs.write(result, prefix: kept, inputs: [request.target, atlas.image, atlas.labels])
            }
            let warpedLabels = try labels.resampled(onto: grid, mapping: result.chain.mapping(onto: grid), interpolation: .label).labelImage()
            progress?(String(format: "atlas %d/%d %@: registered in %.1f s, correlation %.3f → %.3f", i + 1, n, atlas.image,
                             result.seconds, result.summary.correlationBefore, result.summary.correlationAfter))
            return Warped(labels: warpedLabels, image: result.warped, reused: false, seconds: result.seconds,
                          correlation: result.summary.correlationAfter)
        }
    }

    /// The transforms a run with `--keep-warps` left under `kept`, when they are from the same
    /// plan and inputs and every file is still the one it wrote. The plans are compared as plan
    /// files, which is what the summary keeps (one plan can be held in more than one way).
    func keptChain(_ kept: String, plan: RegistrationPlan) throws -> (chain: TransformChain, correlation: Double)? {
        let paths = RegistrationOutputs.paths(prefix: kept, deformable: plan.deformable != nil)
        guard let data = FileManager.default.contents(atPath: kept + "_summary.json"),
              let summary = try? JSONDecoder().decode(RegistrationSummary.self, from: data),
              summary.plan.document == plan.document, let run = summary.run,
              paths.filter({ !$0.hasSuffix("_summary.json") }).allSatisfy(run.lists) else { return nil }
        let files = plan.deformable != nil ? [kept + "_warp.nii.gz", kept + "_affine.txt"] : [kept + "_affine.txt"]
        return (try TransformFiles.chain(files), summary.correlationAfter)
    }

    /// `body` for every index, `workers` at a time, results in the order of `indices`.
    func eachAtlas<T: Sendable>(_ indices: [Int], _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        try concurrentMap(count: indices.count, workers: workers) { k in try body(indices[k]) }
    }

    /// Voxels above a tenth of the target's 99th percentile (`ContentRegion`): the head.
    static func headMask(_ image: Image<Float>) -> [Bool] {
        let threshold = ContentRegion.threshold(image) ?? 0
        return image.voxels.map { $0 > threshold }
    }

    static func correlation(_ a: Image<Float>, _ b: Image<Float>, inside mask: [Bool]) -> Double {
        var n = 0.0, sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
        for i in mask.indices where mask[i] {
            let x = Double(a.voxels[i]), y = Double(b.voxels[i])
            n += 1; sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y
        }
        let cov = sab - sa * sb / max(n, 1), va = saa - sa * sa / max(n, 1), vb = sbb - sb * sb / max(n, 1)
        return va > 0 && vb > 0 ? cov / (va * vb).squareRoot() : 0
    }

    /// (H(A) + H(B)) / H(A, B) over the mask, 32 bins spanning each image's range there.
    static func normalizedMutualInformation(_ a: Image<Float>, _ b: Image<Float>, inside mask: [Bool]) -> Double {
        let bins = 32
        func range(_ v: VoxelBuffer<Float>) -> (Float, Float) {
            var lo = Float.infinity, hi = -Float.infinity
            for i in mask.indices where mask[i] && v[i].isFinite { lo = min(lo, v[i]); hi = max(hi, v[i]) }
            return lo < hi ? (lo, hi) : (lo, lo + 1)
        }
        let (alo, ahi) = range(a.voxels), (blo, bhi) = range(b.voxels)
        var joint = [Double](repeating: 0, count: bins * bins), n = 0.0
        for i in mask.indices where mask[i] && a.voxels[i].isFinite && b.voxels[i].isFinite {
            let x = min(bins - 1, Int(Float(bins) * (a.voxels[i] - alo) / (ahi - alo)))
            let y = min(bins - 1, Int(Float(bins) * (b.voxels[i] - blo) / (bhi - blo)))
            joint[x * bins + y] += 1; n += 1
        }
        guard n > 0 else { return 0 }
        func entropy(_ p: [Double]) -> Double { -p.reduce(0) { $0 + ($1 > 0 ? $1 / n * log($1 / n) : 0) } }
        let pa = (0..<bins).map { x in (0..<bins).reduce(0) { $0 + joint[x * bins + $1] } }
        let pb = (0..<bins).map { y in (0..<bins).reduce(0) { $0 + joint[$1 * bins + y] } }
        let h = entropy(joint)
        return h > 0 ? (entropy(pa) + entropy(pb)) / h : 0
    }
}
