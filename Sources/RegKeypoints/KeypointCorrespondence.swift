import RegCore
import RegKernels
import RegTransforms

/// Keypoints of a fixed image found in a moving one, in one call: Förstner points of the fixed
/// image, matched by MIND-SSC descriptors (`KeypointMatcher`), then filtered for consistency:
/// RANSAC for a rigid or affine relation, or the neighbourhood-median test for a smooth
/// deformation (`MatchFilter`). Images coarser than `workingSpacing` along an axis are first
/// resampled (cubic B-spline) by a whole factor along it, so that searches and their sub-voxel
/// refinement work on steps of about 1 mm even on thick-slice CT.
///
/// ```swift
/// let found = try KeypointCorrespondence(filter: .affine).find(fixed: fixed, moving: moving, fixedMask: mask)
/// print(found.detected.count, found.matched.count, found.kept.count)
/// ```
public struct KeypointCorrespondence: Sendable {
    /// How matches are filtered.
    public enum Filter: String, Sendable, CaseIterable {
        /// Keep every cross-checked match.
        case none
        /// RANSAC with a rigid (or affine) transform.
        case rigid, affine
        /// Each displacement near the median of its neighbours'.
        case smooth
    }

    /// The result: what was detected, matched and kept, and the RANSAC transform when there is one.
    public struct Result: Sendable {
        public var detected: [Keypoint]
        public var matched: [KeypointMatch]
        public var kept: [KeypointMatch]
        /// Fixed → moving, for the `rigid` and `affine` filters.
        public var transform: LinearTransform?
    }

    public var detector: ForstnerDetector
    public var matcher: KeypointMatcher
    public var filter: Filter
    /// How far a kept match may lie from the RANSAC transform or its neighbours' median
    /// displacement, mm (nil: twice the fixed image's coarsest spacing, at least 2 mm).
    public var tolerance: Double?
    /// The coarsest spacing worked on, mm (an axis of spacing s is divided by s / workingSpacing, rounded).
    public var workingSpacing: Double

    public init(detector: ForstnerDetector = ForstnerDetector(), matcher: KeypointMatcher = KeypointMatcher(),
                filter: Filter = .smooth, tolerance: Double? = nil, workingSpacing: Double = 1) {
        self.detector = detector
        self.matcher = matcher
        self.filter = filter
        self.tolerance = tolerance
        self.workingSpacing = workingSpacing
    }

    /// Detect, match and filter.
    /// - Parameter initial: fixed → moving physical map about which matches are searched.
    /// - Throws: what the detector throws; `RegError.invalidArgument` when a RANSAC filter has
    ///   too few matches, or a tolerance is not positive.
    public func find(fixed: Image<Float>, moving: Image<Float>, fixedMask: Image<UInt8>? = nil,
                     initial: AffineMap = .identity) throws -> Result {
        if let tolerance, !(tolerance > 0) {
            throw RegError.invalidArgument(name: "tolerance", reason: "must be a positive distance in mm, got \(tolerance)")
        }
        let fixedWork = try working(fixed), movingWork = try working(moving)
        let maskWork = try fixedMask.map { try Resampler.resample($0, onto: fixedWork.geometry, interpolation: .nearest) }
        let detected = try detector.detect(in: fixedWork, mask: maskWork)
        let matched = distinctiveInMoving(matcher.match(detected, fixed: fixedWork, moving: movingWork, initial: initial), moving: movingWork)
        let limit = tolerance ?? max(2, 2 * fixedWork.geometry.spacing.max())
        let dimension = fixed.geometry.dimension
        switch filter {
        case .none:
            return Result(detected: detected, matched: matched, kept: matched, transform: nil)
        case .smooth:
            let kept = MatchFilter.smooth(matched, tolerance: limit).map { matched[$0] }
            return Result(detected: detected, matched: matched, kept: kept, transform: nil)
        case .rigid, .affine:
            let model: LinearModel = filter == .rigid ? .rigid : .affine
            let (transform, inliers) = try MatchFilter.ransac(matched, model: model, dimension: dimension, threshold: limit)
            return Result(detected: detected, matched: matched, kept: inliers.map { matched[$0] }, transform: transform)
        }
    }

    /// The matches that land on a distinctive place of the moving image too: where the largest
    /// Förstner strength within a voxel is above the moving image's mean. A corner should match
    /// a corner; a place the other contrast shows as flat or as a plain edge is a guess.
    func distinctiveInMoving(_ matches: [KeypointMatch], moving: Image<Float>) -> [KeypointMatch] {
        let g = moving.geometry
        let (strength, _) = detector.distinctiveness(moving)
        let mean = strength.reduce(0.0) { $0 + Double($1) } / Double(strength.count)
        let peaks = LocalMaxima.filter(strength, size: g.size, radius: SIMD3(1, 1, g.dimension == 2 ? 0 : 1))
        return matches.filter { m in
            let c = g.continuousIndex(ofPhysicalPoint: m.moving)
            let v = SIMD3(Int(c.x.rounded()), Int(c.y.rounded()), Int(c.z.rounded()))
            guard all(v .>= 0), all(v .< g.size) else { return false }
            return Double(peaks[g.offset(v.x, v.y, v.z)]) > mean
        }
    }

    /// The image on a grid no coarser than `workingSpacing` along any axis (itself when it is).
    func working(_ image: Image<Float>) throws -> Image<Float> {
        let g = image.geometry
        var spacing = g.spacing
        for axis in 0..<g.dimension { spacing[axis] /= max(1, (g.spacing[axis] / workingSpacing).rounded()) }
        guard spacing != g.spacing else { return image }
        return try Resampler.resample(image, onto: try g.resampled(toSpacing: spacing), interpolation: .bspline)
    }
}
