extension Geometry {
    /// The anatomical orientation code, one letter per index axis naming the direction in which
    /// that index increases (nibabel's convention): an identity LPS direction gives `"LPS"`,
    /// a FreeSurfer conformed image `"LIA"`, an FSL MNI152 image `"LAS"`.
    ///
    /// ```swift
    /// let g = try Geometry(size: [4, 4, 4], direction: .diagonal([-1, -1, 1]))
    /// g.orientationCode   // "RAS"
    /// ```
    public var orientationCode: String {
        let letters: [(positive: Character, negative: Character)] = [("L", "R"), ("P", "A"), ("S", "I")]
        var used = Set<Int>()
        var code = ""
        for j in 0..<3 {
            let c = direction.column(j)
            // Pick the dominant physical axis not already taken, so codes stay a permutation.
            let order = (0..<3).sorted { abs(c[$0]) > abs(c[$1]) }
            let k = order.first { !used.contains($0) } ?? order[0]
            used.insert(k)
            code.append(c[k] >= 0 ? letters[k].positive : letters[k].negative)
        }
        return code
    }

    /// True when the direction matrix is not a signed permutation (the grid is oblique).
    public var isOblique: Bool {
        for j in 0..<3 {
            let c = direction.column(j).magnitudes
            if c.max() < 1 - 1e-6 { return true }
        }
        return false
    }
}

extension Geometry {
    /// A short description for messages: size, spacing and origin, e.g.
    /// `160×192×144 voxels, spacing 0.981×0.969×1 mm, origin (3, 6, 0)`.
    public var brief: String {
        let g = { (v: Double) -> String in
            let r = (v * 1000).rounded() / 1000
            return r == r.rounded() && abs(r) < 1e15 ? String(Int(r)) : "\(r)"
        }
        return "\(size.x)×\(size.y)×\(size.z) voxels, spacing \(g(spacing.x))×\(g(spacing.y))×\(g(spacing.z)) mm, "
            + "origin (\(g(origin.x)), \(g(origin.y)), \(g(origin.z)))"
    }
}
