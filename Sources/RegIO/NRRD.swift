import RegCore
import Foundation

/// NRRD (`.nrrd` with attached data, `.nhdr` with a detached data file).
///
/// Reads `space` (LPS, RAS, LAS, …; converted to LPS), `space dimension`, `space directions`,
/// `space origin`, `spacings`, `kinds` (one non-spatial axis holds the components), `endian`,
/// `encoding` raw, gzip or ascii, `data file` (single, `LIST`, or a numbered pattern),
/// `byte skip` and `line skip`.
enum NRRD {
    static let typeNames: [String: VoxelType] = {
        var t: [String: VoxelType] = [:]
        for n in ["signed char", "int8", "int8_t"] { t[n] = .int8 }
        for n in ["uchar", "unsigned char", "uint8", "uint8_t"] { t[n] = .uint8 }
        for n in ["short", "short int", "signed short", "signed short int", "int16", "int16_t"] { t[n] = .int16 }
        for n in ["ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"] { t[n] = .uint16 }
        for n in ["int", "signed int", "int32", "int32_t"] { t[n] = .int32 }
        for n in ["uint", "unsigned int", "uint32", "uint32_t"] { t[n] = .uint32 }
        t["float"] = .float32
        t["double"] = .float64
        return t
    }()

    /// Sign flips that take a named space to LPS.
    static func lpsFlip(space: String) -> SIMD3<Double>? {
        switch space.lowercased() {
        case "left-posterior-superior", "lps", "3d-right-handed", "3d-left-handed", "scanner-xyz": return SIMD3(1, 1, 1)
        case "right-anterior-superior", "ras": return SIMD3(-1, -1, 1)
        case "left-anterior-superior", "las": return SIMD3(1, -1, 1)
        case "right-posterior-superior", "rps": return SIMD3(-1, 1, 1)
        default: return nil
        }
    }

    static func read(_ path: String) throws -> LoadedImage {
        let bytes = try FileBytes.read(path)
        guard bytes.count >= 8, String(decoding: bytes[0..<4], as: UTF8.self) == "NRRD" else {
            throw RegError.invalidHeader(path: path, field: "magic", reason: "file does not start with 'NRRD000n'")
        }
        var fields: [String: String] = [:]
        var position = 0
        var lineNo = 0
        var listFiles: [String] = []
        var inList = false
        while position < bytes.count {
            let end = bytes[position...].firstIndex(of: 10) ?? bytes.count
            let line = String(decoding: bytes[position..<end], as: UTF8.self).trimmingCharacters(in: ["\r"])
            position = min(bytes.count, end + 1)
            lineNo += 1
            if lineNo == 1 { continue }
            if inList { if !line.isEmpty { listFiles.append(line) }; continue }
            if line.isEmpty { break }
            if line.hasPrefix("#") { continue }
            if line.contains(":=") { continue }   // key/value pairs carry no geometry
            guard let colon = line.range(of: ": ") ?? line.range(of: ":") else {
                throw RegError.invalidHeader(path: path, field: "line \(lineNo)", reason: "'\(line.prefix(60))' is not 'field: value'")
            }
            let key = line[..<colon.lowerBound].lowercased().trimmingCharacters(in: .whitespaces)
            let value = line[colon.upperBound...].trimmingCharacters(in: .whitespaces)
            fields[key] = value
            if (key == "data file" || key == "datafile"), value.hasPrefix("LIST") { inList = true }
        }
        func need(_ k: String) throws -> String {
            guard let v = fields[k] else { throw RegError.invalidHeader(path: path, field: k, reason: "missing") }
            return v
        }
        let typeName = try need("type")
        guard let type = typeNames[typeName.lowercased()] else {
            throw RegError.unsupportedDatatype(path: path, field: "type", value: typeName)
        }
        guard let nd = Int(try need("dimension")), (1...4).contains(nd) else {
            throw RegError.invalidHeader(path: path, field: "dimension", reason: "must be 1…4, found '\(fields["dimension"]!)'")
        }
        let sizes = try HeaderFields.sizes(try need("sizes"), field: "sizes", path: path, count: nd)
        let kinds = fields["kinds"].map { $0.split(separator: " ").map { $0.lowercased() } } ?? []
        let directionsText = fields["space directions"]
        let directionTokens = directionsText.map { tokens(ofDirections: $0) } ?? []
        // The component axis: 'none' in space directions, or a non-spatial kind.
        var componentAxis: Int?
        for a in 0..<nd {
            let isNone = a < directionTokens.count && directionTokens[a] == "none"
            let kind = a < kinds.count ? kinds[a] : "domain"
            let nonSpatial = !["domain", "space", "time", "???", "none"].contains(kind) || (nd == 4 && kind == "time")
            if isNone || (directionTokens.isEmpty && nonSpatial && nd > 1) {
                guard componentAxis == nil else {
                    throw RegError.invalidHeader(path: path, field: "kinds", reason: "more than one non-spatial axis")
                }
                componentAxis = a
            }
        }
        if componentAxis == nil, nd == 4 { componentAxis = 3 }
        if let c = componentAxis, c != 0, c != nd - 1 {
            throw RegError.invalidHeader(path: path, field: "kinds", reason: "the component axis must be first or last, found axis \(c)")
        }
        let spatialAxes = (0..<nd).filter { $0 != componentAxis }
        guard spatialAxes.count <= 3, !spatialAxes.isEmpty else {
            throw RegError.invalidHeader(path: path, field: "dimension", reason: "needs 1 to 3 spatial axes")
        }
        let components = componentAxis.map { sizes[$0] } ?? 1

        var flip = SIMD3<Double>(1, 1, 1)
        var spaceDim = spatialAxes.count
        if let s = fields["space"] {
            guard let f = lpsFlip(space: s) else { throw RegError.invalidHeader(path: path, field: "space", reason: "unsupported space '\(s)'") }
            flip = f
            spaceDim = 3
        } else if let sd = fields["space dimension"] {
            guard let v = Int(sd), (1...3).contains(v) else {
                throw RegError.invalidHeader(path: path, field: "space dimension", reason: "must be 1…3, found '\(sd)'")
            }
            spaceDim = v
        }
        var size = SIMD3(1, 1, 1)
        var spacing = SIMD3<Double>(1, 1, 1)
        var direction = Matrix3.identity
        for (k, a) in spatialAxes.enumerated() {
            size[k] = sizes[a]
            if !directionTokens.isEmpty {
                guard a < directionTokens.count else {
                    throw RegError.invalidHeader(path: path, field: "space directions", reason: "expected \(nd) entries, found \(directionTokens.count)")
                }
                let v = try vector(directionTokens[a], field: "space directions", path: path, count: spaceDim)
                var c = SIMD3<Double>.zero
                for i in 0..<spaceDim { c[i] = v[i] * flip[i] }
                let n = (c * c).sum().squareRoot()
                guard n > 0, n.isFinite else {
                    throw RegError.invalidHeader(path: path, field: "space directions", reason: "axis \(a) has zero or non-finite length")
                }
                spacing[k] = n
                for i in 0..<3 { direction[i, k] = c[i] / n }
            }
        }
        if directionTokens.isEmpty, let sp = fields["spacings"] {
            let v = sp.split(separator: " ").map { Double($0) ?? .nan }
            for (k, a) in spatialAxes.enumerated() where a < v.count && !v[a].isNaN { spacing[k] = v[a] }
        }
        if spatialAxes.count < 3 {
            // Complete the direction of a 2-D image with the axis normal to its plane.
            for k in spatialAxes.count..<3 { for i in 0..<3 { direction[i, k] = i == k ? 1 : 0 } }
        }
        var origin = SIMD3<Double>.zero
        if let o = fields["space origin"] {
            let v = try vector(o, field: "space origin", path: path, count: spaceDim)
            for i in 0..<spaceDim { origin[i] = v[i] * flip[i] }
        }
        let geometry: Geometry
        do {
            geometry = try Geometry(size: size, spacing: spacing, origin: origin, direction: direction,
                                    dimension: spatialAxes.count == 3 ? 3 : 2)
        } catch let e as RegError { throw e.attributed(to: path) }
        let (count, o1) = geometry.voxelCount.multipliedReportingOverflow(by: components)
        let (nbytes, o2) = count.multipliedReportingOverflow(by: type.byteSize)
        guard !o1, !o2 else { throw RegError.invalidHeader(path: path, field: "sizes", reason: "voxel count overflows") }

        var payload: [UInt8]
        if let dataFile = fields["data file"] ?? fields["datafile"] {
            let dir = HeaderFields.directory(of: path)
            let files: [String]
            let slices = geometry.dimension == 2 ? geometry.size.y : geometry.size.z
            if dataFile.hasPrefix("LIST") { files = listFiles } else if dataFile.contains("%") {
                files = try MetaImage.patternFiles(dataFile, field: "data file", path: path, slices: slices)
            } else { files = [dataFile] }
            guard files.count <= max(1, slices) else {
                throw RegError.invalidHeader(path: path, field: "data file", reason: "lists \(files.count) data files for \(slices) slices")
            }
            payload = []
            for f in files {
                let full = f.hasPrefix("/") ? f : dir + f
                do { payload += try FileBytes.read(full) } catch {
                    throw RegError.invalidHeader(path: path, field: "data file", reason: "'\(full)' cannot be read (\(error))")
                }
            }
        } else {
            payload = Array(bytes[position...])
        }
        if let ls = fields["line skip"].flatMap(Int.init), ls > 0 {
            var skipped = 0, i = 0
            while skipped < ls, i < payload.count { if payload[i] == 10 { skipped += 1 }; i += 1 }
            payload.removeFirst(i)
        }
        let encoding = (fields["encoding"] ?? "raw").lowercased()
        let byteSkip = fields["byte skip"].flatMap(Int.init) ?? 0
        switch encoding {
        case "raw":
            if byteSkip == -1 { payload = Array(payload.suffix(nbytes)) } else if byteSkip > 0 { payload = Array(payload.dropFirst(byteSkip)) }
        case "gzip", "gz":
            payload = try Gzip.inflate(payload, path: path, limit: nbytes + max(0, byteSkip), sizeHint: nbytes)
            if byteSkip > 0 { payload = Array(payload.dropFirst(byteSkip)) }
        case "ascii", "text", "txt":
            payload = try asciiPayload(payload, type: type, count: count, path: path)
        default:
            throw RegError.invalidHeader(path: path, field: "encoding", reason: "unsupported encoding '\(encoding)'; SwiftReg reads raw, gzip and ascii")
        }
        guard payload.count >= nbytes else { throw RegError.truncatedData(path: path, expectedBytes: nbytes, foundBytes: payload.count) }
        let bigEndian = (fields["endian"] ?? "little").lowercased() == "big"
        let image = payload.withUnsafeBytes {
            VoxelCodec.decode($0, type: type, geometry: geometry, components: components, bigEndian: bigEndian,
                              planar: componentAxis != nil && componentAxis == nd - 1 && nd > 1 && components > 1 && componentAxis != 0)
        }
        return LoadedImage(image: image, info: ImageFileInfo(path: path, format: .nrrd, storedType: type.rawValue))
    }

    /// "(1,0,0) (0,1,0) none" → ["1,0,0", "0,1,0", "none"].
    static func tokens(ofDirections text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var depth = 0
        for ch in text {
            if ch == "(" { depth += 1; current = ""; continue }
            if ch == ")" { depth -= 1; out.append(current); current = ""; continue }
            if depth > 0 { current.append(ch); continue }
            if ch == " " || ch == "\t" { if !current.isEmpty { out.append(current); current = "" }; continue }
            current.append(ch)
        }
        if !current.isEmpty { out.append(current) }
        return out.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func vector(_ text: String, field: String, path: String, count: Int) throws -> [Double] {
        let inner = text.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        let v = try HeaderFields.numbers(inner, field: field, path: path, count: count)
        guard v.allSatisfy(\.isFinite) else { throw RegError.invalidHeader(path: path, field: field, reason: "non-finite value in '\(text)'") }
        return v
    }

    static func asciiPayload(_ bytes: [UInt8], type: VoxelType, count: Int, path: String) throws -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        let values = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "," }).prefix(count)
        guard values.count == count else { throw RegError.truncatedData(path: path, expectedBytes: count, foundBytes: values.count) }
        var doubles = [Double]()
        doubles.reserveCapacity(count)
        for v in values {
            guard let d = Double(v) else { throw RegError.invalidHeader(path: path, field: "data", reason: "'\(v)' is not a number") }
            doubles.append(d)
        }
        let g = try! Geometry(size: SIMD3(count, 1, 1))
        let image = AnyImage(try! Image<Double>(geometry: g, voxels: doubles)).converted(to: type)
        return VoxelCodec.encode(image, planar: false)
    }

    static func write(_ image: AnyImage, to path: String, options: ImageWriteOptions) throws {
        let g = image.geometry
        let nd = g.dimension
        let f = HeaderFields.format
        let c = image.components
        var sizes = (0..<nd).map { String(g.size[$0]) }
        var dirs = (0..<nd).map { j in "(" + (0..<nd).map { i in f(g.direction[i, j] * g.spacing[j]) }.joined(separator: ",") + ")" }
        var kinds = [String](repeating: "domain", count: nd)
        if c > 1 { sizes.insert(String(c), at: 0); dirs.insert("none", at: 0); kinds.insert("vector", at: 0) }
        var lines = ["NRRD0004", "# written by SwiftReg", "type: \(nrrdTypeName(image.voxelType))",
                     "dimension: \(sizes.count)"]
        lines.append(nd == 3 ? "space: left-posterior-superior" : "space dimension: 2")
        lines.append("sizes: " + sizes.joined(separator: " "))
        lines.append("space directions: " + dirs.joined(separator: " "))
        lines.append("kinds: " + kinds.joined(separator: " "))
        lines.append("endian: little")
        lines.append("encoding: " + (options.compress ? "gzip" : "raw"))
        lines.append("space origin: (" + (0..<nd).map { f(g.origin[$0]) }.joined(separator: ",") + ")")
        var data = VoxelCodec.encode(image, planar: false)
        if options.compress { data = Gzip.deflate([data], level: options.compressionLevel, strategy: options.zlibStrategy) }
        if path.lowercased().hasSuffix(".nhdr") {
            let dataName = String(HeaderFields.fileName(of: path).dropLast(5)) + (options.compress ? ".raw.gz" : ".raw")
            lines.append("data file: \(dataName)")
            try FileBytes.writeAtomically([data], to: HeaderFields.directory(of: path) + dataName)
            try FileBytes.writeAtomically([Array((lines.joined(separator: "\n") + "\n").utf8)], to: path)
        } else {
            try FileBytes.writeAtomically([Array((lines.joined(separator: "\n") + "\n\n").utf8), data], to: path)
        }
    }

    static func nrrdTypeName(_ t: VoxelType) -> String {
        switch t {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .int16: return "int16"
        case .uint16: return "uint16"
        case .int32: return "int32"
        case .uint32: return "uint32"
        case .float32: return "float"
        case .float64: return "double"
        }
    }
}
