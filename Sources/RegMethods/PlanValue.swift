import Foundation
import RegCore

/// A plan file's content as plain data: numbers, flags, names, lists and maps with their keys in
/// the order they are written. `RegistrationPlan(document:)` reads one and
/// `RegistrationPlan.document` writes one; `yaml` and `json` print it (a YAML or JSON parser
/// gives one back through `init(parsed:)`).
///
/// ```swift
/// let value = PlanValue.map([("model", .string("rigid")), ("shrink", .list([.integer(4), .integer(2)]))])
/// print(value.yaml)   // model: rigid\nshrink: [4, 2]
/// ```
public indirect enum PlanValue: Equatable, Sendable {
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case string(String)
    case list([PlanValue])
    case map([PlanEntry])

    /// The value a YAML or JSON parser returned (`Int`, `Double`, `Bool`, `String`, arrays and
    /// string-keyed dictionaries); nil for anything else. Dictionary keys come out sorted.
    public init?(parsed: Any) {
        switch parsed {
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .integer(i)
        case let d as Double: self = .number(d)
        case let s as String: self = .string(s)
        case let a as [Any]:
            var items: [PlanValue] = []
            for element in a {
                guard let v = PlanValue(parsed: element) else { return nil }
                items.append(v)
            }
            self = .list(items)
        case let d as [String: Any]:
            var entries: [PlanEntry] = []
            for key in d.keys.sorted() {
                guard let v = PlanValue(parsed: d[key]!) else { return nil }
                entries.append(PlanEntry(key, v))
            }
            self = .map(entries)
        default: return nil
        }
    }

    /// The value as block-style YAML (short lists of scalars in flow style).
    public var yaml: String {
        var lines: [String] = []
        Self.appendYAML(self, indent: "", to: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The value as indented JSON, keys in their order.
    public var json: String { jsonText(indent: "") + "\n" }

    var scalarText: String? {
        switch self {
        case .integer(let i): return String(i)
        case .number(let d): return Self.text(of: d)
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return Self.quotedIfNeeded(s)
        case .list, .map: return nil
        }
    }

    /// A double as its shortest round-tripping decimal, with a decimal point so that YAML reads
    /// it back as a number (`1.0e-06`, `0.25`, `2.0`).
    static func text(of value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? ".nan" : (value < 0 ? "-.inf" : ".inf") }
        var s = "\(value)"
        if !s.contains("."), let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) { s.insert(contentsOf: ".0", at: e) }
        return s
    }

    static func quotedIfNeeded(_ s: String) -> String {
        let plain = !s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber || "._/-+~".contains($0) }
            && Double(s) == nil && !["true", "false", "yes", "no", "on", "off", "null", "~"].contains(s.lowercased())
            && !s.hasPrefix("-")
        guard !plain else { return s }
        let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"" + escaped + "\""
    }

    static func appendYAML(_ value: PlanValue, indent: String, to lines: inout [String]) {
        switch value {
        case .map(let entries):
            for entry in entries {
                switch entry.value {
                case .map(let inner) where !inner.isEmpty:
                    lines.append(indent + entry.key + ":")
                    appendYAML(entry.value, indent: indent + "  ", to: &lines)
                case .list(let items) where items.contains(where: { $0.scalarText == nil }):
                    lines.append(indent + entry.key + ":")
                    appendYAML(entry.value, indent: indent, to: &lines)
                default:
                    lines.append(indent + entry.key + ": " + entry.value.flowText)
                }
            }
        case .list(let items):
            for item in items {
                var inner: [String] = []
                appendYAML(item, indent: indent + "  ", to: &inner)
                guard let first = inner.first else { continue }
                lines.append(indent + "- " + first.dropFirst(indent.count + 2))
                lines.append(contentsOf: inner.dropFirst())
            }
        default:
            lines.append(indent + value.flowText)
        }
    }

    /// Scalars as themselves, lists and maps in flow style (`[4, 2, 1]`, `{}`).
    var flowText: String {
        switch self {
        case .list(let items): return "[" + items.map(\.flowText).joined(separator: ", ") + "]"
        case .map(let entries): return "{" + entries.map { $0.key + ": " + $0.value.flowText }.joined(separator: ", ") + "}"
        default: return scalarText!
        }
    }

    func jsonText(indent: String) -> String {
        let inner = indent + "  "
        switch self {
        case .integer, .bool: return scalarText!
        case .number(let d): return d.isFinite ? Self.text(of: d) : "null"
        case .string(let s): return Self.jsonString(s)
        case .list(let items):
            guard !items.isEmpty else { return "[]" }
            if items.allSatisfy({ $0.scalarText != nil }) { return "[" + items.map { $0.jsonText(indent: inner) }.joined(separator: ", ") + "]" }
            return "[\n" + items.map { inner + $0.jsonText(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .map(let entries):
            guard !entries.isEmpty else { return "{}" }
            return "{\n" + entries.map { inner + Self.jsonString($0.key) + ": " + $0.value.jsonText(indent: inner) }.joined(separator: ",\n")
                + "\n" + indent + "}"
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// One key and its value in a `PlanValue.map`.
public struct PlanEntry: Equatable, Sendable {
    public var key: String
    public var value: PlanValue
    public init(_ key: String, _ value: PlanValue) {
        self.key = key
        self.value = value
    }
}

/// `PlanValue` encodes as the JSON or YAML it stands for, so a plan inside a run summary reads
/// as the plan file does.
extension PlanValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([PlanValue].self) { self = .list(a) }
        else {
            let d = try c.decode([String: PlanValue].self)
            self = .map(d.keys.sorted().map { PlanEntry($0, d[$0]!) })
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .integer(let i): var c = encoder.singleValueContainer(); try c.encode(i)
        case .number(let d): var c = encoder.singleValueContainer(); try c.encode(d)
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .list(let a): var c = encoder.unkeyedContainer(); for v in a { try c.encode(v) }
        case .map(let entries):
            var c = encoder.container(keyedBy: Key.self)
            for e in entries { try c.encode(e.value, forKey: Key(stringValue: e.key)) }
        }
    }
}

/// Reads a `PlanValue` map key by key, naming the key's path in every error and refusing keys
/// it does not know (a misspelt key is an error that lists the valid ones).
///
/// ```swift
/// var reader = try PlanReader(value, path: "linear[0]")
/// let model = try reader.name("model", among: ["rigid", "affine"], default: "rigid")
/// try reader.finish()
/// ```
public struct PlanReader {
    public let path: String
    let entries: [String: PlanValue]
    private(set) var read: Set<String> = []

    public init(_ value: PlanValue, path: String) throws {
        guard case .map(let entries) = value else {
            throw Self.error(path, "expected a map of keys and values, found \(value.flowText)")
        }
        self.path = path
        var table: [String: PlanValue] = [:]
        for e in entries {
            guard table[e.key] == nil else { throw Self.error(path, "the key '\(e.key)' is given twice") }
            table[e.key] = e.value
        }
        self.entries = table
    }

    static func error(_ path: String, _ reason: String) -> RegError {
        RegError.invalidArgument(name: path.isEmpty ? "plan" : path, reason: reason)
    }

    func key(_ k: String) -> String { path.isEmpty ? k : path + "." + k }

    public var keys: Set<String> { Set(entries.keys) }

    public mutating func value(_ k: String) -> PlanValue? {
        read.insert(k)
        return entries[k]
    }

    public func has(_ k: String) -> Bool { entries[k] != nil }

    public mutating func double(_ k: String, default d: Double? = nil) throws -> Double {
        guard let v = value(k) else {
            guard let d else { throw Self.error(key(k), "missing (a number)") }
            return d
        }
        return try Self.double(v, key(k))
    }

    public mutating func optionalDouble(_ k: String) throws -> Double? {
        guard let v = value(k) else { return nil }
        return try Self.double(v, key(k))
    }

    public mutating func integer(_ k: String, default d: Int? = nil) throws -> Int {
        guard let v = value(k) else {
            guard let d else { throw Self.error(key(k), "missing (a whole number)") }
            return d
        }
        return try Self.integer(v, key(k))
    }

    public mutating func bool(_ k: String, default d: Bool) throws -> Bool {
        guard let v = value(k) else { return d }
        switch v {
        case .bool(let b): return b
        case .string(let s) where ["true", "yes", "on"].contains(s.lowercased()): return true
        case .string(let s) where ["false", "no", "off"].contains(s.lowercased()): return false
        default: throw Self.error(key(k), "expected true or false, found \(v.flowText)")
        }
    }

    public mutating func string(_ k: String) throws -> String? {
        guard let v = value(k) else { return nil }
        switch v {
        case .string(let s): return s
        case .integer, .number: return v.scalarText
        default: throw Self.error(key(k), "expected a name or path, found \(v.flowText)")
        }
    }

    /// A name from `valid`, or `default` when the key is absent (an error when that is nil too).
    public mutating func name(_ k: String, among valid: [String], default d: String? = nil) throws -> String {
        guard let s = try string(k) else {
            guard let d else { throw Self.error(key(k), "missing: give one of \(valid.joined(separator: ", "))") }
            return d
        }
        guard valid.contains(s) else { throw Self.error(key(k), "'\(s)' is not one of \(valid.joined(separator: ", "))") }
        return s
    }

    /// One number for every level or one per level: `2` or `[4, 2, 1]`.
    public mutating func perLevel(_ k: String, levels: Int?) throws -> [Double]? {
        guard let v = value(k) else { return nil }
        let values: [Double]
        if case .list(let items) = v {
            values = try items.enumerated().map { try Self.double($1, key(k) + "[\($0)]") }
        } else {
            values = [try Self.double(v, key(k))]
        }
        guard !values.isEmpty else { throw Self.error(key(k), "needs one value, or one per level") }
        if let levels, values.count != 1, values.count != levels {
            throw Self.error(key(k), "has \(values.count) values for \(levels) levels: give one value, or one per level")
        }
        return values
    }

    /// The list under `k` (or an empty list when absent).
    public mutating func list(_ k: String) throws -> [PlanValue] {
        guard let v = value(k) else { return [] }
        guard case .list(let items) = v else { return [v] }
        return items
    }

    /// Fails when the map holds a key that was never asked for, listing the valid keys.
    public func finish(valid extra: [String] = []) throws {
        let unknown = entries.keys.filter { !read.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        let valid = (read.union(extra)).sorted().joined(separator: ", ")
        throw Self.error(key(first), "unknown key; valid keys here: \(valid)")
    }

    static func double(_ v: PlanValue, _ key: String) throws -> Double {
        switch v {
        case .number(let d): return d
        case .integer(let i): return Double(i)
        case .string(let s):
            if let d = Double(s.trimmingCharacters(in: .whitespaces)), s.unicodeScalars.allSatisfy({ $0.isASCII }) { return d }
            fallthrough
        default: throw error(key, "expected a number, found \(v.flowText)")
        }
    }

    static func integer(_ v: PlanValue, _ key: String) throws -> Int {
        let d = try double(v, key)
        guard d == d.rounded(), abs(d) < 1e15 else { throw error(key, "expected a whole number, found \(v.flowText)") }
        return Int(d)
    }
}
