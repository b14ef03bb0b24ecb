import RegCore
import Foundation

/// NIfTI-1 and NIfTI-2 single files (`.nii`, `.nii.gz`).
///
/// Orientation follows ITK: the sform when its code is > 0 and the qform is absent or agrees,
/// else the qform, else a scaled identity; shear is dropped and reported. RAS header affines are
/// converted to LPS. Images with 2 or 3 components per voxel are written as 5-D vector images
/// (intent 1007, `dim[5]` = components, values as they are, LPS mm for displacements), as ITK
/// and ANTs write displacement fields; other multi-component images as 4-D series.
enum NIfTI {
    static let vectorIntent = 1007

    struct Header {
        var version: Int
        var bigEndian: Bool
        var dim: [Int]
        var datatype: Int
        var bitpix: Int
        var pixdim: [Double]
        var voxOffset: Int
        var sclSlope: Double
        var sclInter: Double
        var qformCode: Int
        var sformCode: Int
        var quatern: SIMD3<Double>
        var qoffset: SIMD3<Double>
        var srow: [SIMD4<Double>]
        var intentCode: Int
        var magic: String
    }

    static let datatypeCodes: [Int: VoxelType] = [
        2: .uint8, 4: .int16, 8: .int32, 16: .float32, 64: .float64, 256: .int8, 512: .uint16, 768: .uint32,
    ]
    static let unsupportedNames: [Int: String] = [
        1: "binary", 32: "complex64", 128: "rgb24", 1024: "int64", 1280: "uint64", 1536: "float128",
        1792: "complex128", 2048: "complex256", 2304: "rgba32",
    ]

    static func code(of type: VoxelType) -> Int { datatypeCodes.first { $0.value == type }!.key }

    // MARK: Reading

    static func read(_ path: String) throws -> LoadedImage {
        let raw = try FileBytes.read(path)
        guard Gzip.isGzip(raw) else { return try decode(header: try parseHeader(raw, path: path), bytes: raw, path: path) }
        // Inflate the header first, then no further than its voxels need: a small file whose
        // stream inflates to gigabytes (a decompression bomb) costs no more than its header says.
        let header = try parseHeader(try Gzip.inflate(raw, path: path, limit: 540), path: path)
        let bytes = try Gzip.inflate(raw, path: path, limit: declaredLength(of: header) ?? 540)
        return try decode(header: header, bytes: bytes, path: path)
    }

    /// `vox_offset` plus the voxel bytes `dim` and `datatype` declare (nil when they overflow).
    static func declaredLength(of h: Header) -> Int? {
        let bytesPerValue = datatypeCodes[h.datatype]?.byteSize ?? max(1, h.bitpix / 8)
        var total = max(bytesPerValue, 1)
        for i in 1...max(1, min(7, h.dim[0])) {
            let (next, overflow) = total.multipliedReportingOverflow(by: max(1, h.dim[i]))
            if overflow { return nil }
            total = next
        }
        let (length, overflow) = total.addingReportingOverflow(max(0, h.voxOffset))
        return overflow ? nil : length
    }

    static func parseHeader(_ bytes: [UInt8], path: String) throws -> Header {
        guard bytes.count >= 4 else {
            throw RegError.invalidHeader(path: path, field: "sizeof_hdr", reason: "file has \(bytes.count) bytes, too short for a NIfTI header")
        }
        let le = ByteReader(bytes: bytes, bigEndian: false)
        let be = ByteReader(bytes: bytes, bigEndian: true)
        let version: Int, r: ByteReader
        switch (le.i32(0), be.i32(0)) {
        case (348, _): (version, r) = (1, le)
        case (_, 348): (version, r) = (1, be)
        case (540, _): (version, r) = (2, le)
        case (_, 540): (version, r) = (2, be)
        default:
            throw RegError.invalidHeader(path: path, field: "sizeof_hdr", reason: "expected 348 (NIfTI-1) or 540 (NIfTI-2), found \(le.i32(0)); not a NIfTI file")
        }
        let headerSize = version == 1 ? 348 : 540
        guard bytes.count >= headerSize else {
            throw RegError.invalidHeader(path: path, field: "header", reason: "file has \(bytes.count) bytes, the NIfTI-\(version) header needs \(headerSize)")
        }
        if version == 1 {
            let magic = r.string(344, 4)
            guard magic == "n+1" else {
                let why = magic == "ni1" ? "'ni1' (separate .hdr/.img pair) is not supported; convert to a single .nii"
                    : "expected 'n+1', found '\(magic.isEmpty ? "(empty)" : magic)'"
                throw RegError.invalidHeader(path: path, field: "magic", reason: why)
            }
            return Header(
                version: 1, bigEndian: r.bigEndian,
                dim: (0..<8).map { Int(r.i16(40 + 2 * $0)) },
                datatype: Int(r.i16(70)), bitpix: Int(r.i16(72)),
                pixdim: (0..<8).map { Double(r.f32(76 + 4 * $0)) },
                voxOffset: Int(exactly: r.f32(108).rounded(.down)) ?? -1,
                sclSlope: Double(r.f32(112)), sclInter: Double(r.f32(116)),
                qformCode: Int(r.i16(252)), sformCode: Int(r.i16(254)),
                quatern: SIMD3(Double(r.f32(256)), Double(r.f32(260)), Double(r.f32(264))),
                qoffset: SIMD3(Double(r.f32(268)), Double(r.f32(272)), Double(r.f32(276))),
                srow: (0..<3).map { k in SIMD4((0..<4).map { Double(r.f32(280 + 16 * k + 4 * $0)) }) },
                intentCode: Int(r.i16(68)), magic: magic)
        }
        let magic = r.string(4, 8)
        guard magic == "n+2" else {
            throw RegError.invalidHeader(path: path, field: "magic", reason: "expected 'n+2', found '\(magic.isEmpty ? "(empty)" : magic)'")
        }
        return Header(
            version: 2, bigEndian: r.bigEndian,
            dim: (0..<8).map { Int(clamping: r.i64(16 + 8 * $0)) },
            datatype: Int(r.i16(12)), bitpix: Int(r.i16(14)),
            pixdim: (0..<8).map { r.f64(104 + 8 * $0) },
            voxOffset: Int(clamping: r.i64(168)),
            sclSlope: r.f64(176), sclInter: r.f64(184),
            qformCode: Int(r.i32(344)), sformCode: Int(r.i32(348)),
            quatern: SIMD3(r.f64(352), r.f64(360), r.f64(368)),
            qoffset: SIMD3(r.f64(376), r.f64(384), r.f64(392)),
            srow: (0..<3).map { k in SIMD4((0..<4).map { r.f64(400 + 32 * k + 8 * $0) }) },
            intentCode: Int(r.i32(504)), magic: magic)
    }

    /// The grid, components and voxel type a header declares (`faults`: what was repaired).
    static func layout(of h: Header, path: String, faults: inout [String]) throws -> (geometry: Geometry, components: Int, type: VoxelType) {
        let ndim = h.dim[0]
        guard (1...7).contains(ndim) else {
            throw RegError.invalidHeader(path: path, field: "dim[0]", reason: "must be 1…7, found \(ndim)")
        }
        for i in 1...ndim where h.dim[i] < 1 {
            throw RegError.invalidHeader(path: path, field: "dim[\(i)]", reason: "must be ≥ 1, found \(h.dim[i])")
        }
        func d(_ i: Int) -> Int { i <= ndim ? h.dim[i] : 1 }
        if d(6) > 1 || d(7) > 1 {
            throw RegError.invalidHeader(path: path, field: "dim[6]/dim[7]", reason: "images with more than 5 dimensions are not supported")
        }
        if d(4) > 1 && d(5) > 1 {
            throw RegError.invalidHeader(path: path, field: "dim[4]/dim[5]", reason: "a time series of vectors (\(d(4))×\(d(5))) is not supported")
        }
        let components = d(4) * d(5)
        guard let type = datatypeCodes[h.datatype] else {
            let name = unsupportedNames[h.datatype].map { "\($0) (\(h.datatype))" } ?? "code \(h.datatype)"
            throw RegError.unsupportedDatatype(path: path, field: "datatype", value: name)
        }
        if h.bitpix != type.byteSize * 8 {
            faults.append("bitpix is \(h.bitpix) but datatype \(type.rawValue) has \(type.byteSize * 8) bits; datatype used")
        }
        let spatial = min(ndim, 3)
        var spacing = SIMD3<Double>(1, 1, 1)
        for a in 0..<spatial {
            let s = h.pixdim[a + 1]
            guard s > 0, s.isFinite else {
                throw RegError.invalidHeader(path: path, field: "pixdim[\(a + 1)]", reason: "spacing must be positive and finite, found \(s)")
            }
            spacing[a] = s
        }
        let size = SIMD3(d(1), d(2), d(3))
        let dimension = (spatial <= 2 || (size.z == 1 && components == 2 && h.intentCode == vectorIntent)) ? 2 : 3

        let (direction, origin) = orientation(of: h, spacing: spacing, faults: &faults)
        do {
            return (try Geometry(size: size, spacing: spacing, origin: origin, direction: direction, dimension: dimension), components, type)
        } catch let e as RegError {
            throw e.attributed(to: path)
        }
    }

    /// The grid and components of a NIfTI file, from its header alone (the voxels are not inflated).
    static func readLayout(_ path: String) throws -> (geometry: Geometry, components: Int) {
        let raw = try FileBytes.read(path)
        let header = try parseHeader(Gzip.isGzip(raw) ? try Gzip.inflate(raw, path: path, limit: 540) : raw, path: path)
        var faults: [String] = []
        let layout = try layout(of: header, path: path, faults: &faults)
        return (layout.geometry, layout.components)
    }

    static func decode(header h: Header, bytes: [UInt8], path: String) throws -> LoadedImage {
        var faults: [String] = []
        let (geometry, components, type) = try layout(of: h, path: path, faults: &faults)
        let (count, o1) = geometry.voxelCount.multipliedReportingOverflow(by: components)
        let (nbytes, o2) = count.multipliedReportingOverflow(by: type.byteSize)
        guard !o1, !o2 else { throw RegError.invalidHeader(path: path, field: "dim", reason: "voxel count overflows") }
        let minOffset = h.version == 1 ? 348 : 540
        guard h.voxOffset >= minOffset else {
            throw RegError.invalidHeader(path: path, field: "vox_offset", reason: "must be ≥ \(minOffset), found \(h.voxOffset)")
        }
        guard h.voxOffset <= bytes.count else {
            throw RegError.invalidHeader(path: path, field: "vox_offset", reason: "points past the end of the file (\(h.voxOffset) > \(bytes.count) bytes)")
        }
        guard bytes.count - h.voxOffset >= nbytes else {
            throw RegError.truncatedData(path: path, expectedBytes: nbytes, foundBytes: bytes.count - h.voxOffset)
        }
        var image = bytes.withUnsafeBytes { buf in
            VoxelCodec.decode(UnsafeRawBufferPointer(rebasing: buf[h.voxOffset..<h.voxOffset + nbytes]), type: type,
                              geometry: geometry, components: components, bigEndian: h.bigEndian, planar: true)
        }
        var scaling: (Double, Double)?
        let slope = h.sclSlope, inter = h.sclInter.isFinite ? h.sclInter : 0
        if slope.isFinite, slope != 0, !(slope == 1 && inter == 0) {
            scaling = (slope, inter)
            image = applyScaling(image, slope: slope, intercept: inter)
        }
        var info = ImageFileInfo(path: path, format: .nifti, storedType: type.rawValue + (h.version == 2 ? " (NIfTI-2)" : ""),
                                 faults: faults, intentCode: h.intentCode, scaling: scaling)
        info.timePoints = h.dim[0] >= 4 ? h.dim[4] : 1
        return LoadedImage(image: image, info: info)
    }

    static func applyScaling(_ image: AnyImage, slope: Double, intercept: Double) -> AnyImage {
        if case let .float64(img) = image {
            var out = img
            for i in out.voxels.indices { out.voxels[i] = out.voxels[i] * slope + intercept }
            return .float64(out)
        }
        let stored = image.converted(to: .float64)
        guard case var .float64(values) = stored else { return image }
        for i in values.voxels.indices { values.voxels[i] = values.voxels[i] * slope + intercept }
        return .float32(values.converted(to: Float.self))
    }

    /// Direction (LPS) and origin (LPS) by ITK's precedence.
    static func orientation(of h: Header, spacing: SIMD3<Double>, faults: inout [String]) -> (Matrix3, SIMD3<Double>) {
        let flip = Matrix3.diagonal(SIMD3(-1, -1, 1))
        let qfac: Double = h.pixdim[0] < 0 ? -1 : 1
        let qRotation = rotation(fromQuaternion: h.quatern) * Matrix3.diagonal(SIMD3(1, 1, qfac))
        let sMatrix = Matrix3(rows: SIMD3(h.srow[0].x, h.srow[0].y, h.srow[0].z),
                              SIMD3(h.srow[1].x, h.srow[1].y, h.srow[1].z),
                              SIMD3(h.srow[2].x, h.srow[2].y, h.srow[2].z))
        let sOffset = SIMD3(h.srow[0].w, h.srow[1].w, h.srow[2].w)

        var useSform = false
        if h.sformCode > 0 {
            if h.qformCode <= 0 {
                useSform = true
            } else {
                let qMatrix = qRotation * Matrix3.diagonal(spacing)
                let scale = max(1, spacing.max())
                let agree = sMatrix.maxAbsDifference(qMatrix) <= 1e-3 * scale && (sOffset - h.qoffset).magnitudes.max() <= 1e-3
                if agree { useSform = true } else {
                    faults.append("qform and sform disagree; qform used (as ITK does): sform \(sMatrix) + \(sOffset), qform \(qMatrix) + \(h.qoffset)")
                }
            }
        }
        if useSform {
            var columns = [SIMD3<Double>]()
            for j in 0..<3 {
                let c = sMatrix.column(j)
                let n = (c * c).sum().squareRoot()
                if n > 0, abs(n - spacing[j]) > 1e-4 * max(1, spacing[j]) {
                    faults.append("sform column \(j) has length \(n) but pixdim[\(j + 1)] is \(spacing[j]); pixdim used for spacing")
                }
                columns.append(n > 0 ? c / n : SIMD3(j == 0 ? 1 : 0, j == 1 ? 1 : 0, j == 2 ? 1 : 0))
            }
            let normalised = Matrix3(columns: columns[0], columns[1], columns[2])
            let rotation = normalised.nearestOrthogonal ?? .identity
            let shear = normalised.maxAbsDifference(rotation)
            if shear > 1e-4 {
                faults.append(String(format: "sform has shear (largest change %.4g); dropped, rotation kept", shear))
            }
            return (flip * rotation, flip * sOffset)
        }
        if h.qformCode > 0 {
            return (flip * qRotation, flip * h.qoffset)
        }
        faults.append("qform_code and sform_code are 0: no orientation in the header; scaled identity (RAS) used")
        return (flip, .zero)
    }

    static func rotation(fromQuaternion q: SIMD3<Double>) -> Matrix3 {
        var (b, c, d) = (q.x, q.y, q.z)
        var a = 1 - (b * b + c * c + d * d)
        if a < 1e-7 {
            let n = (b * b + c * c + d * d).squareRoot()
            if n > 0 { b /= n; c /= n; d /= n }
            a = 0
        } else {
            a = a.squareRoot()
        }
        return Matrix3(
            rows: SIMD3(a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)),
            SIMD3(2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)),
            SIMD3(2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b))
    }

    /// Quaternion (b, c, d) and qfac of an orthogonal matrix, as nifti_mat44_to_quatern does.
    static func quaternion(of m: Matrix3) -> (SIMD3<Double>, Double) {
        var r = m
        var qfac = 1.0
        if r.determinant < 0 {
            qfac = -1
            for i in 0..<3 { r[i, 2] = -r[i, 2] }
        }
        let (r11, r12, r13) = (r[0, 0], r[0, 1], r[0, 2])
        let (r21, r22, r23) = (r[1, 0], r[1, 1], r[1, 2])
        let (r31, r32, r33) = (r[2, 0], r[2, 1], r[2, 2])
        var a = r11 + r22 + r33 + 1, b: Double, c: Double, d: Double
        if a > 0.5 {
            a = 0.5 * a.squareRoot()
            b = 0.25 * (r32 - r23) / a; c = 0.25 * (r13 - r31) / a; d = 0.25 * (r21 - r12) / a
        } else {
            let xd = 1 + r11 - (r22 + r33), yd = 1 + r22 - (r11 + r33), zd = 1 + r33 - (r11 + r22)
            if xd > 1 {
                b = 0.5 * xd.squareRoot(); c = 0.25 * (r12 + r21) / b; d = 0.25 * (r13 + r31) / b; a = 0.25 * (r32 - r23) / b
            } else if yd > 1 {
                c = 0.5 * yd.squareRoot(); b = 0.25 * (r12 + r21) / c; d = 0.25 * (r23 + r32) / c; a = 0.25 * (r13 - r31) / c
            } else {
                d = 0.5 * zd.squareRoot(); b = 0.25 * (r13 + r31) / d; c = 0.25 * (r23 + r32) / d; a = 0.25 * (r21 - r12) / d
            }
            if a < 0 { b = -b; c = -c; d = -d }
        }
        return (SIMD3(b, c, d), qfac)
    }

    // MARK: Writing

    static func write(_ image: AnyImage, to path: String, options: ImageWriteOptions) throws {
        let header = try header(geometry: image.geometry, components: image.components, type: image.voxelType, path: path,
                                options: options, series: false)
        let compressed = path.lowercased().hasSuffix(".gz")
        if compressed && options.compressionLevel > 0 {
            let data = VoxelCodec.encode(image, planar: true)
            try FileBytes.writeAtomically(Gzip.gzipMembers([header, data], level: options.compressionLevel, strategy: options.zlibStrategy), to: path)
            return
        }
        // Uncompressed or stored: the voxels stream to the file a piece at a time.
        func bytes(_ write: (UnsafeRawBufferPointer) throws -> Void) throws {
            try header.withUnsafeBytes(write)
            try VoxelCodec.encode(image, planar: true, write)
        }
        try FileBytes.writeAtomically(to: path) { sink in
            if compressed { try Gzip.stored(into: sink, bytes) } else { try bytes(sink) }
        }
    }

    /// Writes a series of `count` Float volumes on `geometry` as one 4-D file (`dim[4]` =
    /// `count`), volume `k` made by `volume(k, buffer)` only when it is written: one volume is
    /// held at a time. A `.nii.gz` is a gzip member per volume (every gzip reader reads
    /// concatenated members as one stream).
    static func writeSeries(geometry: Geometry, count: Int, to path: String, options: ImageWriteOptions,
                            volume: (Int, UnsafeMutablePointer<Float>) -> Void) throws {
        let header = try header(geometry: geometry, components: count, type: .float32, path: path, options: options, series: true)
        let compressed = path.lowercased().hasSuffix(".gz")
        var values = [Float](repeating: 0, count: geometry.voxelCount)
        try FileBytes.writeAtomically(to: path) { sink in
            func emit(_ bytes: [UInt8]) throws {
                if compressed && options.compressionLevel > 0 {
                    for member in Gzip.gzipMembers([bytes], level: options.compressionLevel, strategy: options.zlibStrategy) {
                        try member.withUnsafeBytes(sink)
                    }
                } else if compressed {
                    try Gzip.stored(into: sink) { write in try bytes.withUnsafeBytes(write) }
                } else {
                    try bytes.withUnsafeBytes(sink)
                }
            }
            try emit(header)
            for k in 0..<count {
                values.withUnsafeMutableBufferPointer { volume(k, $0.baseAddress!) }
                try emit(values.withUnsafeBytes { Array($0) })
            }
        }
    }

    /// The NIfTI-1 (or -2) header of an image; `series` writes components as time points.
    static func header(geometry g: Geometry, components: Int, type: VoxelType, path: String, options: ImageWriteOptions,
                       series: Bool) throws -> [UInt8] {
        let version = (options.niftiVersion == 2 || g.size.max() > Int(Int16.max) || components > Int(Int16.max)) ? 2 : 1
        var dim = [Int](repeating: 1, count: 8)
        dim[1] = g.size.x; dim[2] = g.size.y; dim[3] = g.size.z
        var intent = 0
        if components > 1 {
            if (components == 2 || components == 3) && !series {
                dim[0] = 5; dim[5] = components; intent = vectorIntent
            } else {
                dim[0] = 4; dim[4] = components
            }
        } else {
            dim[0] = g.dimension
        }
        let flip = Matrix3.diagonal(SIMD3(-1, -1, 1))
        let rasDirection = flip * g.direction
        let rasAffine = rasDirection * Matrix3.diagonal(g.spacing)
        let rasOrigin = flip * g.origin
        let (quat, qfac) = quaternion(of: rasDirection)
        // NIfTI-1 stores spacing and origin as Float: a value beyond its range would be written as
        // infinity, which no reader accepts.
        // The qform holds a rotation only: a direction whose columns are not orthonormal (a
        // MetaImage TransformMatrix may say anything) would be read back as NaN.
        let gram = g.direction.transposed * g.direction
        let entries = (0..<3).flatMap { r in (0..<3).map { rasAffine[r, $0] } } + [quat.x, quat.y, quat.z]
        guard entries.allSatisfy(\.isFinite), gram.maxAbsDifference(.identity) <= 1e-3 else {
            throw RegError.unwritableFile(path: path, reason: "its direction \(g.direction) is not a rotation (orthonormal columns); NIfTI cannot hold it")
        }
        if version == 1 {
            for (name, values) in [("pixdim (spacing)", g.spacing), ("qoffset (origin)", rasOrigin)]
            where !(0..<3).allSatisfy({ Float(values[$0]).isFinite && (name.hasPrefix("qoffset") || Float(values[$0]).isNormal) }) {
                let text = (0..<3).map { "\(values[$0])" }.joined(separator: " × ")
                throw RegError.unwritableFile(path: path, reason: "its \(name) \(text) does not fit NIfTI-1's 32-bit floats; write NIfTI-2 (--nifti2) or fix the geometry")
            }
        }
        var pixdim = [Double](repeating: 1, count: 8)
        pixdim[0] = qfac
        pixdim[1] = g.spacing.x; pixdim[2] = g.spacing.y; pixdim[3] = g.spacing.z
        pixdim[4] = 1
        let datatype = code(of: type)
        var w: ByteWriter
        if version == 1 {
            w = ByteWriter(count: 352)
            w.put(Int32(348), at: 0)
            w.put(UInt8(114), at: 38)   // regular = 'r'
            for i in 0..<8 { w.put(Int16(dim[i]), at: 40 + 2 * i) }
            w.put(Int16(intent), at: 68)
            w.put(Int16(datatype), at: 70)
            w.put(Int16(type.byteSize * 8), at: 72)
            for i in 0..<8 { w.put(Float(pixdim[i]), at: 76 + 4 * i) }
            w.put(Float(352), at: 108)
            w.put(Float(1), at: 112)
            w.put(UInt8(10), at: 123)    // mm, s
            w.put("SwiftReg", at: 148, max: 80)
            w.put(Int16(1), at: 252); w.put(Int16(1), at: 254)
            for k in 0..<3 { w.put(Float(quat[k]), at: 256 + 4 * k); w.put(Float(rasOrigin[k]), at: 268 + 4 * k) }
            for k in 0..<3 {
                let row = rasAffine.row(k)
                for j in 0..<3 { w.put(Float(row[j]), at: 280 + 16 * k + 4 * j) }
                w.put(Float(rasOrigin[k]), at: 280 + 16 * k + 12)
            }
            if intent == vectorIntent { w.put("vector", at: 328, max: 16) }
            w.put("n+1", at: 344, max: 4)
        } else {
            w = ByteWriter(count: 544)
            w.put(Int32(540), at: 0)
            w.bytes.replaceSubrange(4..<12, with: [0x6E, 0x2B, 0x32, 0x00, 0x0D, 0x0A, 0x1A, 0x0A])
            w.put(Int16(datatype), at: 12)
            w.put(Int16(type.byteSize * 8), at: 14)
            for i in 0..<8 { w.put(Int64(dim[i]), at: 16 + 8 * i) }
            for i in 0..<8 { w.put(pixdim[i], at: 104 + 8 * i) }
            w.put(Int64(544), at: 168)
            w.put(1.0, at: 176)
            w.put("SwiftReg", at: 240, max: 80)
            w.put(Int32(1), at: 344); w.put(Int32(1), at: 348)
            for k in 0..<3 { w.put(quat[k], at: 352 + 8 * k); w.put(rasOrigin[k], at: 376 + 8 * k) }
            for k in 0..<3 {
                let row = rasAffine.row(k)
                for j in 0..<3 { w.put(row[j], at: 400 + 32 * k + 8 * j) }
                w.put(rasOrigin[k], at: 400 + 32 * k + 24)
            }
            w.put(Int32(10), at: 500)
            w.put(Int32(intent), at: 504)
            if intent == vectorIntent { w.put("vector", at: 508, max: 16) }
        }
        return w.bytes
    }
}
