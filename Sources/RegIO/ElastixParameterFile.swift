import Foundation
import RegCore

/// elastix transform parameter files (`TransformParameters.0.txt`), read as the chain transformix
/// applies: a file's `InitialTransformParametersFileName` is applied to a fixed-space point
/// first, then the file's own transform (`HowToCombineTransforms "Compose"`).
///
/// Transforms read: `EulerTransform`, `SimilarityTransform`, `AffineTransform`,
/// `TranslationTransform` (2-D and 3-D) and `BSplineTransform` (cubic). elastix writes
/// points in LPS like ITK, so they need no flip.
///
/// ```swift
/// let chain = try ElastixParameterFile.read("out/TransformParameters.1.txt")   // [Euler, B-spline]
/// for t in chain { print(t) }
/// ```
public enum ElastixParameterFile {
    /// Whether `path` looks like an elastix parameter file (a `(Transform "…")` entry) rather
    /// than an ITK transform file.
    public static func isElastix(_ path: String) -> Bool {
        guard path.lowercased().hasSuffix(".txt"), let bytes = try? FileBytes.read(path, limit: 1 << 16) else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        return !text.hasPrefix("#Insight Transform File") && text.contains("(Transform ")
    }

    /// The transforms of `path` and of the files it names as initial transforms, first applied first.
    public static func read(_ path: String) throws -> [FileTransform] {
        var chain: [FileTransform] = [], visited: Set<String> = []
        var next: String? = path
        while let file = next {
            let key = URL(fileURLWithPath: file).standardizedFileURL.path
            guard visited.insert(key).inserted else {
                throw RegError.invalidHeader(path: file, field: "InitialTransformParametersFileName", reason: "the chain of initial transforms loops back to this file")
            }
            let entries = try entries(String(decoding: try FileBytes.read(file), as: UTF8.self), path: file)
            chain.insert(try transform(entries, path: file), at: 0)
            if let how = entries["HowToCombineTransforms"]?.first, how != "Compose" {
                throw RegError.unsupportedDatatype(path: file, field: "HowToCombineTransforms", value: how)
            }
            next = try initialFile(entries, of: file)
        }
        return chain
    }

    /// The file named as the initial transform, resolved as elastix does (as written, which is
    /// relative to where elastix ran) or, failing that, beside `file`.
    static func initialFile(_ entries: [String: [String]], of file: String) throws -> String? {
        guard let name = entries["InitialTransformParametersFileName"]?.first, name != "NoInitialTransform" else { return nil }
        if FileManager.default.fileExists(atPath: name) { return name }
        let beside = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent((name as NSString).lastPathComponent).path
        guard FileManager.default.fileExists(atPath: beside) else {
            throw RegError.unreadableFile(path: file, reason: "InitialTransformParametersFileName names \(name), which exists neither as written nor beside this file")
        }
        return beside
    }

    /// `(Key value value …)` lines, quotes removed; `//` starts a comment.
    static func entries(_ text: String, path: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = Substring(raw)
            if let comment = line.range(of: "//") { line = line[..<comment.lowerBound] }
            line = line.drop(while: \.isWhitespace)
            guard line.hasPrefix("(") else { continue }
            guard let close = line.lastIndex(of: ")") else {
                throw RegError.invalidHeader(path: path, field: String(line.prefix(40)), reason: "no closing parenthesis")
            }
            var tokens: [String] = [], current = "", quoted = false
            for c in line[line.index(after: line.startIndex)..<close] {
                if c == "\"" { quoted.toggle(); continue }
                if c.isWhitespace && !quoted {
                    if !current.isEmpty { tokens.append(current); current = "" }
                } else {
                    current.append(c)
                }
            }
            if !current.isEmpty { tokens.append(current) }
            guard let key = tokens.first else { continue }
            out[key] = Array(tokens.dropFirst())
        }
        guard out["Transform"] != nil else {
            throw RegError.invalidHeader(path: path, field: "Transform", reason: "not an elastix transform parameter file (no (Transform \"…\") entry)")
        }
        return out
    }

    static func numbers(_ entries: [String: [String]], _ key: String, count: Int? = nil, path: String) throws -> [Double] {
        guard let values = entries[key] else {
            throw RegError.invalidHeader(path: path, field: key, reason: "missing")
        }
        let numbers = try values.map { token -> Double in
            guard let v = Double(token), v.isFinite else {
                throw RegError.invalidHeader(path: path, field: key, reason: "'\(token)' is not a finite number")
            }
            return v
        }
        if let count, numbers.count != count {
            throw RegError.invalidHeader(path: path, field: key, reason: "expected \(count) values, found \(numbers.count)")
        }
        return numbers
    }

    static func transform(_ entries: [String: [String]], path: String) throws -> FileTransform {
        let name = entries["Transform"]?.first ?? ""
        let dimensionValue = try numbers(entries, "FixedImageDimension", count: 1, path: path)[0]
        guard dimensionValue == 2 || dimensionValue == 3 else {
            throw RegError.invalidHeader(path: path, field: "FixedImageDimension", reason: "must be 2 or 3, found \(dimensionValue)")
        }
        let d = Int(dimensionValue)
        let parameters = try numbers(entries, "TransformParameters", path: path)
        let itkName: String
        var fixed: [Double] = []
        switch name {
        case "BSplineTransform", "RecursiveBSplineTransform":
            return try bspline(entries, parameters: parameters, dimension: d, path: path)
        case "EulerTransform": itkName = d == 3 ? "Euler3DTransform" : "Euler2DTransform"
        case "SimilarityTransform": itkName = d == 3 ? "Similarity3DTransform" : "Similarity2DTransform"
        case "AffineTransform": itkName = "AffineTransform"
        case "TranslationTransform": itkName = "TranslationTransform"
        default:
            throw RegError.unsupportedDatatype(path: path, field: "Transform", value: "\"\(name)\" (read: EulerTransform, SimilarityTransform, AffineTransform, TranslationTransform, BSplineTransform)")
        }
        if itkName != "TranslationTransform" {
            fixed = try numbers(entries, "CenterOfRotationPoint", count: d, path: path)
            if name == "EulerTransform", d == 3, entries["ComputeZYX"]?.first == "true" { fixed.append(1) }
        }
        return .linear(try TransformFile.record(type: "\(itkName)_double_\(d)_\(d)", parameters: parameters, fixed: fixed, path: path))
    }

    /// The cubic B-spline lattice: `GridSize`, `GridIndex`, `GridSpacing`, `GridOrigin`,
    /// `GridDirection` (elastix writes direction cosines column by column), then the parameters
    /// as all x coefficients (x fastest), all y, all z.
    static func bspline(_ entries: [String: [String]], parameters: [Double], dimension d: Int, path: String) throws -> FileTransform {
        if let order = entries["BSplineTransformSplineOrder"]?.first, order != "3" {
            throw RegError.unsupportedDatatype(path: path, field: "BSplineTransformSplineOrder", value: "\(order) (cubic only)")
        }
        if entries["UseCyclicTransform"]?.first == "true" {
            throw RegError.unsupportedDatatype(path: path, field: "UseCyclicTransform", value: "true")
        }
        let sizeValues = try numbers(entries, "GridSize", count: d, path: path)
        guard sizeValues.allSatisfy({ $0 >= 4 && $0 <= 4096 && $0 == $0.rounded() }) else {
            throw RegError.invalidHeader(path: path, field: "GridSize", reason: "each size must be a whole number from 4 to 4096, found \(sizeValues)")
        }
        let index = try entries["GridIndex"] == nil ? [Double](repeating: 0, count: d) : numbers(entries, "GridIndex", count: d, path: path)
        let spacing = try numbers(entries, "GridSpacing", count: d, path: path)
        let origin = try numbers(entries, "GridOrigin", count: d, path: path)
        let cosines = try entries["GridDirection"] == nil ? identity(d) : numbers(entries, "GridDirection", count: d * d, path: path)
        func vec(_ v: [Double], pad: Double) -> SIMD3<Double> { SIMD3(v[0], v[1], d == 3 ? v[2] : pad) }
        var size = SIMD3<Int>(1, 1, 1)
        for a in 0..<d { size[a] = Int(sizeValues[a]) }
        let count = size.x * size.y * size.z
        guard parameters.count == d * count else {
            throw RegError.invalidHeader(path: path, field: "TransformParameters", reason: "a \(sizeValues.map { String(Int($0)) }.joined(separator: "×")) grid has \(d * count) parameters, found \(parameters.count)")
        }
        var columns = Matrix3.identity
        for c in 0..<d { for r in 0..<d { columns[r, c] = cosines[c * d + r] } }
        let step = vec(spacing, pad: 1)
        let start = columns * (step * vec(index, pad: 0))
        let lattice: Geometry
        do {
            lattice = try Geometry(size: size, spacing: step, origin: vec(origin, pad: 0) + start, direction: columns, dimension: d)
        } catch let error as RegError {
            throw error.attributed(to: path)
        }
        var field = VectorField(geometry: lattice)
        for i in 0..<count {
            for a in 0..<d { field.vectors[3 * i + a] = Float(parameters[a * count + i]) }
        }
        return .bspline(lattice: lattice, coefficients: field)
    }

    static func identity(_ d: Int) -> [Double] {
        (0..<d * d).map { $0 % (d + 1) == 0 ? 1 : 0 }
    }
}
