import CHDF5
import Foundation
import RegCore

/// ITK's HDF5 transform files (`.h5`, as `antsRegistration --write-composite-transform` and
/// SimpleITK's `WriteTransform` write them), through libhdf5: `/TransformGroup/N/TransformType`,
/// `TransformParameters` and `TransformFixedParameters` per transform; a first group of type
/// `CompositeTransform_double_D_D` makes the rest one composite, whose last transform ITK applies first.
///
/// Transforms read: the linear types of `TransformFile`, `DisplacementFieldTransform` (fixed
/// parameters: size, origin, spacing, direction row by row) and `BSplineTransform` (the
/// coefficient grid, in the same layout).
///
/// ```swift
/// let chain = try HDF5TransformFile.read("ants_Composite.h5")     // first applied first
/// try HDF5TransformFile.write(chain, to: "copy.h5")
/// ```
public enum HDF5TransformFile {
    /// Debian's libhdf5 is built without thread safety: one call into it at a time.
    static let library = NSLock()

    /// The file's transforms, first applied to a fixed-space point first.
    public static func read(_ path: String) throws -> [FileTransform] {
        library.lock()
        defer { library.unlock() }
        swiftreg_h5_quiet()
        guard FileManager.default.fileExists(atPath: path) else {
            throw RegError.unreadableFile(path: path, reason: "no such file")
        }
        let file = swiftreg_h5_open(path)
        guard file >= 0 else { throw RegError.invalidHeader(path: path, field: "format", reason: "not an HDF5 file") }
        defer { _ = swiftreg_h5_close(file) }
        guard swiftreg_h5_exists(file, "/TransformGroup") == 1 else {
            throw RegError.invalidHeader(path: path, field: "/TransformGroup", reason: "missing: not an ITK transform file")
        }
        var listed: [FileTransform] = []
        var index = 0
        while swiftreg_h5_exists(file, "/TransformGroup/\(index)") == 1 {
            let group = "/TransformGroup/\(index)"
            let type = try string(file, group + "/TransformType", path: path)
            index += 1
            if type.hasPrefix("CompositeTransform") {
                guard index == 1 else {
                    throw RegError.invalidHeader(path: path, field: group + "/TransformType", reason: "a composite transform may only come first")
                }
                continue
            }
            let parameters = try doubles(file, group, names: ["TransformParameters", "TranformParameters"], path: path)
            let fixed = try doubles(file, group, names: ["TransformFixedParameters", "TranformFixedParameters"], path: path)
            listed.append(try TransformFile.transform(type: type, parameters: parameters, fixed: fixed, path: path, field: group))
        }
        guard !listed.isEmpty else {
            throw RegError.invalidHeader(path: path, field: "/TransformGroup", reason: "no transform found")
        }
        return listed.reversed()
    }

    /// Writes `transforms` (first applied first): one transform as it is, several as an ITK
    /// composite, so that `antsApplyTransforms -t FILE` and `sitk.ReadTransform(FILE)` apply them
    /// in the same order.
    public static func write(_ transforms: [FileTransform], to path: String) throws {
        guard !transforms.isEmpty else {
            throw RegError.invalidArgument(name: "transforms", reason: "nothing to write to \(path)")
        }
        let dimension = transforms.map(Self.dimension).max()!
        let bytes = try image(of: transforms, dimension: dimension, path: path)
        try FileBytes.writeAtomically([bytes], to: path)
    }

    /// The bytes of an ITK transform file holding `transforms`, made in memory.
    static func image(of transforms: [FileTransform], dimension: Int, path: String) throws -> [UInt8] {
        library.lock()
        defer { library.unlock() }
        swiftreg_h5_quiet()
        let file = swiftreg_h5_create_in_memory()
        guard file >= 0 else { throw RegError.unwritableFile(path: path, reason: "libhdf5 could not create a file in memory") }
        defer { _ = swiftreg_h5_close(file) }
        func check(_ status: Int32, _ what: String) throws {
            guard status == 0 else { throw RegError.unwritableFile(path: path, reason: "libhdf5 failed to write \(what)") }
        }
        try check(swiftreg_h5_write_string(file, "/HDFVersion", "1.10.8"), "/HDFVersion")
        try check(swiftreg_h5_write_string(file, "/ItkVersion", "5.3.0"), "/ItkVersion")
        try check(swiftreg_h5_create_group(file, "/TransformGroup"), "/TransformGroup")
        var groups: [(type: String, parameters: [Double], fixed: [Double])] = transforms.reversed().map { itkParameters($0, dimension: dimension) }
        if transforms.count > 1 {
            groups.insert(("CompositeTransform_double_\(dimension)_\(dimension)", [], []), at: 0)
        }
        for (i, g) in groups.enumerated() {
            let group = "/TransformGroup/\(i)"
            try check(swiftreg_h5_create_group(file, group), group)
            try check(swiftreg_h5_write_string(file, group + "/TransformType", g.type), group + "/TransformType")
            guard !g.type.hasPrefix("CompositeTransform") else { continue }
            try check(swiftreg_h5_write_doubles(file, group + "/TransformFixedParameters", g.fixed, Int64(g.fixed.count), 0), group + "/TransformFixedParameters")
            try check(swiftreg_h5_write_doubles(file, group + "/TransformParameters", g.parameters, Int64(g.parameters.count), 1), group + "/TransformParameters")
        }
        let size = swiftreg_h5_image(file, nil, 0)
        guard size > 0 else { throw RegError.unwritableFile(path: path, reason: "libhdf5 could not finish the file") }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        guard bytes.withUnsafeMutableBytes({ swiftreg_h5_image(file, $0.baseAddress, size) }) == size else {
            throw RegError.unwritableFile(path: path, reason: "libhdf5 could not copy the file out of memory")
        }
        return bytes
    }

    static func dimension(_ t: FileTransform) -> Int {
        switch t {
        case .linear(let record): return record.dimension
        case .bspline(let lattice, _): return lattice.dimension
        case .displacement(let field): return field.geometry.dimension
        }
    }

    /// ITK's type name, parameters and fixed parameters for one transform.
    static func itkParameters(_ t: FileTransform, dimension d: Int) -> (type: String, parameters: [Double], fixed: [Double]) {
        switch t {
        case .linear(var record):
            record.dimension = d
            let (p, f) = TransformFile.affineParameters(record)
            return ("AffineTransform_double_\(d)_\(d)", p, f)
        case .displacement(let field):
            let n = field.geometry.size.x * field.geometry.size.y * field.geometry.size.z
            var p = [Double](repeating: 0, count: d * n)
            for i in 0..<n { for a in 0..<d { p[d * i + a] = Double(field.vectors[3 * i + a]) } }
            return ("DisplacementFieldTransform_double_\(d)_\(d)", p, gridParameters(field.geometry, dimension: d))
        case .bspline(let lattice, let coefficients):
            let n = lattice.size.x * lattice.size.y * lattice.size.z
            var p = [Double](repeating: 0, count: d * n)
            for i in 0..<n { for a in 0..<d { p[a * n + i] = Double(coefficients.vectors[3 * i + a]) } }
            return ("BSplineTransform_double_\(d)_\(d)", p, gridParameters(lattice, dimension: d))
        }
    }

    /// size, origin, spacing, direction (row by row) of a grid, ITK's fixed parameters for fields and B-splines.
    static func gridParameters(_ g: Geometry, dimension d: Int) -> [Double] {
        var f: [Double] = (0..<d).map { Double(g.size[$0]) } + (0..<d).map { g.origin[$0] } + (0..<d).map { g.spacing[$0] }
        for r in 0..<d { for c in 0..<d { f.append(g.direction[r, c]) } }
        return f
    }

    static func string(_ file: Int64, _ name: String, path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let n = swiftreg_h5_read_string(file, name, &buffer, Int64(buffer.count))
        guard n >= 0 else { throw RegError.invalidHeader(path: path, field: name, reason: "missing, or not a string") }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func doubles(_ file: Int64, _ group: String, names: [String], path: String) throws -> [Double] {
        guard let name = names.map({ group + "/" + $0 }).first(where: { swiftreg_h5_exists(file, $0) == 1 }) else {
            throw RegError.invalidHeader(path: path, field: group + "/" + names[0], reason: "missing")
        }
        let count = swiftreg_h5_length(file, name)
        guard count >= 0, count <= 1 << 31 else {
            throw RegError.invalidHeader(path: path, field: name, reason: "cannot read its length, or it holds more than 2³¹ values")
        }
        var values = [Double](repeating: 0, count: Int(count))
        guard count == 0 || swiftreg_h5_read_doubles(file, name, &values, count) == 0 else {
            throw RegError.invalidHeader(path: path, field: name, reason: "not a list of numbers")
        }
        if let bad = values.first(where: { !$0.isFinite }) {
            throw RegError.invalidHeader(path: path, field: name, reason: "holds \(bad); parameters must be finite")
        }
        return values
    }
}
