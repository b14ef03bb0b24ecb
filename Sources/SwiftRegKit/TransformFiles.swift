import RegCore
import RegIO
import RegKernels
import RegTransforms

/// Transform files as ANTs lists them (`-t`): read into one chain, applied to images and points,
/// composed into one field. Points go through the first file listed first.
///
/// ```swift
/// let chain = try TransformFiles.chain(["out/syn_warp.nii.gz", "out/syn_affine.txt"])
/// try TransformFiles.apply(input: "atlas_seg.nii.gz", reference: "subject.nii.gz", chain: chain,
///                          interpolation: .label, output: "seg_on_subject.nii.gz")
/// ```
public enum TransformFiles {
    /// The chain of `specs` in ANTs order: ITK `.txt`/`.tfm`/`.h5` (composites included), ANTs
    /// `.mat`, an elastix `TransformParameters.N.txt` (with its initial transforms), or a
    /// displacement field image; `[FILE,1]` takes a file's inverse. No specs: the identity.
    public static func chain(_ specs: [String]) throws -> TransformChain {
        var elements: [TransformChain.Element] = [], names: [String] = []
        for spec in specs {
            var path = spec, invert = false
            if spec.hasPrefix("[") && spec.hasSuffix("]") {
                let parts = spec.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[1] == "0" || parts[1] == "1" else {
                    throw RegError.invalidArgument(name: "-t", reason: "takes FILE or [FILE,1] (inverse); found '\(spec)'")
                }
                path = parts[0]; invert = parts[1] == "1"
            }
            let name = invert ? "inverse of \(path)" : path
            if (try? ImageFile.format(of: path)) != nil {
                let field = DisplacementField(try TransformFile.readDisplacementField(path))
                elements.append(.displacement(invert ? field.inverse() : field)); names.append(name)
                continue
            }
            for element in try Self.elements(TransformFile.readTransforms(path), path: path, invert: invert) {
                elements.append(element); names.append(name)
            }
        }
        return TransformChain(elements, names: names)
    }

    /// A file's transforms as chain elements, first applied first; with `invert`, the inverse
    /// chain where every element has one (linear maps; a displacement field by fixed-point inversion).
    public static func elements(_ transforms: [FileTransform], path: String, invert: Bool) throws -> [TransformChain.Element] {
        let elements: [TransformChain.Element] = transforms.map {
            switch $0 {
            case .linear(let record): return .affine(record.map)
            case .bspline(let lattice, let coefficients): return .bspline(BSplineGrid(lattice: lattice, coefficients: coefficients))
            case .displacement(let field): return .displacement(DisplacementField(field))
            }
        }
        guard invert else { return elements }
        return try elements.reversed().map { element in
            switch element {
            case .affine(let map):
                guard let inverse = map.inverse else {
                    throw RegError.invalidHeader(path: path, field: "TransformParameters", reason: "the matrix is singular and has no inverse")
                }
                return .affine(inverse)
            case .displacement(let field): return .displacement(field.inverse())
            case .bspline:
                throw RegError.invalidArgument(name: "-t [\(path),1]", reason: "a B-spline transform has no exact inverse; register the other way instead")
            }
        }
    }

    /// The files that `specs` name (`[FILE,1]` gives FILE).
    public static func paths(_ specs: [String]) -> [String] {
        specs.map { spec in
            guard spec.hasPrefix("["), spec.hasSuffix("]") else { return spec }
            return String(spec.dropFirst().dropLast().split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)
        }
    }

    /// `swiftreg apply`: the input image on the reference grid through `chain`, written to
    /// `output`. Linear and B-spline interpolation give `Float` voxels (as ANTs does); nearest and
    /// label keep the input's type.
    public static func apply(input: String, reference: String, chain: TransformChain, interpolation: Interpolation,
                             defaultValue: Double = 0, output: String) throws {
        _ = try ImageFile.format(of: output)
        var image = try ImageFile.read(input).image
        if interpolation == .label { try ImageFile.checkLabels(image, path: input) }
        if interpolation == .linear || interpolation == .bspline { image = AnyImage(image.floatImage()) }
        let target = try ImageFile.read(reference).image.geometry
        try checkDimensions(image: image.geometry, input: input, reference: target, referencePath: reference, chain: chain)
        let out = try image.resampled(onto: target, mapping: chain.mapping(onto: target), interpolation: interpolation,
                                      defaultValue: defaultValue)
        try ImageFile.write(out, to: output)
    }

    /// Refuses a 2-D image, field or reference mixed with 3-D ones: each would be sampled through
    /// a plane it does not have.
    static func checkDimensions(image: Geometry, input: String, reference target: Geometry, referencePath: String,
                                chain: TransformChain) throws {
        guard image.dimension == target.dimension else {
            throw RegError.geometryMismatch("\(input) is \(image.dimension)-D but the reference \(referencePath) is \(target.dimension)-D")
        }
        for (element, name) in zip(chain.elements, chain.names) {
            guard case .displacement(let field) = element, field.geometry.dimension != target.dimension else { continue }
            throw RegError.geometryMismatch("\(name) is a \(field.geometry.dimension)-D displacement field but the reference \(referencePath) is \(target.dimension)-D")
        }
    }

    /// `swiftreg apply-points`: the points of `input` through `chain`, written to `output`.
    public static func applyToPoints(input: String, chain: TransformChain, output: String) throws {
        var landmarks = try LandmarkFile.read(input)
        landmarks.points = landmarks.points.map(chain.map)
        try LandmarkFile.write(landmarks, to: output)
    }

    /// `swiftreg compose`: one displacement field on the reference grid for the whole chain
    /// (what `antsApplyTransforms -o [FIELD,1]` writes).
    public static func compose(chain: TransformChain, reference: String, output: String) throws {
        let grid = try ImageFile.read(reference).image.geometry
        try TransformFile.writeDisplacementField(VectorField(sampling: grid) { chain.map($0) }, to: output)
    }
}
