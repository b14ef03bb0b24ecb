import Foundation
import RegCore
import RegIO
import RegKernels
import RegMethods
import RegTransforms
import SwiftRegKit

// The C ABI of the library (`include/swiftreg.h`), for the Python package and any other caller.
// Every function returns a status (`SR_OK` 0; `SR_BAD_INPUT` 1: a file or an array the library
// refuses; `SR_BAD_ARGUMENT` 2: an option outside its domain; `SR_CANCELLED` 3) and leaves the
// message of a failure for `sr_last_error` on the calling thread. Results are opaque handles,
// each freed by its `_free` function.

/// The image behind an `sr_image` handle.
final class ImageBox {
    let image: Image<Float>
    init(_ image: Image<Float>) { self.image = image }
}

/// The result behind an `sr_result` handle.
final class ResultBox {
    let result: RegistrationResult
    let summaryJSON: String
    init(_ result: RegistrationResult) throws {
        self.result = result
        summaryJSON = try JSONText.encode(result.summary)
    }
}

/// The transform chain behind an `sr_transform` handle.
final class ChainBox {
    let chain: TransformChain
    init(_ chain: TransformChain) { self.chain = chain }
}

enum Status: Int32 {
    case ok = 0, badInput = 1, badArgument = 2, cancelled = 3
}

/// The last failure's message on each thread.
private let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

private func setLastError(_ message: String) {
    free(pthread_getspecific(lastErrorKey))
    pthread_setspecific(lastErrorKey, strdup(message))
}

/// Runs `body`, turning a thrown error into a status and a message.
func guarded(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return Status.ok.rawValue
    } catch let error as RegError {
        setLastError(error.description)
        if case .invalidArgument = error { return Status.badArgument.rawValue }
        return Status.badInput.rawValue
    } catch is RegistrationCancelled {
        setLastError("registration cancelled by the progress callback")
        return Status.cancelled.rawValue
    } catch {
        setLastError("\(error)")
        return Status.badArgument.rawValue
    }
}

private func retained(_ object: AnyObject) -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(object).toOpaque()) }
private func borrowed<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type, name: String) throws -> T {
    guard let handle else { throw RegError.invalidArgument(name: name, reason: "a null handle") }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}
private func release(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(handle)).release()
}
private func string(_ pointer: UnsafePointer<CChar>?, name: String) throws -> String {
    guard let pointer else { throw RegError.invalidArgument(name: name, reason: "a null string") }
    return String(cString: pointer)
}

@_cdecl("sr_last_error")
public func sr_last_error() -> UnsafePointer<CChar>? {
    UnsafePointer(pthread_getspecific(lastErrorKey)?.assumingMemoryBound(to: CChar.self))
}

@_cdecl("sr_version")
public func sr_version() -> UnsafePointer<CChar> {
    UnsafePointer(versionString)
}
nonisolated(unsafe) private let versionString = strdup("0.1.0")!

@_cdecl("sr_string_free")
public func sr_string_free(_ s: UnsafeMutablePointer<CChar>?) { free(s) }

/// The voxel types `sr_image_create` takes, by NumPy's names.
private let dtypeSizes: [String: Int] = ["float32": 4, "float64": 8, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2,
                                         "int32": 4, "uint32": 4, "int64": 8, "uint64": 8]

/// An image from the caller's array: `ndim` 2 or 3, `shape` and byte `strides` in (x, y, z)
/// order, geometry in LPS. The voxels are copied once, converted to float32: straight when x is
/// fastest in memory (NumPy's Fortran order), transposed when z is (C order); other strides (a
/// strided view) are refused.
@_cdecl("sr_image_create")
public func sr_image_create(_ data: UnsafeRawPointer?, _ dtype: UnsafePointer<CChar>?, _ ndim: Int32, _ shape: UnsafePointer<Int64>?,
                            _ strides: UnsafePointer<Int64>?, _ spacing: UnsafePointer<Double>?, _ origin: UnsafePointer<Double>?,
                            _ direction: UnsafePointer<Double>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let type = try string(dtype, name: "dtype")
        guard let itemSize = dtypeSizes[type] else {
            throw RegError.invalidArgument(name: "array", reason: "dtype \(type) is not a voxel type: give float32 (no conversion), float64 or an integer type")
        }
        guard ndim == 2 || ndim == 3 else {
            throw RegError.invalidArgument(name: "array", reason: "a \(ndim)-D array: an image is 2-D or 3-D, one value per voxel (take one volume of a series, e.g. a[..., 0])")
        }
        guard let shape, let strides, let spacing, let origin, let direction, let out else {
            throw RegError.invalidArgument(name: "sr_image_create", reason: "a null pointer")
        }
        let n = Int(ndim)
        let geometry = try arrayGeometry(ndim: n, shape: shape, spacing: spacing, origin: origin, direction: direction)
        let size = geometry.size
        guard let data else { throw RegError.invalidArgument(name: "sr_image_create", reason: "no voxel data") }
        let step = try ArrayLayout(shape: (0..<n).map { shape[$0] }, strides: (0..<n).map { strides[$0] }, itemSize: itemSize).steps
        let count = size.x * size.y * size.z
        let voxels = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            let target = buffer.baseAddress!
            switch type {
            case "float32" where step == SIMD3(1, size.x, size.x * size.y):
                target.update(from: data.assumingMemoryBound(to: Float.self), count: count)   // x fastest already: one copy
            case "float32": gather(Float.self, from: data, into: target, size: size, step: step)
            case "float64": gather(Double.self, from: data, into: target, size: size, step: step)
            case "int8": gather(Int8.self, from: data, into: target, size: size, step: step)
            case "uint8": gather(UInt8.self, from: data, into: target, size: size, step: step)
            case "int16": gather(Int16.self, from: data, into: target, size: size, step: step)
            case "uint16": gather(UInt16.self, from: data, into: target, size: size, step: step)
            case "int32": gather(Int32.self, from: data, into: target, size: size, step: step)
            case "uint32": gather(UInt32.self, from: data, into: target, size: size, step: step)
            case "int64": gather(Int64.self, from: data, into: target, size: size, step: step)
            default: gather(UInt64.self, from: data, into: target, size: size, step: step)
            }
            initialized = count
        }
        out.pointee = retained(ImageBox(try Image(geometry: geometry, voxels: voxels)))
    }
}

/// An image on the caller's float32 voxels, x fastest (NumPy's Fortran order), without a copy.
/// The library only reads them, until it calls `release(context)` once, when the image and every
/// result sharing its voxels are gone; the caller keeps them valid and unchanged until then.
/// On failure nothing is borrowed and `release` is not called.
@_cdecl("sr_image_borrow")
public func sr_image_borrow(_ data: UnsafeMutablePointer<Float>?, _ ndim: Int32, _ shape: UnsafePointer<Int64>?,
                            _ spacing: UnsafePointer<Double>?, _ origin: UnsafePointer<Double>?, _ direction: UnsafePointer<Double>?,
                            _ release: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?, _ context: UnsafeMutableRawPointer?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        guard ndim == 2 || ndim == 3 else {
            throw RegError.invalidArgument(name: "array", reason: "a \(ndim)-D array: an image is 2-D or 3-D, one value per voxel (take one volume of a series, e.g. a[..., 0])")
        }
        guard let data, let shape, let spacing, let origin, let direction, let release, let out else {
            throw RegError.invalidArgument(name: "sr_image_borrow", reason: "a null pointer")
        }
        let geometry = try arrayGeometry(ndim: Int(ndim), shape: shape, spacing: spacing, origin: origin, direction: direction)
        let owner = UInt(bitPattern: context)
        let voxels = VoxelBuffer(borrowing: data, count: geometry.voxelCount) { release(UnsafeMutableRawPointer(bitPattern: owner)) }
        out.pointee = retained(ImageBox(try Image(geometry: geometry, voxels: voxels)))
    }
}

/// The grid of an array handed over the C ABI: `ndim` sizes, 3 spacings and origin values, 9
/// direction values (row-major).
private func arrayGeometry(ndim n: Int, shape: UnsafePointer<Int64>, spacing: UnsafePointer<Double>, origin: UnsafePointer<Double>,
                           direction: UnsafePointer<Double>) throws -> Geometry {
    let size = SIMD3(Int(shape[0]), Int(shape[1]), n == 3 ? Int(shape[2]) : 1)
    return try Geometry(size: size, spacing: SIMD3(spacing[0], spacing[1], spacing[2]), origin: SIMD3(origin[0], origin[1], origin[2]),
                        direction: Matrix3(rowMajor: (0..<9).map { direction[$0] }), dimension: n)
}

/// The element types of the arrays `sr_image_create` takes, as float32.
protocol ArrayElement { var float: Float { get } }
extension ArrayElement where Self: BinaryInteger { var float: Float { Float(self) } }
extension Float: ArrayElement { var float: Float { self } }
extension Double: ArrayElement { var float: Float { Float(self) } }
extension Int8: ArrayElement {}
extension UInt8: ArrayElement {}
extension Int16: ArrayElement {}
extension UInt16: ArrayElement {}
extension Int32: ArrayElement {}
extension UInt32: ArrayElement {}
extension Int64: ArrayElement {}
extension UInt64: ArrayElement {}

/// The voxels of `source` (elements `step` apart along x, y, z) as float32, x fastest.
private func gather<T: ArrayElement>(_: T.Type, from source: UnsafeRawPointer, into target: UnsafeMutablePointer<Float>, size: SIMD3<Int>, step: SIMD3<Int>) {
    let values = source.assumingMemoryBound(to: T.self)
    var v = 0
    for z in 0..<size.z { for y in 0..<size.y {
        let row = y * step.y + z * step.z
        for x in 0..<size.x { target[v] = values[row + x * step.x].float; v += 1 }
    } }
}

/// How an array's elements lie in memory: contiguous, with x fastest or with the last axis fastest.
struct ArrayLayout {
    /// Elements between neighbours along x, y, z.
    let steps: SIMD3<Int>

    init(shape: [Int64], strides: [Int64], itemSize: Int) throws {
        func contiguous(_ order: [Int]) -> Bool {
            var expected = Int64(itemSize)
            for a in order {
                guard shape[a] == 1 || strides[a] == expected else { return false }
                expected *= shape[a]
            }
            return true
        }
        let axes = Array(shape.indices)
        guard contiguous(axes) || contiguous(axes.reversed()) else {
            throw RegError.invalidArgument(name: "array", reason: "a strided view (strides \(strides) bytes for shape \(shape)): the voxels must be contiguous, in Fortran or C order; pass a copy (numpy.ascontiguousarray)")
        }
        var s = SIMD3<Int>(0, 0, 0)
        for a in axes { s[a] = Int(strides[a]) / itemSize }
        steps = s
    }
}

/// The image's dimension (2 or 3), size, spacing, origin and direction (row-major, LPS).
@_cdecl("sr_image_geometry")
public func sr_image_geometry(_ image: OpaquePointer?, _ ndim: UnsafeMutablePointer<Int32>?, _ shape: UnsafeMutablePointer<Int64>?,
                              _ spacing: UnsafeMutablePointer<Double>?, _ origin: UnsafeMutablePointer<Double>?,
                              _ direction: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded {
        let g = try borrowed(image, as: ImageBox.self, name: "image").image.geometry
        guard let ndim, let shape, let spacing, let origin, let direction else { throw RegError.invalidArgument(name: "sr_image_geometry", reason: "a null pointer") }
        ndim.pointee = Int32(g.dimension)
        for a in 0..<3 {
            shape[a] = Int64(g.size[a])
            spacing[a] = g.spacing[a]
            origin[a] = g.origin[a]
        }
        for (k, value) in g.direction.rowMajor.enumerated() { direction[k] = value }
    }
}

/// The image's voxels in place (float32, x fastest, read-only): `count` values at `data`, valid
/// until the handle is freed.
@_cdecl("sr_image_voxels")
public func sr_image_voxels(_ image: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafePointer<Float>?>?,
                            _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let box = try borrowed(image, as: ImageBox.self, name: "image")
        guard let data, let count else { throw RegError.invalidArgument(name: "sr_image_voxels", reason: "a null pointer") }
        // The box holds the image, and with it the voxels, unchanged until it is freed.
        data.pointee = box.image.voxels.withUnsafeBufferPointer { $0.baseAddress }
        count.pointee = Int64(box.image.voxels.count)
    }
}

/// Copies the image's voxels (float32, x fastest) to `out`, which holds `count` values.
@_cdecl("sr_image_copy_voxels")
public func sr_image_copy_voxels(_ image: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ count: Int64) -> Int32 {
    guarded {
        let voxels = try borrowed(image, as: ImageBox.self, name: "image").image.voxels
        guard let out, count == Int64(voxels.count) else {
            throw RegError.invalidArgument(name: "sr_image_copy_voxels", reason: "room for \(count) values, the image has \(voxels.count)")
        }
        voxels.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: voxels.count) }
    }
}

@_cdecl("sr_image_read")
public func sr_image_read(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let file = try string(path, name: "path")
        let loaded = try ImageFile.read(file)
        guard loaded.image.components == 1 else {
            throw RegError.invalidHeader(path: file, field: "components", reason: "holds \(loaded.image.components) values per voxel; an image here has one")
        }
        out?.pointee = retained(ImageBox(loaded.image.floatImage()))
    }
}

/// Writes the image (float32; the format from the extension), under a temporary name renamed when complete.
@_cdecl("sr_image_write")
public func sr_image_write(_ image: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded { try ImageFile.write(try borrowed(image, as: ImageBox.self, name: "image").image, to: try string(path, name: "path")) }
}

@_cdecl("sr_image_free")
public func sr_image_free(_ image: OpaquePointer?) { release(image) }

/// Called with each progress event as JSON; returning non-zero cancels the registration.
public typealias ProgressCallback = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Int32

/// The CLI's malloc tuning, set once, at the first registration of the process.
private let mallocTuned: Void = MallocTuning.apply()

/// Hands each progress event to a C callback as JSON; a non-zero answer cancels.
struct ProgressRelay: @unchecked Sendable {
    let callback: ProgressCallback
    let context: UnsafeMutableRawPointer?

    var handler: ProgressHandler {
        { event in
            let json = try JSONText.encode(event)
            let stop: Int32 = json.withCString { self.callback($0, self.context) }
            if stop != 0 { throw RegistrationCancelled() }
        }
    }
}

/// Registers `moving` to `fixed` with `plan` (a preset name, or a plan as YAML or JSON text),
/// optional masks (non-zero inside) and landmark pairs (`count` points each, x, y, z in LPS mm),
/// on `threads` threads (0: all cores).
@_cdecl("sr_register")
public func sr_register(_ fixed: OpaquePointer?, _ moving: OpaquePointer?, _ plan: UnsafePointer<CChar>?, _ fixedMask: OpaquePointer?,
                        _ movingMask: OpaquePointer?, _ fixedPoints: UnsafePointer<Double>?, _ movingPoints: UnsafePointer<Double>?,
                        _ pointCount: Int64, _ threads: Int32, _ progress: ProgressCallback?, _ context: UnsafeMutableRawPointer?,
                        _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let f = try borrowed(fixed, as: ImageBox.self, name: "fixed").image, m = try borrowed(moving, as: ImageBox.self, name: "moving").image
        let text = try string(plan, name: "plan")
        let registrationPlan = try RegistrationPlan.preset(text) ?? PlanFile.plan(fromText: text)
        try registrationPlan.validate()
        var masks = RegistrationMasks(fixed: try fixedMask.map { try borrowed($0, as: ImageBox.self, name: "fixed mask").image.foreground },
                                      moving: try movingMask.map { try borrowed($0, as: ImageBox.self, name: "moving mask").image.foreground })
        masks.files = try RegistrationInputs.stageMasks(of: registrationPlan)
        let initial = try registrationPlan.inputs.initialTransform.map { try RegistrationInputs.linearMap($0, dimension: f.geometry.dimension) }
        var landmarks: LandmarkPairs?
        if pointCount > 0 {
            guard let fixedPoints, let movingPoints else { throw RegError.invalidArgument(name: "landmarks", reason: "give both point sets") }
            func points(_ p: UnsafePointer<Double>) -> [SIMD3<Double>] { (0..<Int(pointCount)).map { SIMD3(p[3 * $0], p[3 * $0 + 1], p[3 * $0 + 2]) } }
            landmarks = LandmarkPairs(fixed: Landmarks(points: points(fixedPoints)), moving: Landmarks(points: points(movingPoints)))
        }
        guard threads >= 0 else { throw RegError.invalidArgument(name: "threads", reason: "must be ≥ 0 (0: all cores), found \(threads)") }
        _ = mallocTuned
        let handler = progress.map { ProgressRelay(callback: $0, context: context).handler }
        let count = threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : Int(threads)
        let result = try Parallelism.withThreadCount(count) {
            try Registration(registrationPlan).run(fixed: f, moving: m, masks: masks, landmarks: landmarks, initial: initial, progress: handler)
        }
        out?.pointee = retained(try ResultBox(result))
    }
}

/// The warped moving image (0) or det J of the warp (1; a null handle without a deformable stage).
@_cdecl("sr_result_image")
public func sr_result_image(_ result: OpaquePointer?, _ which: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let r = try borrowed(result, as: ResultBox.self, name: "result").result
        switch which {
        case 0: out?.pointee = retained(ImageBox(r.warped))
        case 1: out?.pointee = r.jacobian.map { retained(ImageBox($0)) }
        default: throw RegError.invalidArgument(name: "which", reason: "0 (warped) or 1 (det J), found \(which)")
        }
    }
}

/// The summary as JSON (free with `sr_string_free`).
@_cdecl("sr_result_summary")
public func sr_result_summary(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded { out?.pointee = strdup(try borrowed(result, as: ResultBox.self, name: "result").summaryJSON) }
}

/// The transforms found: fixed → moving points (`inverse` 0, ANTs order: the warp, then the
/// affine) or moving → fixed (`inverse` 1).
@_cdecl("sr_result_transform")
public func sr_result_transform(_ result: OpaquePointer?, _ inverse: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let r = try borrowed(result, as: ResultBox.self, name: "result").result
        guard let chain = inverse == 0 ? r.chain : r.inverseChain else {
            throw RegError.invalidArgument(name: "inverse", reason: "the affine map found is singular")
        }
        out?.pointee = retained(ChainBox(chain))
    }
}

/// Writes the result's files as `register` does under `prefix` (`_affine.txt`, `_affine.mat`,
/// `_warp.nii.gz`, `_inverse_warp.nii.gz`, `_warped.nii.gz`, `_jacobian.nii.gz`,
/// `_summary.json`; with `composite`, `_composite.h5` and `_inverse_composite.h5`); their paths
/// as a JSON list (free with `sr_string_free`).
@_cdecl("sr_result_save")
public func sr_result_save(_ result: OpaquePointer?, _ prefix: UnsafePointer<CChar>?, _ composite: Int32,
                           _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let r = try borrowed(result, as: ResultBox.self, name: "result").result
        let written = try RegistrationOutputs.write(r, prefix: try string(prefix, name: "prefix"), composite: composite != 0)
        out?.pointee = strdup(try JSONText.encode(written))
    }
}

@_cdecl("sr_result_free")
public func sr_result_free(_ result: OpaquePointer?) { release(result) }

/// A chain from transform files in ANTs order (`-t` of `apply`: ITK/ANTs .txt, .mat, .h5, elastix
/// parameter files, displacement fields; `[FILE,1]` for an inverse), given as a JSON list.
@_cdecl("sr_transform_read")
public func sr_transform_read(_ specs: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let list = try JSONDecoder().decode([String].self, from: Data(try string(specs, name: "transforms").utf8))
        out?.pointee = retained(ChainBox(try TransformFiles.chain(list)))
    }
}

/// `image` resampled onto `reference`'s grid through the chain (reference points to image
/// points), with `interpolation` nearest, linear, bspline or label.
@_cdecl("sr_transform_apply")
public func sr_transform_apply(_ transform: OpaquePointer?, _ image: OpaquePointer?, _ reference: OpaquePointer?,
                               _ interpolation: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let chain = try borrowed(transform, as: ChainBox.self, name: "transform").chain
        let input = try borrowed(image, as: ImageBox.self, name: "image").image
        let grid = try borrowed(reference, as: ImageBox.self, name: "reference").image.geometry
        let name = try string(interpolation, name: "interpolation")
        guard let mode = Interpolation(rawValue: name) else {
            throw RegError.invalidArgument(name: "interpolation", reason: "'\(name)': choose one of \(Interpolation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        out?.pointee = retained(ImageBox(try Resampler.resample(input, onto: grid, mapping: chain.mapping(onto: grid), interpolation: mode)))
    }
}

/// Maps `count` points (x, y, z in LPS mm) through the chain, in place.
@_cdecl("sr_transform_points")
public func sr_transform_points(_ transform: OpaquePointer?, _ points: UnsafeMutablePointer<Double>?, _ count: Int64) -> Int32 {
    guarded {
        let chain = try borrowed(transform, as: ChainBox.self, name: "transform").chain
        guard let points else { throw RegError.invalidArgument(name: "points", reason: "a null pointer") }
        for k in 0..<Int(count) {
            let y = chain.map(SIMD3(points[3 * k], points[3 * k + 1], points[3 * k + 2]))
            (points[3 * k], points[3 * k + 1], points[3 * k + 2]) = (y.x, y.y, y.z)
        }
    }
}

/// Writes the chain to `path`: an ITK HDF5 composite (`.h5`, any chain), an ITK/ANTs linear
/// transform (`.txt`, `.tfm`, `.mat`: one affine) or a displacement field image (one field).
@_cdecl("sr_transform_save")
public func sr_transform_save(_ transform: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let chain = try borrowed(transform, as: ChainBox.self, name: "transform").chain
        let file = try string(path, name: "path")
        let records: [FileTransform] = chain.elements.map {
            switch $0 {
            case .affine(let map): return .linear(LinearTransformRecord(map: map))
            case .displacement(let field): return .displacement(field.field)
            case .bspline(let grid): return .bspline(lattice: grid.lattice, coefficients: grid.coefficients)
            }
        }
        let lower = file.lowercased()
        if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { return try HDF5TransformFile.write(records, to: file) }
        switch (records.first, records.count) {
        case (.linear(let record)?, 1) where [".txt", ".tfm", ".mat"].contains(where: lower.hasSuffix):
            try TransformFile.write([record], to: file)
        case (.displacement(let field)?, 1) where (try? ImageFile.format(of: file)) != nil:
            try TransformFile.writeDisplacementField(field, to: file)
        default:
            throw RegError.invalidArgument(name: file, reason: "a chain of \(records.count) transforms goes to an ITK composite (.h5); .txt, .tfm and .mat hold one linear transform, an image one displacement field")
        }
    }
}

@_cdecl("sr_transform_free")
public func sr_transform_free(_ transform: OpaquePointer?) { release(transform) }
