// VectorField: scaling by a factor and the component and vector norms, in parallel.
import RegCore
import Synchronization

extension VectorField {
    /// Every vector multiplied by `factor`.
    public func scaled(by factor: Float) -> VectorField {
        // Written into a new field in parallel: a copy of `self` first would be one more serial pass.
        VectorField(geometry: geometry) { out in
            vectors.withUnsafeBufferPointer { b in
                let (p, o) = (UnsafeSendable(b.baseAddress!), UnsafeSendable(out))
                parallelFor(count: b.count, chunkSize: 1 << 16) { r in for i in r { o.value[i] = p.value[i] * factor } }
            }
        }
    }

    /// The largest absolute component, in mm.
    public var maxAbsComponent: Double { Double(vectors.reduce(0) { max($0, abs($1)) }) }

    /// The mean and the largest vector length, in mm.
    public var meanAndMaxNorm: (mean: Double, max: Double) {
        let n = geometry.voxelCount
        let sums = vectors.withUnsafeBufferPointer { b in
            let p = UnsafeSendable(b.baseAddress!)
            return parallelReduce(count: n, chunkSize: 1 << 15, initial: SIMD2<Double>.zero,
                                  combine: { SIMD2($0.x + $1.x, max($0.y, $1.y)) }) { range in
                var total = 0.0, largest: Float = 0
                for i in range {
                    let v = SIMD3<Float>(p.value[3 &* i], p.value[3 &* i &+ 1], p.value[3 &* i &+ 2])
                    let length = (v * v).sum().squareRoot()
                    total += Double(length); largest = max(largest, length)
                }
                return SIMD2(total, Double(largest))
            }
        }
        return (sums.x / Double(max(1, n)), sums.y)
    }

}
