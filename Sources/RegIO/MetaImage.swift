import RegCore
/// MetaImage (`.mha` with data inline, `.mhd` with a separate data file).
///
/// `TransformMatrix` holds the direction cosines column by column, as ITK writes it;
/// `Offset` (or `Position`/`Origin`) is the LPS origin. Data may be raw or zlib-compressed
/// (`CompressedData = True`), in one file, a `LIST` of slice files, or a numbered pattern.
enum MetaImage {
    static let elementTypes: [String: VoxelType] = [
        "MET_UCHAR": .uint8, "MET_CHAR": .int8, "MET_SHORT": .int16, "MET_USHORT": .uint16,
        "MET_INT": .int32, "MET_UINT": .uint32, "MET_LONG": .int32, "MET_ULONG": .uint32,
        "MET_FLOAT": .float32, "MET_DOUBLE": .float64,
    ]

    static func name(of type: VoxelType) -> String {
        switch type {
        case .uint8: return "MET_UCHAR"
        case .int8: return "MET_CHAR"
        case .int16: return "MET_SHORT"
        case .uint16: return "MET_USHORT"
        case .int32: return "MET_INT"
        case .uint32: return "MET_UINT"
        case .float32: return "MET_FLOAT"
        case .float64: return "MET_DOUBLE"
        }
    }

    static func read(_ path: String) throws -> LoadedImage {
        let bytes = try FileBytes.read(path)
        // Parse "Key = Value" lines up to and including ElementDataFile.
        var fields: [String: String] = [:]
        var position = 0
        var dataFileLines: [String] = []
        var sawDataFile = false
        while position < bytes.count {
            let end = bytes[position...].firstIndex(of: 10) ?? bytes.count
            let line = String(decoding: bytes[position..<end], as: UTF8.self).trimmingCharacters(in: [" ", "\r", "\t"])
            position = min(bytes.count, end + 1)
            if sawDataFile {
                // LIST entries follow the ElementDataFile line in a .mhd.
                if !line.isEmpty { dataFileLines.append(line) }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                if line.isEmpty { continue }
                throw RegError.invalidHeader(path: path, field: "header", reason: "line '\(line.prefix(60))' is not 'Key = Value'")
            }
            let key = line[..<eq].trimmingCharacters(in: [" ", "\t"])
            let value = line[line.index(after: eq)...].trimmingCharacters(in: [" ", "\t"])
            fields[key] = value
            if key == "ElementDataFile" {
                if value == "LOCAL" || !value.hasPrefix("LIST") { break }
                sawDataFile = true
            }
        }
        guard fields["ObjectType"].map({ $0 == "Image" }) ?? true else {
            throw RegError.invalidHeader(path: path, field: "ObjectType", reason: "expected Image, found \(fields["ObjectType"]!)")
        }
        guard let ndText = fields["NDims"], let nd = Int(ndText), (1...4).contains(nd) else {
            throw RegError.invalidHeader(path: path, field: "NDims", reason: "must be 1…4, found '\(fields["NDims"] ?? "(missing)")'")
        }
        guard let dimText = fields["DimSize"] else { throw RegError.invalidHeader(path: path, field: "DimSize", reason: "missing") }
        let dims = try HeaderFields.sizes(dimText, field: "DimSize", path: path, count: nd)
        let spatial = min(nd, 3)
        var size = SIMD3(1, 1, 1)
        for a in 0..<spatial { size[a] = dims[a] }
        let series = nd == 4 ? dims[3] : 1
        var spacing = SIMD3<Double>(1, 1, 1)
        if let s = fields["ElementSpacing"] ?? fields["ElementSize"] {
            let v = try HeaderFields.numbers(s, field: "ElementSpacing", path: path, count: spatial)
            for a in 0..<spatial { spacing[a] = v[a] }
        }
        var origin = SIMD3<Double>.zero
        if let o = fields["Offset"] ?? fields["Position"] ?? fields["Origin"] {
            let v = try HeaderFields.numbers(o, field: "Offset", path: path, count: spatial)
            for a in 0..<spatial { origin[a] = v[a] }
        }
        var direction = Matrix3.identity
        if let t = fields["TransformMatrix"] ?? fields["Rotation"] ?? fields["Orientation"] {
            let v = try HeaderFields.numbers(t, field: "TransformMatrix", path: path, count: nd * nd)
            for j in 0..<spatial { for i in 0..<spatial { direction[i, j] = v[j * nd + i] } }
        }
        guard let typeName = fields["ElementType"] else { throw RegError.invalidHeader(path: path, field: "ElementType", reason: "missing") }
        guard let type = elementTypes[typeName] else {
            throw RegError.unsupportedDatatype(path: path, field: "ElementType", value: typeName)
        }
        let channels = Int(fields["ElementNumberOfChannels"] ?? "1") ?? 0
        guard channels >= 1 else { throw RegError.invalidHeader(path: path, field: "ElementNumberOfChannels", reason: "must be ≥ 1") }
        let msb = (fields["BinaryDataByteOrderMSB"] ?? fields["ElementByteOrderMSB"] ?? "False").lowercased() == "true"
        let compressed = (fields["CompressedData"] ?? "False").lowercased() == "true"
        let geometry: Geometry
        do {
            geometry = try Geometry(size: size, spacing: spacing, origin: origin, direction: direction, dimension: spatial == 3 ? 3 : 2)
        } catch let e as RegError { throw e.attributed(to: path) }
        let components = channels * series
        let (count, o1) = geometry.voxelCount.multipliedReportingOverflow(by: components)
        let (nbytes, o2) = count.multipliedReportingOverflow(by: type.byteSize)
        guard !o1, !o2 else { throw RegError.invalidHeader(path: path, field: "DimSize", reason: "voxel count overflows") }

        guard let dataFile = fields["ElementDataFile"] else {
            throw RegError.invalidHeader(path: path, field: "ElementDataFile", reason: "missing")
        }
        var payload: [UInt8]
        if dataFile == "LOCAL" {
            payload = Array(bytes[position...])
        } else {
            let dir = HeaderFields.directory(of: path)
            let files: [String]
            if dataFile.hasPrefix("LIST") {
                files = dataFileLines
            } else if dataFile.contains("%") {
                files = try patternFiles(dataFile, field: "ElementDataFile", path: path, slices: dims.last ?? 1)
            } else {
                files = [dataFile]
            }
            guard files.count <= max(1, dims.last ?? 1) else {
                throw RegError.invalidHeader(path: path, field: "ElementDataFile", reason: "lists \(files.count) data files for \(dims.last ?? 1) slices")
            }
            // Uncompressed data needs no more than the voxels and a header; compressed data is
            // read whole (its files are regular, so finite).
            let skip = Int(fields["HeaderSize"] ?? "0") ?? 0
            let needed = compressed || skip < 0 ? Int.max : nbytes + skip
            payload = []
            for f in files {
                let full = f.hasPrefix("/") ? f : dir + f
                do { payload += try FileBytes.read(full, limit: needed == .max ? .max : max(0, needed - payload.count)) } catch {
                    throw RegError.invalidHeader(path: path, field: "ElementDataFile", reason: "data file '\(full)' cannot be read (\(error))")
                }
            }
        }
        if compressed {
            payload = try Gzip.inflate(payload, path: path, limit: nbytes, sizeHint: nbytes)
        } else if let hs = fields["HeaderSize"], let skip = Int(hs) {
            if skip == -1 { payload = Array(payload.suffix(nbytes)) } else if skip > 0 { payload = Array(payload.dropFirst(skip)) }
        }
        guard payload.count >= nbytes else { throw RegError.truncatedData(path: path, expectedBytes: nbytes, foundBytes: payload.count) }
        let image = payload.withUnsafeBytes {
            VoxelCodec.decode($0, type: type, geometry: geometry, components: components, bigEndian: msb, planar: series > 1)
        }
        return LoadedImage(image: image, info: ImageFileInfo(path: path, format: .metaImage, storedType: type.rawValue))
    }

    /// File names of a `name%03d.raw min max step` pattern, refused when it names more files
    /// than the image has `slices`.
    static func patternFiles(_ spec: String, field: String, path: String, slices: Int) throws -> [String] {
        let parts = spec.split(separator: " ").map(String.init)
        guard parts.count >= 3, let lo = Int(parts[1]), let hi = Int(parts[2]) else {
            throw RegError.invalidHeader(path: path, field: field, reason: "pattern needs 'format min max [step]', found '\(spec)'")
        }
        let step = parts.count > 3 ? (Int(parts[3]) ?? 1) : 1
        guard step > 0, hi >= lo else { throw RegError.invalidHeader(path: path, field: field, reason: "bad pattern range in '\(spec)'") }
        let count = (hi - lo) / step + 1
        guard count <= max(1, slices) else {
            throw RegError.invalidHeader(path: path, field: field, reason: "the pattern '\(spec)' names \(count) files for \(slices) slices")
        }
        return stride(from: lo, through: hi, by: step).map { String(format: parts[0], $0) }
    }

    static func write(_ image: AnyImage, to path: String, options: ImageWriteOptions) throws {
        let g = image.geometry
        let nd = g.dimension
        var lines = ["ObjectType = Image", "NDims = \(nd)", "BinaryData = True", "BinaryDataByteOrderMSB = False"]
        var data = VoxelCodec.encode(image, planar: false)
        if options.compress {
            data = Gzip.deflate([data], level: options.compressionLevel, strategy: options.zlibStrategy, zlibFraming: true)
            lines += ["CompressedData = True", "CompressedDataSize = \(data.count)"]
        } else {
            lines.append("CompressedData = False")
        }
        var matrix: [String] = []
        for j in 0..<nd { for i in 0..<nd { matrix.append(HeaderFields.format(g.direction[i, j])) } }
        let f = HeaderFields.format
        lines.append("TransformMatrix = " + matrix.joined(separator: " "))
        lines.append("Offset = " + (0..<nd).map { f(g.origin[$0]) }.joined(separator: " "))
        lines.append("CenterOfRotation = " + [String](repeating: "0", count: nd).joined(separator: " "))
        lines.append("AnatomicalOrientation = " + itkOrientationCode(g).prefix(nd))
        lines.append("ElementSpacing = " + (0..<nd).map { f(g.spacing[$0]) }.joined(separator: " "))
        lines.append("DimSize = " + (0..<nd).map { String(g.size[$0]) }.joined(separator: " "))
        if image.components > 1 { lines.append("ElementNumberOfChannels = \(image.components)") }
        lines.append("ElementType = \(name(of: image.voxelType))")
        if path.lowercased().hasSuffix(".mhd") {
            let rawName = String(HeaderFields.fileName(of: path).dropLast(4)) + (options.compress ? ".zraw" : ".raw")
            lines.append("ElementDataFile = \(rawName)")
            try FileBytes.writeAtomically([data], to: HeaderFields.directory(of: path) + rawName)
            try FileBytes.writeAtomically([Array((lines.joined(separator: "\n") + "\n").utf8)], to: path)
        } else {
            lines.append("ElementDataFile = LOCAL")
            try FileBytes.writeAtomically([Array((lines.joined(separator: "\n") + "\n").utf8), data], to: path)
        }
    }

    /// ITK's orientation letters (the side each axis comes *from*: identity LPS is "RAI").
    static func itkOrientationCode(_ g: Geometry) -> String {
        let opposite: [Character: Character] = ["L": "R", "R": "L", "P": "A", "A": "P", "S": "I", "I": "S"]
        return String(g.orientationCode.map { opposite[$0]! })
    }
}

import Foundation
