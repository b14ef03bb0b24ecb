import Foundation
import RegCore

/// Landmark files: CSV (`x,y,z` in LPS mm, optional `label` column; a header row naming the
/// columns is optional), 3D Slicer markups `.fcsv` (RAS unless the header says LPS) and
/// `.mrk.json` (Slicer 4.11 and later: the control points of every point list, in the file's
/// `coordinateSystem`), and elastix/transformix point sets (`.txt` starting `point`, then the
/// count, then one space-separated point per line in LPS mm).
///
/// ```swift
/// let fixedPoints = try LandmarkFile.read("fixed.fcsv")       // converted to LPS
/// try LandmarkFile.write(fixedPoints, to: "fixed_lps.csv")
/// ```
public enum LandmarkFile {
    public static func read(_ path: String) throws -> Landmarks {
        let text = String(decoding: try FileBytes.read(path), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map { String($0) }
        let lower = path.lowercased()
        if lower.hasSuffix(".fcsv") { return try readFCSV(lines, path: path) }
        if lower.hasSuffix(".json") { return try SlicerMarkups.read(text, path: path) }
        guard lower.hasSuffix(".csv") || lower.hasSuffix(".txt") else {
            throw RegError.unsupportedFormat(path: path, supported: [".csv", ".txt", ".fcsv", ".mrk.json"])
        }
        let content = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        if let first = content.first?.trimmingCharacters(in: .whitespaces).lowercased(), first == "point" || first == "index" {
            return try readElastix(content, path: path)
        }
        return try readCSV(lines, path: path)
    }

    public static func write(_ landmarks: Landmarks, to path: String) throws {
        if let bad = landmarks.points.firstIndex(where: { !($0.x.isFinite && $0.y.isFinite && $0.z.isFinite) }) {
            let p = landmarks.points[bad]
            throw RegError.unwritableFile(path: path, reason: "point \(bad + 1) is (\(p.x), \(p.y), \(p.z)): a transform sent it beyond finite coordinates")
        }
        var s: String
        if path.lowercased().hasSuffix(".json") {
            s = try SlicerMarkups.text(landmarks, path: path)
        } else if path.lowercased().hasSuffix(".fcsv") {
            s = "# Markups fiducial file version = 4.11\n# CoordinateSystem = RAS\n"
            s += "# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n"
            for (i, (p, label)) in zip(landmarks.points, landmarks.labels).enumerated() {
                s += "\(i + 1),\(number(-p.x)),\(number(-p.y)),\(number(p.z)),0,0,0,1,1,1,0,\(label),,\n"
            }
        } else {
            s = "x,y,z,label\n"
            for (p, label) in zip(landmarks.points, landmarks.labels) {
                s += "\(number(p.x)),\(number(p.y)),\(number(p.z)),\(label)\n"
            }
        }
        try FileBytes.writeAtomically([Array(s.utf8)], to: path)
    }

    static func number(_ v: Double) -> String { String(format: "%.10g", v) }

    static func readCSV(_ lines: [String], path: String) throws -> Landmarks {
        var columns = (x: 0, y: 1, z: 2, label: 3)
        var points: [SIMD3<Double>] = [], labels: [String] = []
        for (n, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            if points.isEmpty, Double(fields[0]) == nil {   // a header row
                let names = fields.map { $0.lowercased() }
                guard let x = names.firstIndex(of: "x"), let y = names.firstIndex(of: "y"), let z = names.firstIndex(of: "z") else {
                    throw RegError.invalidHeader(path: path, field: "line \(n + 1)", reason: "a header row must name columns x, y and z")
                }
                columns = (x, y, z, names.firstIndex(of: "label") ?? max(x, y, z) + 1)
                continue
            }
            guard fields.count > max(columns.x, columns.y, columns.z),
                  let x = Double(fields[columns.x]), let y = Double(fields[columns.y]), let z = Double(fields[columns.z]),
                  x.isFinite, y.isFinite, z.isFinite else {
                throw RegError.invalidHeader(path: path, field: "line \(n + 1)", reason: "expected finite x,y,z numbers, found '\(line)'")
            }
            points.append(SIMD3(x, y, z))
            labels.append(columns.label < fields.count ? fields[columns.label] : "")
        }
        guard !points.isEmpty else { throw RegError.invalidHeader(path: path, field: "points", reason: "no landmark found") }
        return Landmarks(points: points, labels: labels)
    }

    static func readElastix(_ lines: [String], path: String) throws -> Landmarks {
        guard lines[0].trimmingCharacters(in: .whitespaces).lowercased() == "point" else {
            throw RegError.invalidHeader(path: path, field: "line 1",
                                         reason: "an elastix 'index' point set holds voxel indices; convert it to 'point' (physical mm) first")
        }
        guard lines.count >= 2, let count = Int(lines[1].trimmingCharacters(in: .whitespaces)), count >= 0 else {
            throw RegError.invalidHeader(path: path, field: "line 2", reason: "expected the number of points")
        }
        guard lines.count - 2 == count else {
            throw RegError.invalidHeader(path: path, field: "points", reason: "the header says \(count) points, the file holds \(lines.count - 2)")
        }
        let points = try lines.dropFirst(2).enumerated().map { n, line -> SIMD3<Double> in
            // Every token must be a number: one that is not (a word, or digits of another script
            // such as Arabic-Indic ٦) is an error, never skipped.
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" }), v = tokens.compactMap { Double($0) }
            guard v.count == tokens.count, v.count == 2 || v.count == 3, v.allSatisfy(\.isFinite) else {
                throw RegError.invalidHeader(path: path, field: "line \(n + 3)", reason: "expected 2 or 3 numbers, found '\(line)'")
            }
            return SIMD3(v[0], v[1], v.count == 3 ? v[2] : 0)
        }
        guard !points.isEmpty else { throw RegError.invalidHeader(path: path, field: "points", reason: "no landmark found") }
        return Landmarks(points: points)
    }

    static func readFCSV(_ lines: [String], path: String) throws -> Landmarks {
        var ras = true
        var points: [SIMD3<Double>] = [], labels: [String] = []
        for (n, line) in lines.enumerated() {
            if line.hasPrefix("#") {
                if line.contains("CoordinateSystem") {
                    let value = line.split(separator: "=").last?.trimmingCharacters(in: .whitespaces) ?? ""
                    ras = !(value == "LPS" || value == "1")
                }
                continue
            }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
            guard fields.count >= 4, let x = Double(fields[1]), let y = Double(fields[2]), let z = Double(fields[3]),
                  x.isFinite, y.isFinite, z.isFinite else {
                throw RegError.invalidHeader(path: path, field: "line \(n + 1)", reason: "expected id,x,y,z,…, found '\(line)'")
            }
            points.append(ras ? SIMD3(-x, -y, z) : SIMD3(x, y, z))
            labels.append(fields.count > 11 ? fields[11] : "")
        }
        guard !points.isEmpty else { throw RegError.invalidHeader(path: path, field: "points", reason: "no landmark found") }
        return Landmarks(points: points, labels: labels)
    }
}
