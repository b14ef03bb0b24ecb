import Foundation
import RegCore

/// Multi-label STAPLE (Warfield, Zou & Wells 2004) by expectation–maximisation on the mask's
/// voxels: each atlas j has a confusion matrix θⱼ(truth, said); the truth's posterior at a voxel
/// is ∝ f(truth) Πⱼ θⱼ(truth, Dⱼ), f the labels' share of all votes in the mask; θ is
/// re-estimated from the posteriors until no entry changes by more than the tolerance.
/// θ starts from majority voting's label fractions.
///
/// Voxels where every atlas says the same label share one posterior, computed once per label.
/// Where atlases disagree, only the labels some atlas says are candidates (a label no atlas
/// gives at a voxel gets probability 0 there), and probabilities under 10⁻⁶ are not kept.
struct STAPLE {
    let stack: AtlasStack
    let mask: Image<UInt8>
    let iterations: Int
    let tolerance: Double

    /// At most this many confusion-matrix entries (atlases × labels²).
    static let largestModel = 1 << 24

    func fuse() throws -> FusedLabels {
        let labelCount = stack.labelValues.count, atlasCount = stack.count
        guard atlasCount * labelCount * labelCount <= Self.largestModel else {
            throw RegError.invalidArgument(name: "fusion", reason: "STAPLE with \(atlasCount) atlases and \(labelCount) labels needs \(atlasCount * labelCount * labelCount) confusion entries; at most \(Self.largestModel): use jlf or majority")
        }
        // Voxels where all atlases agree, counted per label; the others listed.
        var consensus = [Double](repeating: 0, count: labelCount)
        var disputed: [Int] = []
        var prior = [Double](repeating: 0, count: labelCount)
        for v in 0..<mask.voxels.count where mask.voxels[v] != 0 {
            let first = stack.labels[0][v]
            var agree = true
            for atlas in stack.labels {
                prior[Int(atlas[v])] += 1
                if atlas[v] != first { agree = false }
            }
            if agree { consensus[Int(first)] += 1 } else { disputed.append(v) }
        }
        let total = prior.reduce(0, +)
        if total > 0 { prior = prior.map { $0 / total } }
        let logPrior = prior.map { $0 > 0 ? log($0) : -Double.infinity }

        var model = Model(atlasCount: atlasCount, labelCount: labelCount)
        // Start: θ from majority voting's fractions.
        model.estimate(stack: stack, consensus: consensus, disputed: disputed, logPrior: nil)
        for _ in 0..<iterations {
            let previous = model.theta
            model.estimate(stack: stack, consensus: consensus, disputed: disputed, logPrior: logPrior)
            let change = zip(previous, model.theta).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
            if change <= tolerance { break }
        }
        let logTheta = model.theta.map { log(max($0, 1e-300)) }
        // The agreeing voxels' posterior over every label, once per label said.
        var scratch = Posterior(atlasCount: atlasCount, labelCount: labelCount)
        let agreed: [[(UInt16, Double)]] = (0..<labelCount).map { said in
            guard consensus[said] > 0 else { return [] }
            scratch.compute(said: [UInt16](repeating: UInt16(said), count: atlasCount), allLabels: true, logPrior: logPrior,
                            logTheta: logTheta)
            return (0..<scratch.count).filter { scratch.probabilities[$0] >= 1e-6 }.map { (scratch.labels[$0], scratch.probabilities[$0]) }
        }
        let raters = (0..<atlasCount).map { j in
            RaterPerformance(confusion: (0..<labelCount).map { truth in
                Array(model.theta[(j * labelCount + truth) * labelCount..<(j * labelCount + truth + 1) * labelCount])
            })
        }
        let g = stack.geometry, plane = g.size.x * g.size.y
        var fused = FusedLabels.gather(stack: stack, mask: mask) { slab, out in
            var tally = VoteTally(labelCount: stack.labelValues.count)
            var said = [UInt16](repeating: 0, count: atlasCount)
            var posterior = Posterior(atlasCount: atlasCount, labelCount: labelCount)
            for v in slab.lowerBound * plane..<slab.upperBound * plane where mask.voxels[v] != 0 {
                tally.reset()
                for j in 0..<atlasCount { said[j] = stack.labels[j][v] }
                if said.allSatisfy({ $0 == said[0] }) {
                    for (label, p) in agreed[Int(said[0])] { tally.add(label, p) }
                } else {
                    posterior.compute(said: said, allLabels: false, logPrior: logPrior, logTheta: logTheta)
                    for k in 0..<posterior.count where posterior.probabilities[k] >= 1e-6 {
                        tally.add(posterior.labels[k], posterior.probabilities[k])
                    }
                }
                out.record(v - out.firstVoxel, votes: tally)
            }
        }
        fused.raters = raters
        return fused
    }

    /// The truth's posterior at one voxel, in reusable buffers: over every label, or over the
    /// labels some atlas said (ascending).
    struct Posterior {
        let atlasCount: Int, labelCount: Int
        var labels: [UInt16], probabilities: [Double]
        var count = 0

        init(atlasCount: Int, labelCount: Int) {
            self.atlasCount = atlasCount
            self.labelCount = labelCount
            labels = [UInt16](repeating: 0, count: labelCount)
            probabilities = [Double](repeating: 0, count: labelCount)
        }

        /// With `logPrior` nil: majority voting's fractions (the EM's start).
        mutating func compute(said: [UInt16], allLabels: Bool, logPrior: [Double]?, logTheta: [Double]) {
            count = 0
            if allLabels {
                for k in 0..<labelCount { labels[k] = UInt16(k) }
                count = labelCount
            } else {
                for d in said where !labels[0..<count].contains(d) { labels[count] = d; count += 1 }
                labels[0..<count].sort()
            }
            guard let logPrior else {
                for k in 0..<count {
                    var votes = 0
                    for d in said where d == labels[k] { votes += 1 }
                    probabilities[k] = Double(votes) / Double(said.count)
                }
                return
            }
            var top = -Double.infinity
            for k in 0..<count {
                let truth = Int(labels[k])
                var s = logPrior[truth]
                for (j, d) in said.enumerated() { s += logTheta[(j * labelCount + truth) * labelCount + Int(d)] }
                probabilities[k] = s
                top = max(top, s)
            }
            guard top > -Double.infinity else {
                for k in 0..<count { probabilities[k] = 1 / Double(count) }
                return
            }
            var sum = 0.0
            for k in 0..<count { probabilities[k] = exp(probabilities[k] - top); sum += probabilities[k] }
            for k in 0..<count { probabilities[k] /= sum }
        }
    }

    /// The confusion matrices θ[j][truth][said], flat.
    struct Model {
        let atlasCount: Int, labelCount: Int
        var theta: [Double]

        init(atlasCount: Int, labelCount: Int) {
            self.atlasCount = atlasCount
            self.labelCount = labelCount
            theta = [Double](repeating: 0, count: atlasCount * labelCount * labelCount)
        }

        /// The M-step: θⱼ(truth, said) = Σ_{x: Dⱼ(x) = said} W(x, truth) / Σₓ W(x, truth), with W
        /// the E-step's posterior under the current θ (majority voting's fractions when
        /// `logPrior` is nil). Disputed voxels run in fixed chunks in parallel and add up in
        /// chunk order (the same for any thread count).
        mutating func estimate(stack: AtlasStack, consensus: [Double], disputed: [Int], logPrior: [Double]?) {
            let l = labelCount, j = atlasCount
            let logTheta = theta.map { log(max($0, 1e-300)) }
            var counts = [Double](repeating: 0, count: j * l * l)
            var posterior = Posterior(atlasCount: j, labelCount: l)
            for said in 0..<l where consensus[said] > 0 {
                posterior.compute(said: [UInt16](repeating: UInt16(said), count: j), allLabels: logPrior != nil, logPrior: logPrior,
                                  logTheta: logTheta)
                for k in 0..<posterior.count {
                    let truth = Int(posterior.labels[k]), p = posterior.probabilities[k]
                    for a in 0..<j { counts[(a * l + truth) * l + said] += consensus[said] * p }
                }
            }
            let chunk = max(1, (disputed.count + 15) / 16)
            let partials = parallelReduce(count: disputed.count, chunkSize: chunk, initial: [Double](repeating: 0, count: j * l * l),
                                          combine: { a, b in zip(a, b).map(+) }) { range in
                var part = [Double](repeating: 0, count: j * l * l)
                var said = [UInt16](repeating: 0, count: j)
                var posterior = Posterior(atlasCount: j, labelCount: l)
                for k in range {
                    let v = disputed[k]
                    for a in 0..<j { said[a] = stack.labels[a][v] }
                    posterior.compute(said: said, allLabels: false, logPrior: logPrior, logTheta: logTheta)
                    for c in 0..<posterior.count {
                        let truth = Int(posterior.labels[c]), p = posterior.probabilities[c]
                        for a in 0..<j { part[(a * l + truth) * l + Int(said[a])] += p }
                    }
                }
                return part
            }
            for k in counts.indices { counts[k] += partials[k] }
            for a in 0..<j {
                for truth in 0..<l {
                    let row = (a * l + truth) * l
                    let total = counts[row..<row + l].reduce(0, +)
                    for said in 0..<l { theta[row + said] = total > 0 ? counts[row + said] / total : (said == truth ? 1 : 0) }
                }
            }
        }
    }
}
