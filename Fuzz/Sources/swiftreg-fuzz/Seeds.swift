import Foundation
import RegCore
import RegIO
import RegMethods
import SwiftRegKit

/// Seed corpora made by the library's own writers: small valid files of every kind, on oblique,
/// anisotropic grids with non-zero origins, in the layouts users' files have (2-D and 3-D,
/// integer and float voxels, compressed and not, vector fields).
enum Seeds {
    static func write(into folder: String) throws {
        let volume = try Geometry(size: SIMD3(6, 5, 4), spacing: SIMD3(0.9, 1.3, 2.1), origin: SIMD3(-31.5, 12.25, 48),
                                  direction: Matrix3.rotation(ax: 0.2, ay: -0.1, az: 0.3))
        let plane = try Geometry(size: SIMD3(7, 6, 1), spacing: SIMD3(0.8, 1.2, 1), origin: SIMD3(15.5, -7.25, 0),
                                 direction: Matrix3.rotation(axis: 2, angle: 0.35), dimension: 2)
        func ramp<T: VoxelScalar>(_ type: T.Type, on g: Geometry) throws -> Image<T> {
            try Image(geometry: g, voxels: (0..<g.voxelCount).map { T(clampingDouble: Double($0 % 200)) })
        }
        func seed(_ target: String, _ name: String, _ write: (String) throws -> Void) throws {
            let dir = folder + "/" + target
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try write(dir + "/" + name)
        }
        let float3 = try ramp(Float.self, on: volume), short3 = try ramp(Int16.self, on: volume)
        let byte2 = try ramp(UInt8.self, on: plane), word2 = try ramp(UInt16.self, on: plane)
        for (i, image) in [AnyImage(float3), AnyImage(short3), AnyImage(byte2)].enumerated() {
            try seed("nifti", "\(i).nii") { try ImageFile.write(image, to: $0) }
            try seed("nifti-gz", "\(i).nii.gz") { try ImageFile.write(image, to: $0) }
            try seed("metaimage", "\(i).mha") { try ImageFile.write(image, to: $0) }
            try seed("metaimage", "\(i)z.mha") { try ImageFile.write(image, to: $0, options: ImageWriteOptions(compress: true)) }
            try seed("nrrd", "\(i).nrrd") { try ImageFile.write(image, to: $0) }
            try seed("nrrd", "\(i)z.nrrd") { try ImageFile.write(image, to: $0, options: ImageWriteOptions(compress: true)) }
        }
        try seed("png", "8.png") { try ImageFile.write(byte2, to: $0) }
        try seed("png", "16.png") { try ImageFile.write(word2, to: $0) }
        try seed("png", "rgb.png") { try RGBPNG.write(width: 3, height: 2, rgb: Array(0..<18), to: $0) }
        // JPEGs as Pillow 12 writes them (the library writes none): grey 8×8, RGB 4:2:0 9×7, Adobe CMYK 8×6.
        for (name, base64) in [("grey.jpg", "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/wAALCAAIAAgBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AE/4duD/AKBf/jlf/9k="),
                               ("rgb.jpg", "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wAARCAAHAAkDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDL8GfCaD5P3cf5iu8/4VPB/wA84/zFFFeDmef4723xi4H4nzL+zV+8P//Z"),
                               ("cmyk.jpg", "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAFAgABgAIBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD1j/g4j/5jv/bT+tWP+Ijv4/f88NU/8CF/+KryP/g3c/5gX/bP+lftZX//2Q==")] {
            try seed("jpeg", name) { try BinaryFile.write([UInt8](Data(base64Encoded: base64)!), to: $0) }
        }
        var field = VectorField(geometry: volume)
        for i in field.vectors.indices { field.vectors[i] = Float(i % 7) * 0.25 - 0.5 }
        try seed("displacement-field", "3d.nii.gz") { try TransformFile.writeDisplacementField(field, to: $0) }
        try seed("displacement-field", "2d.nii.gz") { try TransformFile.writeDisplacementField(VectorField(geometry: plane), to: $0) }
        let affine = AffineMap(matrix: Matrix3.rotation(ax: 0.1, ay: 0.2, az: -0.3) * 1.05, translation: SIMD3(3, -4, 5))
        for (i, record) in [LinearTransformRecord(map: affine, center: SIMD3(1, 2, 3)),
                            LinearTransformRecord(map: AffineMap(matrix: .rotation(axis: 2, angle: 0.2), translation: SIMD3(1, 2, 0)), dimension: 2)].enumerated() {
            try seed("itk-transform", "\(i).txt") { try TransformFile.write([record], to: $0) }
            try seed("matlab-transform", "\(i).mat") { try TransformFile.write([record], to: $0) }
        }
        let points = Landmarks(points: [SIMD3(1.5, -2, 3), SIMD3(-40.25, 12, 7.5), SIMD3(0, 0, 0)], labels: ["a", "b", "c"])
        try seed("landmarks-csv", "points.csv") { try LandmarkFile.write(points, to: $0) }
        try seed("landmarks-fcsv", "points.fcsv") { try LandmarkFile.write(points, to: $0) }
        try seed("landmarks-elastix", "points.txt") { try TextFile.write("point\n3\n1.5 -2 3\n-40.25 12 7.5\n0 0 0\n", to: $0) }
        try seed("landmarks-elastix", "index.txt") { try TextFile.write("index\n2\n1 2 3\n4 5 6\n", to: $0) }
        try seed("landmarks-slicer-json", "points.mrk.json") { try LandmarkFile.write(points, to: $0) }
        // elastix parameter files as elastix 5 writes them (the library writes none): Euler 3-D, a 2-D B-spline.
        try seed("elastix-transform", "euler.txt") {
            try TextFile.write("""
            (Transform "EulerTransform")
            (NumberOfParameters 6)
            (TransformParameters 0.056666 -0.021315 -0.001583 -1.815118 1.745679 -1.974062)
            (InitialTransformParametersFileName "NoInitialTransform")
            (HowToCombineTransforms "Compose")
            (FixedImageDimension 3)
            (MovingImageDimension 3)
            (CenterOfRotationPoint -11.4905288175 22.2224722122 20.9237983691)
            (ComputeZYX "false")

            """, to: $0)
        }
        try seed("elastix-transform", "bspline.txt") {
            let coefficients = (0..<32).map { String(format: "%.4f", sin(Double($0))) }.joined(separator: " ")
            try TextFile.write("""
            (Transform "BSplineTransform")
            (NumberOfParameters 32)
            (TransformParameters \(coefficients))
            (InitialTransformParametersFileName "NoInitialTransform")
            (HowToCombineTransforms "Compose")
            (FixedImageDimension 2)
            (GridSize 4 4)
            (GridIndex 0 0)
            (GridSpacing 8.5 9.25)
            (GridOrigin -12.0 7.5)
            (GridDirection 0.94 0.34 -0.34 0.94)
            (BSplineTransformSplineOrder 3)
            (UseCyclicTransform "false")

            """, to: $0)
        }
        for preset in ["rigid", "syn", "bspline", "demons"] {
            let plan = RegistrationPlan.preset(preset)!
            try seed("plan", "\(preset).yaml") { try TextFile.write(PlanFile.text(plan), to: $0) }
            try seed("plan", "\(preset).json") { try TextFile.write(PlanFile.text(plan, format: .json), to: $0) }
        }
    }
}
