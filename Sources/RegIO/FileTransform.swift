import RegCore

/// One transform read from a file (ITK `.txt`/`.h5`, elastix parameters): linear, a cubic
/// B-spline on a control-point lattice, or a dense displacement field.
///
/// ```swift
/// for t in try HDF5TransformFile.read("ants_Composite.h5") {
///     if case .displacement(let field) = t { print(field.geometry.size) }
/// }
/// ```
public enum FileTransform: Equatable, Sendable {
    case linear(LinearTransformRecord)
    /// Displacement coefficients (LPS mm) on `lattice`: the control point at lattice index `k`
    /// sits at `lattice.origin + direction · spacing · k`. As in ITK, a point outside the region
    /// where the full 4-point support lies inside the lattice is not moved.
    case bspline(lattice: Geometry, coefficients: VectorField)
    /// `x ↦ x + u(x)`, `u` (LPS mm) interpolated linearly on its grid.
    case displacement(VectorField)
}
