import RegCore
import RegKernels

/// One row of pictures of the report: the panels of one viewing plane.
public struct FigureRow: Sendable {
    public struct Panel: Sendable {
        public var title: String
        public var png: [UInt8]

        public init(title: String, png: [UInt8]) {
            self.title = title
            self.png = png
        }
    }
    public var title: String
    public var panels: [Panel]

    public init(title: String, panels: [Panel]) {
        self.title = title
        self.panels = panels
    }
}

/// The images a report shows, all in physical space: fixed and moving on their own grids, the
/// warped image, labels and the deformable part of the transform on the fixed grid.
///
/// ```swift
/// let figures = ReportImages(fixed: f, moving: m, warped: w, displacement: warp.field,
///                            jacobian: warp.jacobianDeterminant)
/// let rows = try figures.rows(planes: try SlicePlane.middle(of: f.geometry))
/// ```
public struct ReportImages: Sendable {
    public var fixed: Image<Float>
    public var moving: Image<Float>
    public var warped: Image<Float>
    public var displacement: VectorField?
    public var jacobian: Image<Float>?
    public var fixedLabels: Image<Float>?
    public var warpedLabels: Image<Float>?
    public var colors: LabelColors
    /// Spacing of the deformation grid lines, mm.
    public var gridSpacing: Double

    public init(fixed: Image<Float>, moving: Image<Float>, warped: Image<Float>, displacement: VectorField? = nil,
                jacobian: Image<Float>? = nil, fixedLabels: Image<Float>? = nil, warpedLabels: Image<Float>? = nil,
                colors: LabelColors = LabelColors(), gridSpacing: Double? = nil) {
        self.fixed = fixed
        self.moving = moving
        self.warped = warped
        self.displacement = displacement
        self.jacobian = jacobian
        self.fixedLabels = fixedLabels
        self.warpedLabels = warpedLabels
        self.colors = colors
        let g = fixed.geometry
        let extent = (SIMD3<Double>(g.size) * g.spacing).max()
        self.gridSpacing = gridSpacing ?? max(2, (extent / 24).rounded())
    }

    /// The panels of each plane: fixed, moving, warped, checkerboard, |fixed − warped|, label
    /// contours, the deformation grid and det J, as far as the inputs allow.
    public func rows(planes: [SlicePlane]) throws -> [FigureRow] {
        let fixedWindow = IntensityWindow(fixed), movingWindow = IntensityWindow(moving)
        return try planes.map { plane in
            let f = try plane.sample(fixed), m = try plane.sample(moving), w = try plane.sample(warped)
            let fixedPicture = Picture(grey: f, window: fixedWindow), warpedPicture = Picture(grey: w, window: movingWindow)
            var panels: [(String, Picture)] = [
                ("fixed", fixedPicture), ("moving", Picture(grey: m, window: movingWindow)), ("warped moving", warpedPicture),
                ("checkerboard fixed / warped", Picture.checkerboard(fixedPicture, warpedPicture)),
                ("|fixed − warped|", Picture.difference(f, fixedWindow, w, movingWindow)),
            ]
            for (title, labels) in [("fixed labels", fixedLabels), ("warped moving labels", warpedLabels)] {
                guard let labels else { continue }
                var p = fixedPicture
                p.drawContours(of: try plane.sample(labels, interpolation: .label), colors: colors)
                panels.append((title + " on fixed", p))
            }
            if let displacement {
                var p = warpedPicture
                p.drawDeformedGrid(displacement: try plane.sample(displacement.image), plane: plane, spacing: gridSpacing)
                panels.append((String(format: "deformation grid (%g mm)", gridSpacing), p))
            }
            if let jacobian {
                var p = fixedPicture
                p.overlayJacobian(try plane.sample(jacobian), inside: f)   // where the fixed image is non-zero
                panels.append(("det J", p))
            }
            return FigureRow(title: plane.title,
                             panels: try panels.map { FigureRow.Panel(title: $0.0, png: try $0.1.png()) })
        }
    }
}
