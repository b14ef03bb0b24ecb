import RegCore

extension ValidationPair {
    /// Planes z of a volume pair and its labels as 2-D validation pairs, or the volumes themselves for a 3-D model.
    ///
    /// ```swift
    /// let validation = try ValidationPair.pairs(fixed: b, moving: a, fixedLabels: bSeg, movingLabels: aSeg, dimension: 2, slices: [40, 60])
    /// ```
    public static func pairs(fixed: Image<Float>, moving: Image<Float>, fixedLabels: Image<Int32>, movingLabels: Image<Int32>,
                      dimension: Int, slices: [Int]?) throws -> [ValidationPair] {
        guard fixed.geometry.size == moving.geometry.size else {
            throw RegError.invalidArgument(name: "validation images", reason: "must share one grid (\(fixed.geometry.brief), \(moving.geometry.brief))")
        }
        guard dimension == 2, fixed.geometry.dimension == 3 else {
            return [ValidationPair(fixed: fixed, moving: moving, fixedLabels: fixedLabels, movingLabels: movingLabels)]
        }
        let depth = fixed.geometry.size.z
        return try (slices ?? Array(stride(from: depth / 4, to: 3 * depth / 4, by: 8))).map { z in
            guard z >= 0, z < depth else {
                throw RegError.invalidArgument(name: "validation slice", reason: "\(z) is outside the volume (depth \(depth))")
            }
            return try ValidationPair(fixed: fixed.plane(z), moving: moving.plane(z), fixedLabels: fixedLabels.plane(z),
                                      movingLabels: movingLabels.plane(z))
        }
    }
}
