import RegCore
import RegKernels

/// An anatomical viewing plane through an image's physical extent, sampled on square pixels
/// and shown as 3D Slicer and ITK-SNAP show it by default (radiological: the patient's right on
/// the left of the picture; anterior up in axial views, superior up in coronal and sagittal ones).
/// Oblique and anisotropic images are resampled onto the plane, so what the picture shows is
/// where the voxels are in the patient.
///
/// ```swift
/// let plane = try SlicePlane(.axial, through: fixed.geometry, at: .fraction(0.5))
/// let pixels = try plane.sample(fixed)            // plane.width × plane.height values, row by row
/// ```
public struct SlicePlane: Sendable {
    public enum View: String, Sendable, CaseIterable, Codable {
        case axial, coronal, sagittal
        /// A 2-D image's own plane.
        case plane
    }

    /// Where the plane cuts its normal axis.
    public enum Position: Sendable, Equatable {
        /// 0 … 1 across the image's physical extent along the normal.
        case fraction(Double)
        /// A physical coordinate (LPS mm) along the normal.
        case millimetres(Double)
    }

    public let view: View
    /// The plane's pixels as a one-slice geometry: index x runs left to right on the picture,
    /// index y top to bottom.
    public let geometry: Geometry
    /// The view and where it cuts, e.g. `axial, z = 12.0 mm (LPS)`.
    public let title: String
    public var width: Int { geometry.size.x }
    public var height: Int { geometry.size.y }

    /// The plane through `image` along `view`; a 2-D image has only `.plane`.
    /// - Parameter longestSide: the most pixels along either side of the picture.
    public init(_ view: View, through image: Geometry, at position: Position = .fraction(0.5), longestSide: Int = 384) throws {
        if image.dimension == 2 || view == .plane {
            guard image.dimension == 2 else {
                throw RegError.invalidArgument(name: "view", reason: "a 3-D image is shown in axial, coronal or sagittal planes")
            }
            self.view = .plane
            geometry = image
            title = "image plane"
            return
        }
        let corners = image.cornerPoints
        let low = corners.reduce(SIMD3(repeating: Double.infinity)) { pointwiseMin($0, $1) }
        let high = corners.reduce(SIMD3(repeating: -Double.infinity)) { pointwiseMax($0, $1) }
        // Picture axes (right on screen, down on screen) and the normal, in LPS.
        let (u, v, n): (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>)
        switch view {
        case .axial: (u, v, n) = (SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1))
        case .coronal: (u, v, n) = (SIMD3(1, 0, 0), SIMD3(0, 0, -1), SIMD3(0, 1, 0))
        default: (u, v, n) = (SIMD3(0, 1, 0), SIMD3(0, 0, -1), SIMD3(-1, 0, 0))
        }
        let extentOf = { (axis: SIMD3<Double>) -> (Double, Double) in
            let a = (low * axis).sum(), b = (high * axis).sum()
            return (min(a, b), max(a, b))
        }
        let (u0, u1) = extentOf(u), (v0, v1) = extentOf(v), (n0, n1) = extentOf(n)
        let pixel = max(image.spacing.min(), max(u1 - u0, v1 - v0) / Double(longestSide))
        let cut: Double
        switch position {
        case .fraction(let f): cut = n0 + min(1, max(0, f)) * (n1 - n0)
        case .millimetres(let mm): cut = mm * n.sum()   // n has one ±1 entry: the LPS coordinate along it
        }
        let size = SIMD3(Int(((u1 - u0) / pixel).rounded(.up)) + 1, Int(((v1 - v0) / pixel).rounded(.up)) + 1, 1)
        let origin = u * u0 + v * v0 + n * cut
        self.view = view
        let coordinate = (origin * n).sum() * n.sum() + 0   // + 0 turns −0 into 0
        title = "\(view.rawValue), \(["x", "y", "z"][view == .axial ? 2 : view == .coronal ? 1 : 0]) = \((coordinate * 10).rounded() / 10) mm (LPS)"
        geometry = try Geometry(size: size, spacing: SIMD3(repeating: pixel), origin: origin,
                                direction: Matrix3(columns: u, v, n), dimension: 3)
    }

    /// The image's values on the plane (0 outside it); `.label` or `.nearest` keep label values.
    public func sample(_ image: Image<Float>, interpolation: Interpolation = .linear) throws -> Image<Float> {
        try Resampler.resample(image, onto: geometry, interpolation: interpolation)
    }

    /// The three picture planes through the middle of a 3-D image, or a 2-D image's own plane.
    public static func middle(of image: Geometry) throws -> [SlicePlane] {
        image.dimension == 2 ? [try SlicePlane(.plane, through: image)]
            : try [View.axial, .coronal, .sagittal].map { try SlicePlane($0, through: image) }
    }
}
