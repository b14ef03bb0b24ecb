import RegCore

/// Voxel counts and bounding boxes of every label value in a pair of label images on one grid,
/// gathered in one parallel pass (slabs of z, combined in slab order).
struct LabelCensus: Sendable {
    /// The smallest label value; arrays below are indexed by `value − low`.
    let low: Int
    var reference: [Int]
    var test: [Int]
    var both: [Int]
    /// Per label: the smallest and largest voxel index holding it in either image.
    var boxLow: [SIMD3<Int>]
    var boxHigh: [SIMD3<Int>]

    /// Label values are dense-indexed, so their range is limited (FreeSurfer's largest ids are ~15 000).
    static let largestRange = 1 << 20

    init(reference ref: Image<Int32>, test tst: Image<Int32>) throws {
        let g = ref.geometry
        var lo = Int32.max, hi = Int32.min
        for v in ref.voxels { lo = min(lo, v); hi = max(hi, v) }
        for v in tst.voxels { lo = min(lo, v); hi = max(hi, v) }
        guard Int(hi) - Int(lo) < Self.largestRange else {
            throw RegError.invalidArgument(name: "labels", reason: "label values span \(lo)…\(hi); at most \(Self.largestRange) distinct values are handled")
        }
        let low = Int(lo), span = Int(hi) - low + 1
        let (nx, ny, nz) = (g.size.x, g.size.y, g.size.z)
        let empty = Partial(span: span)
        let total = ref.voxels.withUnsafeBufferPointer { r in
            tst.voxels.withUnsafeBufferPointer { t in
                let rb = UnsafeSendable(r), tb = UnsafeSendable(t)
                return parallelReduce(count: nz, chunkSize: max(1, nz / 16), initial: empty, combine: { $0.merged(with: $1) }) { slabs in
                    var p = Partial(span: span)
                    for z in slabs {
                        for y in 0..<ny {
                            var o = nx &* (y &+ ny &* z)
                            for x in 0..<nx {
                                let a = Int(rb.value[o]) &- low, b = Int(tb.value[o]) &- low
                                p.reference[a] &+= 1
                                p.test[b] &+= 1
                                let at = SIMD3(x, y, z)
                                p.include(a, at)
                                if a == b { p.both[a] &+= 1 } else { p.include(b, at) }
                                o &+= 1
                            }
                        }
                    }
                    return p
                }
            }
        }
        self.low = low
        reference = total.reference
        test = total.test
        both = total.both
        boxLow = total.boxLow
        boxHigh = total.boxHigh
    }

    /// Label values present in either image.
    var present: [Int] {
        (0..<reference.count).filter { reference[$0] > 0 || test[$0] > 0 }.map { $0 + low }
    }

    func index(of label: Int) -> Int? {
        let i = label - low
        return i >= 0 && i < reference.count ? i : nil
    }

    private struct Partial {
        var reference, test, both: [Int]
        var boxLow, boxHigh: [SIMD3<Int>]

        init(span: Int) {
            reference = [Int](repeating: 0, count: span)
            test = reference
            both = reference
            boxLow = [SIMD3<Int>](repeating: SIMD3(repeating: .max), count: span)
            boxHigh = [SIMD3<Int>](repeating: SIMD3(repeating: .min), count: span)
        }

        @inline(__always) mutating func include(_ label: Int, _ at: SIMD3<Int>) {
            boxLow[label] = pointwiseMin(boxLow[label], at)
            boxHigh[label] = pointwiseMax(boxHigh[label], at)
        }

        func merged(with other: Partial) -> Partial {
            var m = self
            for i in 0..<reference.count {
                m.reference[i] &+= other.reference[i]
                m.test[i] &+= other.test[i]
                m.both[i] &+= other.both[i]
                m.boxLow[i] = pointwiseMin(boxLow[i], other.boxLow[i])
                m.boxHigh[i] = pointwiseMax(boxHigh[i], other.boxHigh[i])
            }
            return m
        }
    }
}
