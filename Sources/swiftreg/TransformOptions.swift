import ArgumentParser
import RegCore
import RegIO
import RegTransforms

/// `-t` options in ANTs order: the last transform listed is applied to a point first.
struct TransformOptions: ParsableArguments {
    @Option(name: .customShort("t"), parsing: .singleValue,
            help: "Transform file (.txt/.tfm ITK, .mat ANTs), repeatable, in ANTs order: the LAST one is applied to a point FIRST. Write [file,1] to use a file's inverse.")
    var transforms: [String] = []

    /// The chain the options describe (identity when none is given).
    func chain() throws -> TransformChain {
        var maps: [AffineMap] = [], names: [String] = []
        for spec in transforms {
            var path = spec, invert = false
            if spec.hasPrefix("[") && spec.hasSuffix("]") {
                let parts = spec.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[1] == "0" || parts[1] == "1" else {
                    throw ValidationError("-t takes FILE or [FILE,1] (inverse); found '\(spec)'")
                }
                path = parts[0]; invert = parts[1] == "1"
            }
            for record in try TransformFile.read(path) {
                guard let map = invert ? record.map.inverse : record.map else {
                    throw RegError.invalidHeader(path: path, field: "Parameters", reason: "the matrix is singular and has no inverse")
                }
                maps.append(map); names.append(invert ? "inverse of \(path)" : path)
            }
        }
        return TransformChain(maps, names: names)
    }
}
