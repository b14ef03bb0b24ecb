import RegCore

/// A distinctive point of an image: where it is (LPS mm), the voxel it was found at, and how
/// distinctive it is (the Förstner measure; larger is more distinctive, comparable only within
/// one image).
///
/// ```swift
/// let points = ForstnerDetector(count: 500).detect(in: image)
/// print(points[0].position, points[0].strength)
/// ```
public struct Keypoint: Equatable, Sendable {
    public var position: SIMD3<Double>
    public var voxel: SIMD3<Int>
    public var strength: Float

    public init(position: SIMD3<Double>, voxel: SIMD3<Int>, strength: Float) {
        self.position = position
        self.voxel = voxel
        self.strength = strength
    }
}

/// A fixed-image point and where it was found in the moving image (both LPS mm), with a
/// confidence in [0, 1]: one minus the ratio of the best descriptor distance to the best one
/// elsewhere in the search window (0: another place matched as well; 1: nothing else came close).
///
/// ```swift
/// let m = KeypointMatch(fixed: [10, 20, 30], moving: [11, 19, 30], confidence: 0.4)
/// print(m.displacement)   // (1, -1, 0)
/// ```
public struct KeypointMatch: Equatable, Sendable {
    public var fixed: SIMD3<Double>
    public var moving: SIMD3<Double>
    public var confidence: Double

    public init(fixed: SIMD3<Double>, moving: SIMD3<Double>, confidence: Double) {
        self.fixed = fixed
        self.moving = moving
        self.confidence = confidence
    }

    /// `moving − fixed`, mm.
    public var displacement: SIMD3<Double> { moving - fixed }
}
