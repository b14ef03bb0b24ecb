import ArgumentParser
import RegCore
import RegIO
import RegTransforms

/// `-t` options in ANTs order: the first transform listed is applied to a fixed-space point first.
struct TransformOptions: ParsableArguments {
    @Option(name: .customShort("t"), parsing: .singleValue,
            help: "Transform, repeatable, in ANTs order: points go through the FIRST one first (-t warp.nii.gz -t affine.txt). ITK .txt/.tfm, ANTs .mat, or a displacement field image (.nii.gz, .mha, .nrrd). [file,1] uses the inverse.")
    var transforms: [String] = []

    /// The chain the options describe (identity when none is given).
    func chain() throws -> TransformChain {
        var elements: [TransformChain.Element] = [], names: [String] = []
        for spec in transforms {
            var path = spec, invert = false
            if spec.hasPrefix("[") && spec.hasSuffix("]") {
                let parts = spec.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[1] == "0" || parts[1] == "1" else {
                    throw ValidationError("-t takes FILE or [FILE,1] (inverse); found '\(spec)'")
                }
                path = parts[0]; invert = parts[1] == "1"
            }
            let name = invert ? "inverse of \(path)" : path
            if (try? ImageFile.format(of: path)) != nil {
                let field = DisplacementField(try TransformFile.readDisplacementField(path))
                elements.append(.displacement(invert ? field.inverse() : field)); names.append(name)
                continue
            }
            // A file lists its transforms as ITK composes them (the last is applied first).
            var records = try TransformFile.read(path).reversed().map(\.map)
            if invert {
                records = try records.reversed().map { map in
                    guard let inverse = map.inverse else {
                        throw RegError.invalidHeader(path: path, field: "Parameters", reason: "the matrix is singular and has no inverse")
                    }
                    return inverse
                }
            }
            for map in records { elements.append(.affine(map)); names.append(name) }
        }
        return TransformChain(elements, names: names)
    }
}
