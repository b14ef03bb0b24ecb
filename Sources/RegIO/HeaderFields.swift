import RegCore
/// Parsing helpers shared by the text-header formats (MetaImage, NRRD).
enum HeaderFields {
    /// Whitespace-separated numbers of a field, or an error naming the field.
    static func numbers(_ text: String, field: String, path: String, count: Int? = nil) throws -> [Double] {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
        let values = parts.map { Double($0) }
        guard !values.contains(where: { $0 == nil }) else {
            throw RegError.invalidHeader(path: path, field: field, reason: "expected numbers, found '\(text)'")
        }
        if let n = count, values.count < n {
            throw RegError.invalidHeader(path: path, field: field, reason: "expected \(n) values, found \(values.count)")
        }
        return values.map { $0! }
    }

    /// Positive integer sizes of a field.
    static func sizes(_ text: String, field: String, path: String, count: Int) throws -> [Int] {
        let values = try numbers(text, field: field, path: path, count: count)
        var out = [Int]()
        for (i, v) in values.prefix(count).enumerated() {
            guard v >= 1, v == v.rounded(), v < 1e15 else {
                throw RegError.invalidHeader(path: path, field: "\(field)[\(i)]", reason: "must be a positive integer, found \(v)")
            }
            out.append(Int(v))
        }
        return out
    }

    /// The directory part of a path, with a trailing slash, or "" for a bare name.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }

    /// The file name part of a path.
    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Formats a double so that it reads back exactly.
    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return "\(v)"
    }
}
