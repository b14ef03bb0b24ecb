import Foundation
import RegCore

/// A linear transform as a file stores it: the map plus the centre (ITK's `FixedParameters`)
/// and the dimension.
///
/// ```swift
/// let t = LinearTransformRecord(map: result.map, center: c, dimension: 3)
/// try TransformFile.write([t], to: "out_affine.txt")   // ITK text; ".mat" writes ANTs/MATLAB
/// let chain = try TransformFile.read("out_affine.mat")  // [LinearTransformRecord]
/// ```
public struct LinearTransformRecord: Equatable, Sendable {
    /// Fixed-space point ↦ moving-space point (LPS mm).
    public var map: AffineMap
    public var center: SIMD3<Double>
    public var dimension: Int

    public init(map: AffineMap, center: SIMD3<Double> = .zero, dimension: Int = 3) {
        self.map = map
        self.center = center
        self.dimension = dimension
    }
}

/// ITK transform files (`.txt`, `.tfm`: `#Insight Transform File V1.0`) and ANTs/ITK MATLAB
/// v4 files (`.mat`). Transforms are returned in file order; a composite file composes them
/// as ITK does, the last listed applied to a point first.
public enum TransformFile {
    public static let supportedExtensions = [".txt", ".tfm", ".mat", ".h5"]

    /// The linear transforms of an ITK `.txt`/`.tfm`/`.h5` or ANTs `.mat` file, as ITK lists
    /// them (the last is applied first); `readTransforms` also takes fields, B-splines and elastix files.
    public static func read(_ path: String) throws -> [LinearTransformRecord] {
        if path.lowercased().hasSuffix(".h5") {
            return try HDF5TransformFile.read(path).reversed().map {
                guard case .linear(let record) = $0 else {
                    throw RegError.unsupportedDatatype(path: path, field: "/TransformGroup", value: "a displacement field or B-spline where a linear transform is needed")
                }
                return record
            }
        }
        let bytes = try FileBytes.read(path)
        if path.lowercased().hasSuffix(".mat") { return try readMatlab(bytes, path: path) }
        guard [".txt", ".tfm"].contains(where: { path.lowercased().hasSuffix($0) }) else {
            throw RegError.unsupportedFormat(path: path, supported: supportedExtensions)
        }
        return try readText(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Writes one transform (`.mat` holds exactly one) or, in a text file, a list.
    public static func write(_ transforms: [LinearTransformRecord], to path: String) throws {
        guard let first = transforms.first else {
            throw RegError.invalidArgument(name: "transforms", reason: "nothing to write to \(path)")
        }
        if path.lowercased().hasSuffix(".mat") {
            guard transforms.count == 1 else {
                throw RegError.invalidArgument(name: path, reason: "a .mat file holds one transform, \(transforms.count) given")
            }
            try FileBytes.writeAtomically([matlabBytes(first)], to: path)
        } else if [".txt", ".tfm"].contains(where: { path.lowercased().hasSuffix($0) }) {
            try FileBytes.writeAtomically([Array(text(transforms).utf8)], to: path)
        } else {
            throw RegError.unsupportedFormat(path: path, supported: supportedExtensions)
        }
    }

    // MARK: parameters ↔ maps

    /// `AffineTransform_double_D_D` parameters (matrix row by row, translation) and centre.
    static func affineParameters(_ t: LinearTransformRecord) -> (parameters: [Double], fixed: [Double]) {
        let d = t.dimension
        let translation = t.map.translation(about: t.center)
        var p: [Double] = []
        for i in 0..<d { for j in 0..<d { p.append(t.map.matrix[i, j]) } }
        for i in 0..<d { p.append(translation[i]) }
        return (p, (0..<d).map { t.center[$0] })
    }

    /// The map of an ITK transform type from its parameters.
    static func record(type: String, parameters p: [Double], fixed: [Double], path: String) throws -> LinearTransformRecord {
        let parts = type.split(separator: "_")
        let name = String(parts.first ?? "")
        guard parts.count >= 3, let d = Int(parts[parts.count - 1]), d == 2 || d == 3 else {
            throw RegError.invalidHeader(path: path, field: "Transform", reason: "cannot read the dimension of '\(type)'")
        }
        func need(_ n: Int, _ m: Int) throws {
            guard p.count == n else {
                throw RegError.invalidHeader(path: path, field: "Parameters", reason: "\(type) has \(n) parameters, found \(p.count)")
            }
            guard fixed.count >= m else {
                throw RegError.invalidHeader(path: path, field: "FixedParameters", reason: "\(type) needs \(m) fixed parameters, found \(fixed.count)")
            }
        }
        func vec(_ s: ArraySlice<Double>) -> SIMD3<Double> { SIMD3(s[s.startIndex], s[s.startIndex + 1], d == 3 ? s[s.startIndex + 2] : 0) }
        // The centre, for the types that have one (`need` has checked there are d values).
        var c: SIMD3<Double> { fixed.count >= d ? vec(fixed[0...]) : .zero }
        let matrix: Matrix3, translation: SIMD3<Double>
        switch (name, d) {
        case ("AffineTransform", _), ("MatrixOffsetTransformBase", _):
            try need(d * d + d, d)
            matrix = d == 3 ? Matrix3(rowMajor: Array(p[0..<9])) : Matrix3(rows: SIMD3(p[0], p[1], 0), SIMD3(p[2], p[3], 0), SIMD3(0, 0, 1))
            translation = vec(p[(d * d)...])
        case ("TranslationTransform", _):
            try need(d, 0)
            matrix = .identity; translation = vec(p[0...])
        case ("IdentityTransform", _):
            matrix = .identity; translation = .zero
        case ("Euler2DTransform", 2), ("Rigid2DTransform", 2):
            try need(3, 2)
            matrix = .rotation(axis: 2, angle: p[0]); translation = SIMD3(p[1], p[2], 0)
        case ("Similarity2DTransform", 2):
            try need(4, 2)
            matrix = Matrix3.rotation(axis: 2, angle: p[1]) * p[0] + Matrix3.diagonal(SIMD3(0, 0, 1 - p[0]))
            translation = SIMD3(p[2], p[3], 0)
        case ("Euler3DTransform", 3):
            try need(6, 3)
            // A fourth fixed parameter of 1 selects ITK's ComputeZYX order.
            if fixed.count > 3 && fixed[3] != 0 {
                matrix = Matrix3.rotation(axis: 2, angle: p[2]) * Matrix3.rotation(axis: 1, angle: p[1]) * Matrix3.rotation(axis: 0, angle: p[0])
            } else {
                matrix = Matrix3.rotation(ax: p[0], ay: p[1], az: p[2])
            }
            translation = SIMD3(p[3], p[4], p[5])
        case ("VersorRigid3DTransform", 3), ("Similarity3DTransform", 3):
            try need(name == "Similarity3DTransform" ? 7 : 6, 3)
            let scale = name == "Similarity3DTransform" ? p[6] : 1
            matrix = try versorMatrix(SIMD3(p[0], p[1], p[2]), path: path) * scale
            translation = SIMD3(p[3], p[4], p[5])
        default:
            throw RegError.unsupportedDatatype(path: path, field: "Transform", value: type)
        }
        return LinearTransformRecord(map: AffineMap(matrix: matrix, translation: translation, center: c), center: c, dimension: d)
    }

    /// One ITK transform of any type read: linear (`record`), `DisplacementFieldTransform` or
    /// `BSplineTransform` (fixed parameters: the grid's size, origin, spacing and direction row by
    /// row; a field's parameters interleave the components, a B-spline's list each component's
    /// coefficients in turn). `field` names where it came from, for errors.
    static func transform(type: String, parameters p: [Double], fixed: [Double], path: String, field: String) throws -> FileTransform {
        let name = String(type.split(separator: "_").first ?? "")
        guard name == "DisplacementFieldTransform" || name == "BSplineTransform" else {
            return .linear(try record(type: type, parameters: p, fixed: fixed, path: path))
        }
        guard let d = Int(type.split(separator: "_").last ?? ""), d == 2 || d == 3 else {
            throw RegError.invalidHeader(path: path, field: field + "/TransformType", reason: "cannot read the dimension of '\(type)'")
        }
        guard fixed.count == 3 * d + d * d else {
            throw RegError.invalidHeader(path: path, field: field + "/TransformFixedParameters", reason: "\(name) needs \(3 * d + d * d) fixed parameters (size, origin, spacing, direction), found \(fixed.count)")
        }
        var size = SIMD3<Int>(1, 1, 1), origin = SIMD3<Double>.zero, spacing = SIMD3<Double>(1, 1, 1), direction = Matrix3.identity
        for a in 0..<d {
            guard fixed[a] >= 1, fixed[a] <= 32768, fixed[a] == fixed[a].rounded() else {
                throw RegError.invalidHeader(path: path, field: field + "/TransformFixedParameters", reason: "grid size \(fixed[a]) along axis \(a) is not a whole number from 1 to 32768")
            }
            size[a] = Int(fixed[a]); origin[a] = fixed[d + a]; spacing[a] = fixed[2 * d + a]
            for c in 0..<d { direction[a, c] = fixed[3 * d + a * d + c] }
        }
        let n = size.x * size.y * size.z
        guard p.count == d * n else {
            throw RegError.invalidHeader(path: path, field: field + "/TransformParameters", reason: "a \((0..<d).map { String(size[$0]) }.joined(separator: "×")) grid needs \(d * n) parameters, found \(p.count)")
        }
        let grid: Geometry
        do {
            grid = try Geometry(size: size, spacing: spacing, origin: origin, direction: direction, dimension: d)
        } catch let error as RegError {
            throw error.attributed(to: path)
        }
        var vectors = VectorField(geometry: grid)
        if name == "DisplacementFieldTransform" {
            for i in 0..<n { for a in 0..<d { vectors.vectors[3 * i + a] = Float(p[d * i + a]) } }
            return .displacement(vectors)
        }
        guard size.x >= 4, size.y >= 4, d == 2 || size.z >= 4 else {
            throw RegError.invalidHeader(path: path, field: field + "/TransformFixedParameters", reason: "a cubic B-spline grid needs at least 4 control points along each axis")
        }
        for i in 0..<n { for a in 0..<d { vectors.vectors[3 * i + a] = Float(p[a * n + i]) } }
        return .bspline(lattice: grid, coefficients: vectors)
    }

    /// Every transform of an ITK `.txt`/`.tfm`, ANTs `.mat`, ITK `.h5` or elastix parameter
    /// file, first applied to a fixed-space point first.
    public static func readTransforms(_ path: String) throws -> [FileTransform] {
        let lower = path.lowercased()
        if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { return try HDF5TransformFile.read(path) }
        if ElastixParameterFile.isElastix(path) { return try ElastixParameterFile.read(path) }
        return try read(path).reversed().map { .linear($0) }
    }

    static func versorMatrix(_ v: SIMD3<Double>, path: String) throws -> Matrix3 {
        let n2 = (v * v).sum()
        guard n2 <= 1 + 1e-12 else {
            throw RegError.invalidHeader(path: path, field: "Parameters", reason: "versor norm exceeds 1")
        }
        let w = max(0, 1 - n2).squareRoot(), (x, y, z) = (v.x, v.y, v.z)
        return Matrix3(rows: SIMD3(1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
                       SIMD3(2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
                       SIMD3(2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)))
    }

    // MARK: ITK text

    static func readText(_ text: String, path: String) throws -> [LinearTransformRecord] {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first?.hasPrefix("#Insight Transform File") == true else {
            throw RegError.invalidHeader(path: path, field: "magic", reason: "not an ITK transform file (no '#Insight Transform File' line)")
        }
        var out: [LinearTransformRecord] = []
        var type: String?, parameters: [Double]?
        func finish(fixed: [Double]) throws {
            if let t = type, let p = parameters { out.append(try record(type: t, parameters: p, fixed: fixed, path: path)) }
            type = nil; parameters = nil
        }
        for line in lines where !line.hasPrefix("#") && !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "Transform":
                if type != nil { try finish(fixed: []) }
                type = value.hasPrefix("CompositeTransform") ? nil : value
            case "Parameters":
                parameters = try numbers(value, field: "Parameters", path: path)
                if type?.hasPrefix("TranslationTransform") == true || type?.hasPrefix("IdentityTransform") == true { try finish(fixed: []) }
            case "FixedParameters":
                try finish(fixed: try numbers(value, field: "FixedParameters", path: path))
            default:
                continue
            }
        }
        try finish(fixed: [])
        guard !out.isEmpty else {
            throw RegError.invalidHeader(path: path, field: "Transform", reason: "no transform found")
        }
        return out
    }

    static func numbers(_ s: String, field: String, path: String) throws -> [Double] {
        try s.split(whereSeparator: { $0 == " " || $0 == "\t" }).map {
            guard let v = Double($0), v.isFinite else {
                throw RegError.invalidHeader(path: path, field: field, reason: "'\($0)' is not a finite number")
            }
            return v
        }
    }

    static func text(_ transforms: [LinearTransformRecord]) -> String {
        var s = "#Insight Transform File V1.0\n"
        var index = 0
        if transforms.count > 1 {
            let d = transforms[0].dimension
            s += "#Transform 0\nTransform: CompositeTransform_double_\(d)_\(d)\n"
            index = 1
        }
        for t in transforms {
            let (p, f) = affineParameters(t)
            s += "#Transform \(index)\nTransform: AffineTransform_double_\(t.dimension)_\(t.dimension)\n"
            s += "Parameters: " + p.map(format).joined(separator: " ") + "\n"
            s += "FixedParameters: " + f.map(format).joined(separator: " ") + "\n"
            index += 1
        }
        return s
    }

    static func format(_ v: Double) -> String { String(format: "%.17g", v == 0 ? 0 : v) }

    // MARK: MATLAB v4 (.mat)

    static func matlabBytes(_ t: LinearTransformRecord) -> [UInt8] {
        let (p, f) = affineParameters(t)
        return matlabVariable("AffineTransform_double_\(t.dimension)_\(t.dimension)", p) + matlabVariable("fixed", f)
    }

    /// A little-endian double column vector: type 0 (MOPT = 0000), rows, 1 column, real, name.
    static func matlabVariable(_ name: String, _ values: [Double]) -> [UInt8] {
        let nameBytes = Array(name.utf8) + [0]
        var w = ByteWriter(count: 20 + nameBytes.count + 8 * values.count)
        w.put(Int32(0), at: 0)
        w.put(Int32(values.count), at: 4)
        w.put(Int32(1), at: 8)
        w.put(Int32(0), at: 12)
        w.put(Int32(nameBytes.count), at: 16)
        for (k, b) in nameBytes.enumerated() { w.bytes[20 + k] = b }
        for (k, v) in values.enumerated() { w.put(v, at: 20 + nameBytes.count + 8 * k) }
        return w.bytes
    }

    static func readMatlab(_ bytes: [UInt8], path: String) throws -> [LinearTransformRecord] {
        var offset = 0
        var variables: [(String, [Double])] = []
        while offset < bytes.count {
            guard offset + 20 <= bytes.count else { throw RegError.truncatedData(path: path, expectedBytes: offset + 20, foundBytes: bytes.count) }
            // The type's thousands digit is the byte order: 0 little-endian, 1 big-endian.
            let little = ByteReader(bytes: bytes, bigEndian: false)
            var type = Int(little.i32(offset))
            var reader = little
            if type < 0 || type > 4052 {
                reader = ByteReader(bytes: bytes, bigEndian: true)
                type = Int(reader.i32(offset))
            }
            let order = (type / 1000) % 10, precision = (type / 10) % 10, kind = type % 10
            guard order <= 1, kind == 0, type / 100 % 10 == 0 else {
                throw RegError.invalidHeader(path: path, field: "MATLAB type", reason: "unsupported type code \(type); expected a numeric matrix")
            }
            reader = ByteReader(bytes: bytes, bigEndian: order == 1)
            let rows = Int(reader.i32(offset + 4)), cols = Int(reader.i32(offset + 8))
            let imaginary = Int(reader.i32(offset + 12)), nameLength = Int(reader.i32(offset + 16))
            let width = [8, 4, 4, 2, 2, 1][safe: precision] ?? 0
            guard rows >= 0, cols >= 0, nameLength > 0, nameLength < 256, width > 0, imaginary == 0 else {
                throw RegError.invalidHeader(path: path, field: "MATLAB header", reason: "bad sizes at byte \(offset)")
            }
            guard offset + 20 + nameLength <= bytes.count else {
                throw RegError.invalidHeader(path: path, field: "MATLAB header", reason: "the variable name runs past the end of the file")
            }
            let name = reader.string(offset + 20, nameLength)
            let dataStart = offset + 20 + nameLength
            let (count, o1) = rows.multipliedReportingOverflow(by: cols), (size, o2) = count.multipliedReportingOverflow(by: width)
            guard !o1, !o2, size <= bytes.count - dataStart else {
                throw RegError.invalidHeader(path: path, field: "MATLAB variable \(name)",
                                             reason: "declares \(rows) × \(cols) values, more than the \(bytes.count - dataStart) bytes left in the file")
            }
            let end = dataStart + size
            let values: [Double] = (0..<(rows * cols)).map { k in
                let o = dataStart + k * width
                switch precision {
                case 0: return reader.f64(o)
                case 1: return Double(reader.f32(o))
                case 2: return Double(reader.i32(o))
                case 3: return Double(reader.i16(o))
                case 4: return Double(UInt16(bitPattern: reader.i16(o)))
                default: return Double(reader.u8(o))
                }
            }
            variables.append((name, values))
            offset = end
        }
        guard let transform = variables.first(where: { $0.0 != "fixed" && $0.0 != "m_FixedParameters" }) else {
            throw RegError.invalidHeader(path: path, field: "variables", reason: "no transform variable found")
        }
        let fixed = variables.first { $0.0 == "fixed" || $0.0 == "m_FixedParameters" }?.1 ?? []
        return [try record(type: transform.0, parameters: transform.1, fixed: fixed, path: path)]
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
