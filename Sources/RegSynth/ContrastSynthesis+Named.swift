import RegCore

extension ContrastSynthesis {
    /// A label map painted with a named contrast: `t1` or `t2` (fixed intensities by tissue), or
    /// `random`. Labels without a fixed intensity (all with `random`) take one drawn from `seed` and
    /// the label value, so every map painted with one seed shares the contrast; noise, blur and bias
    /// come from `seed` and `instance` together, so the two images of a pair differ in them.
    ///
    /// ```swift
    /// let t2 = try ContrastSynthesis.painted(labelMap, contrast: "t2", seed: 1, instance: 0)
    /// ```
    public static func painted(_ labels: Image<Int32>, contrast: String, seed: UInt64, instance: UInt64) throws -> Image<Float> {
        var synthesis = ContrastSynthesis()
        let range = synthesis.meanRange
        var means = Dictionary(uniqueKeysWithValues: Set(labels.voxels).map { label in
            var rng = SplitMix64(seed: seed ^ (UInt64(UInt32(bitPattern: label)) &* 0x9E37_79B9_7F4A_7C15))
            return (label, range.lowerBound + rng.nextUnit() * (range.upperBound - range.lowerBound))
        })
        switch contrast {
        case "t1": means.merge(ContrastSynthesis.t1Like.means ?? [:]) { $1 }
        case "t2": means.merge(ContrastSynthesis.t2Like.means ?? [:]) { $1 }
        case "random": break
        default: throw RegError.invalidArgument(name: "contrast", reason: "must be t1, t2 or random, found '\(contrast)'")
        }
        synthesis.means = means
        return try synthesis.image(from: labels, seed: seed &* 1_000_003 &+ instance)
    }
}
