import Foundation
import RegCore

/// How the labels of several atlases on one target grid become one segmentation.
///
/// ```swift
/// let fusion = LabelFusion(method: FusionMethod(rawValue: "staple")!)
/// ```
public enum FusionMethod: String, Sendable, Codable, CaseIterable {
    /// Each atlas votes for its label; the most votes win (ties: the smaller label).
    case majority
    /// Locally weighted voting (Artaechevarria et al. 2009): each atlas's vote weighs
    /// 1 / (local mean squared intensity difference)^gain, the local mean taken with a Gaussian.
    case weighted
    /// Joint label fusion (Wang & Yushkevich 2013), as `antsJointFusion`: weights that account
    /// for atlases making the same errors, from patch differences, with a patch search.
    case jlf
    /// STAPLE (Warfield et al. 2004): each atlas's confusion matrix estimated by EM from the
    /// label maps alone.
    case staple
}

/// Label fusion: one segmentation of a target from atlases warped onto its grid, with the
/// fused probability of every label.
///
/// Fusion runs inside a mask (by default the atlases' foreground grown by the search and patch
/// radii) over slabs of the grid in parallel; the result is the same for any thread count.
///
/// ```swift
/// let stack = try AtlasStack(labels: warpedLabels, images: warpedImages)
/// let fused = try LabelFusion(method: .jlf).fuse(stack, target: subject)
/// try ImageFile.write(fused.labels, to: "subject_labels.nii.gz")
/// ```
public struct LabelFusion: Sendable {
    public var method: FusionMethod
    /// JLF: patch radius (voxels) of the patches compared; 2 as `antsJointFusion`.
    public var patchRadius = 2
    /// JLF: how far (voxels) each atlas patch may move to its best match; 3 as `antsJointFusion`.
    public var searchRadius = 3
    /// JLF: added to the diagonal of the error-correlation matrix (`antsJointFusion -a`).
    public var alpha = 0.1
    /// JLF: the power of the mean patch-difference products (`antsJointFusion -b`).
    public var beta = 2.0
    /// JLF: weights solved under w ≥ 0 (Lawson–Hanson non-negative least squares) instead of
    /// solving and setting negative weights to zero.
    public var nonNegative = false
    /// Weighted voting: Gaussian sigma (mm) of the local similarity.
    public var localSigma = 2.0
    /// Weighted voting: the power of the inverse local mean squared difference.
    public var gain = 1.0
    /// STAPLE: at most this many EM iterations…
    public var stapleIterations = 50
    /// …stopping when no confusion-matrix entry changes by more than this.
    public var stapleTolerance = 1e-5

    public init(method: FusionMethod = .jlf) { self.method = method }

    /// Whether the method compares intensities (needs the target and the atlases' images).
    public var needsIntensities: Bool { method == .weighted || method == .jlf }

    /// Checks the settings, naming the one out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ reason: String) throws {
            if !ok { throw RegError.invalidArgument(name: name, reason: reason) }
        }
        try check((0...10).contains(patchRadius), "patch radius", "must be 0…10 voxels, found \(patchRadius)")
        try check((0...10).contains(searchRadius), "search radius", "must be 0…10 voxels, found \(searchRadius)")
        try check(alpha.isFinite && alpha > 0, "alpha", "must be > 0, found \(alpha)")
        try check(beta.isFinite && beta > 0 && beta <= 10, "beta", "must be in (0, 10], found \(beta)")
        try check(localSigma.isFinite && localSigma > 0 && localSigma <= 100, "local sigma", "must be in (0, 100] mm, found \(localSigma)")
        try check(gain.isFinite && gain > 0 && gain <= 10, "gain", "must be in (0, 10], found \(gain)")
        try check(stapleIterations >= 1 && stapleIterations <= 10_000, "STAPLE iterations", "must be 1…10000, found \(stapleIterations)")
        try check(stapleTolerance.isFinite && stapleTolerance > 0, "STAPLE tolerance", "must be > 0, found \(stapleTolerance)")
    }

    /// Fuses `stack` inside `mask` (nil: `stack.foreground(dilatedBy: searchRadius + patchRadius)`).
    /// `target` (the image the atlases were registered to) is needed by `weighted` and `jlf`,
    /// which also need the stack's images.
    /// - Throws: `RegError.invalidArgument` or `.geometryMismatch` for missing or mismatched inputs.
    public func fuse(_ stack: AtlasStack, target: Image<Float>? = nil, mask given: Image<UInt8>? = nil) throws -> FusedLabels {
        try validate()
        let grid = stack.geometry
        guard stack.count > 0 else { throw RegError.invalidArgument(name: "atlases", reason: "fusion needs at least one atlas") }
        if let given, !given.geometry.sameGrid(as: grid) {
            throw RegError.geometryMismatch("the fusion mask is on another grid than the atlases (\(AtlasStack.describe(given.geometry)) against \(AtlasStack.describe(grid)))")
        }
        let mask = given ?? stack.foreground(dilatedBy: searchRadius + patchRadius)
        // Sparse probabilities are indexed by 32-bit offsets: at most one per atlas and voxel.
        guard grid.voxelCount * min(stack.count, stack.labelValues.count) < Int(Int32.max) else {
            throw RegError.invalidArgument(name: "atlases", reason: "\(stack.count) atlases on \(grid.voxelCount) voxels are more than one fusion holds; fuse a smaller region or fewer atlases")
        }
        if needsIntensities {
            guard let target else {
                throw RegError.invalidArgument(name: "target", reason: "\(method.rawValue) fusion compares intensities: give the target image")
            }
            guard target.components == 1, target.geometry.sameGrid(as: grid) else {
                throw RegError.geometryMismatch("the target is not on the atlases' grid (\(AtlasStack.describe(target.geometry)) against \(AtlasStack.describe(grid)))")
            }
            guard stack.hasImages else {
                throw RegError.invalidArgument(name: "atlases", reason: "\(method.rawValue) fusion compares intensities: give each atlas's warped image")
            }
        }
        switch method {
        case .majority:
            return FusedLabels.gather(stack: stack, mask: mask) { slab, out in Voting.majority(stack, slab: slab, mask: mask, into: &out) }
        case .weighted:
            let weighting = Voting.LocalWeights(target: target!.voxels, atlases: stack.images, mask: mask, sigma: localSigma, gain: gain)
            return FusedLabels.gather(stack: stack, mask: mask) { slab, out in weighting.vote(stack, slab: slab, into: &out) }
        case .jlf:
            return JointFusion(settings: self, target: target!.voxels, stack: stack, mask: mask).fuse()
        case .staple:
            return try STAPLE(stack: stack, mask: mask, iterations: stapleIterations, tolerance: stapleTolerance).fuse()
        }
    }
}

/// The result of a fusion: the label map, the winning label's probability, and every label's
/// probability (held sparsely: only the labels a voxel received votes for).
public struct FusedLabels: Sendable {
    /// The label values, ascending, that `posterior(ofLabelAt:)` indexes.
    public let labelValues: [Int32]
    /// The fused label of each voxel (0 outside the mask).
    public var labels: Image<Int32>
    /// The fused probability of each voxel's label (0 outside the mask).
    public var confidence: Image<Float>
    /// The voxels fused.
    public let mask: Image<UInt8>
    /// Voxel v's probabilities are entries `entryStart[v]..<entryStart[v + 1]`.
    let entryStart: [Int32]
    let entryLabel: [UInt16]
    let entryProbability: [Float]
    /// STAPLE only: each atlas's estimated confusion matrix.
    public var raters: [RaterPerformance]?

    /// The probability of label `labelValues[k]` at every voxel.
    ///
    /// ```swift
    /// let hippocampus = fused.posterior(ofLabelAt: fused.labelValues.firstIndex(of: 17)!)
    /// ```
    public func posterior(ofLabelAt k: Int) -> Image<Float> {
        var out = Image<Float>(geometry: labels.geometry)
        out.voxels.withUnsafeMutableBufferPointer { posterior(ofLabelAt: k, into: $0.baseAddress!) }
        return out
    }

    /// The same into a buffer of one value per voxel (zeroed first).
    public func posterior(ofLabelAt k: Int, into buffer: UnsafeMutablePointer<Float>) {
        let n = labels.geometry.voxelCount, label = UInt16(k)
        let out = UnsafeSendable(buffer)
        entryStart.withUnsafeBufferPointer { starts in
            entryLabel.withUnsafeBufferPointer { ls in
                entryProbability.withUnsafeBufferPointer { ps in
                    let s = UnsafeSendable(starts), l = UnsafeSendable(ls), p = UnsafeSendable(ps)
                    parallelFor(count: n, chunkSize: 1 << 16) { range in
                        for v in range {
                            var value: Float = 0
                            for e in Int(s.value[v])..<Int(s.value[v + 1]) where l.value[e] == label { value = p.value[e] }
                            out.value[v] = value
                        }
                    }
                }
            }
        }
    }

    /// Gathers a fusion done slab by slab: `fuseSlab` fills one `SlabVotes` per slab of z
    /// (slabs in parallel, joined in order, so the result does not depend on the thread count).
    static func gather(stack: AtlasStack, mask: Image<UInt8>, slabDepth: Int = 4,
                       _ fuseSlab: (Range<Int>, inout SlabVotes) -> Void) -> FusedLabels {
        let g = stack.geometry
        let slabs = (g.size.z + slabDepth - 1) / slabDepth
        var parts = [SlabVotes?](repeating: nil, count: slabs)
        parts.withUnsafeMutableBufferPointer { p in
            let out = UnsafeSendable(p.baseAddress!)
            parallelFor(count: slabs) { range in
                for s in range {
                    let z = (s * slabDepth)..<min(g.size.z, (s + 1) * slabDepth)
                    var votes = SlabVotes(geometry: g, slab: z)
                    fuseSlab(z, &votes)
                    votes.closeGaps()
                    out.value[s] = votes
                }
            }
        }
        return FusedLabels(stack: stack, mask: mask, slabs: parts.map { $0! })
    }

    init(stack: AtlasStack, mask: Image<UInt8>, slabs: [SlabVotes], raters: [RaterPerformance]? = nil) {
        let g = stack.geometry
        labelValues = stack.labelValues
        self.mask = mask
        var labels = Image<Int32>(geometry: g), confidence = Image<Float>(geometry: g)
        var starts = [Int32](repeating: 0, count: g.voxelCount + 1)
        var entryLabel: [UInt16] = [], entryProbability: [Float] = []
        entryLabel.reserveCapacity(slabs.reduce(0) { $0 + $1.entryLabel.count })
        entryProbability.reserveCapacity(entryLabel.capacity)
        for slab in slabs {
            let first = slab.firstVoxel
            for i in 0..<slab.label.count {
                labels.voxels[first + i] = slab.label[i] < 0 ? 0 : stack.labelValues[Int(slab.label[i])]
                confidence.voxels[first + i] = slab.confidence[i]
            }
            let base = Int32(entryLabel.count)
            for i in 0..<slab.label.count { starts[first + i + 1] = base + slab.entryEnd[i] }
            entryLabel += slab.entryLabel
            entryProbability += slab.entryProbability
        }
        self.labels = labels
        self.confidence = confidence
        entryStart = starts
        self.entryLabel = entryLabel
        self.entryProbability = entryProbability
        self.raters = raters
    }
}

/// One atlas's performance as STAPLE estimates it: `confusion[truth][said]`, the probability
/// that the atlas says label index `said` where the truth is label index `truth`.
///
/// ```swift
/// let fused = try LabelFusion(method: .staple).fuse(stack)
/// let k = fused.labelValues.firstIndex(of: 17)!
/// print(fused.raters!.map { $0.sensitivity(ofLabelAt: k) })   // each atlas's hippocampus sensitivity
/// ```
public struct RaterPerformance: Sendable, Equatable {
    public var confusion: [[Double]]

    /// P(says k | truth k): the sensitivity for label index k.
    public func sensitivity(ofLabelAt k: Int) -> Double { confusion[k][k] }
}

/// The fused votes of one slab of z: per voxel the winning label index (−1 outside the mask),
/// its probability, and the sparse probabilities.
struct SlabVotes {
    let firstVoxel: Int
    var label: [Int32]
    var confidence: [Float]
    /// Per voxel: the end (exclusive) of its entries in this slab's arrays.
    var entryEnd: [Int32]
    var entryLabel: [UInt16] = []
    var entryProbability: [Float] = []

    init(geometry g: Geometry, slab: Range<Int>) {
        firstVoxel = slab.lowerBound * g.size.x * g.size.y
        let n = slab.count * g.size.x * g.size.y
        label = [Int32](repeating: -1, count: n)
        confidence = [Float](repeating: 0, count: n)
        entryEnd = [Int32](repeating: 0, count: n)
    }

    /// Records voxel `i`'s (slab-relative) votes, normalised to sum 1; voxels must come in order.
    /// The winner is the largest probability, the smaller label index on a tie.
    mutating func record(_ i: Int, votes: VoteTally) {
        var best = -1, bestWeight = -Double.infinity
        if votes.total > 0 {
            for k in 0..<votes.count {
                let w = votes.weight(k) / votes.total
                entryLabel.append(votes.label(k))
                entryProbability.append(Float(w))
                if w > bestWeight || (w == bestWeight && Int(votes.label(k)) < best) { best = Int(votes.label(k)); bestWeight = w }
            }
        }
        label[i] = Int32(best)
        confidence[i] = best < 0 ? 0 : Float(bestWeight)
        entryEnd[i] = Int32(entryLabel.count)
    }

    /// Fills the entry ends of voxels without votes (outside the mask) from their predecessors.
    mutating func closeGaps() {
        var last: Int32 = 0
        for i in 0..<entryEnd.count {
            if entryEnd[i] < last { entryEnd[i] = last }
            last = entryEnd[i]
        }
    }
}

/// A voxel's votes: the summed weight of each label index voted for, in a dense table over all
/// labels (one add is one store) with the list of the labels touched (so a reset costs only them).
/// Both live in buffers of their own, allocated once per tally, so an add makes no copy-on-write
/// or bounds check: fusion adds about a thousand votes per voxel. Copies share the buffers, so
/// each thread makes its own tally.
struct VoteTally {
    private final class Storage {
        let table: UnsafeMutablePointer<Double>
        let touched: UnsafeMutablePointer<UInt16>

        init(labelCount: Int) {
            table = .allocate(capacity: labelCount)
            table.initialize(repeating: 0, count: labelCount)
            touched = .allocate(capacity: labelCount)
        }

        deinit {
            table.deallocate()
            touched.deallocate()
        }
    }

    private let storage: Storage
    private let table: UnsafeMutablePointer<Double>
    private let touched: UnsafeMutablePointer<UInt16>
    /// Labels touched since the last reset.
    private(set) var count = 0
    private(set) var total = 0.0

    init(labelCount: Int) {
        storage = Storage(labelCount: max(1, labelCount))
        table = storage.table
        touched = storage.touched
    }

    /// The k-th label touched.
    func label(_ k: Int) -> UInt16 { touched[k] }

    /// The weight of the k-th label touched.
    func weight(_ k: Int) -> Double { table[Int(touched[k])] }

    mutating func reset() {
        for k in 0..<count { table[Int(touched[k])] = 0 }
        count = 0
        total = 0
    }

    @inline(__always) mutating func add(_ label: UInt16, _ weight: Double) {
        guard weight != 0 else { return }
        total += weight
        let k = Int(label)
        if table[k] == 0 && !isTouched(label) {
            touched[count] = label
            count += 1
        }
        table[k] += weight
    }

    /// Whether `label` was touched (its weight may have summed to 0).
    private func isTouched(_ label: UInt16) -> Bool {
        for k in 0..<count where touched[k] == label { return true }
        return false
    }
}
