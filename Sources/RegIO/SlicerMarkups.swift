import Foundation
import RegCore

/// 3D Slicer's markups JSON (`.mrk.json`, schema v1.0.x): a list of markups, each with a `type`,
/// a `coordinateSystem` (`LPS` or `RAS`) and its `controlPoints` (`label`, `position`,
/// `positionStatus`). Points of every `Fiducial` (point list) markup are read, in LPS mm; points
/// whose position is not `defined` are skipped. Written as one point list in LPS, which Slicer 5
/// opens as it is.
///
/// ```swift
/// let points = try LandmarkFile.read("F.mrk.json")        // LPS mm, labels kept
/// try LandmarkFile.write(points, to: "moved.mrk.json")
/// ```
enum SlicerMarkups {
    static let schema = "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#"

    static func read(_ text: String, path: String) throws -> Landmarks {
        guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let markups = root["markups"] as? [[String: Any]] else {
            throw RegError.invalidHeader(path: path, field: "markups", reason: "not a Slicer markups file (a JSON object with a \"markups\" list)")
        }
        var points: [SIMD3<Double>] = [], labels: [String] = [], otherTypes: [String] = []
        for (m, markup) in markups.enumerated() {
            let type = markup["type"] as? String ?? ""
            guard type == "Fiducial" || type == "PointList" else { otherTypes.append(type); continue }
            let system = (markup["coordinateSystem"] as? String ?? "LPS").uppercased()
            guard system == "LPS" || system == "RAS" else {
                throw RegError.invalidHeader(path: path, field: "markups[\(m)].coordinateSystem", reason: "must be LPS or RAS, found \(system)")
            }
            if let units = markup["coordinateUnits"] as? String, units != "mm" {
                throw RegError.invalidHeader(path: path, field: "markups[\(m)].coordinateUnits", reason: "must be mm, found \(units)")
            }
            for (c, point) in (markup["controlPoints"] as? [[String: Any]] ?? []).enumerated() {
                if let status = point["positionStatus"] as? String, status != "defined" { continue }
                let field = "markups[\(m)].controlPoints[\(c)].position"
                let v = (point["position"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue }
                guard v.count == 3, (point["position"] as? [Any])?.count == 3, v.allSatisfy(\.isFinite) else {
                    throw RegError.invalidHeader(path: path, field: field, reason: "expected three finite numbers")
                }
                points.append(system == "RAS" ? SIMD3(-v[0], -v[1], v[2]) : SIMD3(v[0], v[1], v[2]))
                labels.append(point["label"] as? String ?? "")
            }
        }
        guard !points.isEmpty else {
            let found = otherTypes.isEmpty ? "" : " (found only: \(otherTypes.joined(separator: ", ")))"
            throw RegError.invalidHeader(path: path, field: "markups", reason: "no defined point of a Fiducial markup\(found)")
        }
        return Landmarks(points: points, labels: labels)
    }

    static func text(_ landmarks: Landmarks, path: String) throws -> String {
        let controlPoints: [[String: Any]] = zip(landmarks.points, landmarks.labels).enumerated().map { i, pair in
            ["id": "\(i + 1)", "label": pair.1.isEmpty ? "F-\(i + 1)" : pair.1, "description": "", "associatedNodeID": "",
             "position": [pair.0.x, pair.0.y, pair.0.z], "orientation": [-1.0, 0, 0, 0, -1, 0, 0, 0, 1],
             "selected": true, "locked": false, "visibility": true, "positionStatus": "defined"]
        }
        let root: [String: Any] = ["@schema": schema, "markups": [[
            "type": "Fiducial", "coordinateSystem": "LPS", "coordinateUnits": "mm", "locked": false,
            "fixedNumberOfControlPoints": false, "labelFormat": "%N-%d", "lastUsedControlPointNumber": landmarks.count,
            "controlPoints": controlPoints, "measurements": [[String: Any]](),
        ] as [String: Any]]]
        let data = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
