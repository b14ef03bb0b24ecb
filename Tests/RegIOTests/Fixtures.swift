import Foundation
import RegCore
import RegIO
import RegTransforms

/// The reference values in `Fixtures/`, made by `Fixtures/make_fixtures.py` with SimpleITK and nibabel.
enum Fixtures {
    static let folder: String = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    struct Entry: Decodable, Sendable {
        let dimension: Int
        let size: [Int]
        let spacing: [Double]
        let origin: [Double]
        let direction: [Double]
        let components: Int
        let sum: Double
        let weighted_sum: Double
    }

    struct Reference: Decodable { let files: [String: Entry] }

    static let sharedData: [String: Entry] = {
        guard let data = FileManager.default.contents(atPath: folder + "/shared_data_reference.json"),
              let ref = try? JSONDecoder().decode(Reference.self, from: data) else { return [:] }
        return ref.files
    }()

    struct Oblique: Decodable {
        let size: [Int]
        let spacing: [Double]
        let origin: [Double]
        let direction: [Double]
        let nibabel_affine: [Double]

        var geometry: Geometry {
            try! Geometry(size: SIMD3(size[0], size[1], size[2]), spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
                          origin: SIMD3(origin[0], origin[1], origin[2]), direction: Matrix3(rowMajor: direction))
        }
    }

    static let oblique: Oblique = {
        let data = FileManager.default.contents(atPath: folder + "/oblique_reference.json")!
        return try! JSONDecoder().decode(Oblique.self, from: data)
    }()
}


/// Sum of all values and the index-weighted sum of component 0, as the fixture script computes them.
func checksums(_ image: AnyImage) -> (sum: Double, weighted: Double) {
    func sums<T: VoxelScalar>(_ img: Image<T>) -> (Double, Double) {
        var total = 0.0, weighted = 0.0
        let c = img.components
        img.voxels.withUnsafeBufferPointer { v in
            for i in 0..<v.count { total += v[i].doubleValue }
            for i in 0..<img.geometry.voxelCount { weighted += v[i * c].doubleValue * Double(i % 7 + 1) }
        }
        return (total, weighted)
    }
    switch image {
    case let .uint8(i): return sums(i)
    case let .int8(i): return sums(i)
    case let .int16(i): return sums(i)
    case let .uint16(i): return sums(i)
    case let .int32(i): return sums(i)
    case let .uint32(i): return sums(i)
    case let .float32(i): return sums(i)
    case let .float64(i): return sums(i)
    }
}

extension Fixtures {
    /// A file's transforms as a chain, first applied first (what SwiftRegKit's `TransformFiles` does).
    static func chain(_ transforms: [FileTransform]) -> TransformChain {
        TransformChain(transforms.map {
            switch $0 {
            case .linear(let record): return .affine(record.map)
            case .bspline(let lattice, let coefficients): return .bspline(BSplineGrid(lattice: lattice, coefficients: coefficients))
            case .displacement(let field): return .displacement(DisplacementField(field))
            }
        })
    }
}
