import Foundation
import RegCore
import RegIO
import RegMethods
import Yams

/// Registration plans and training configurations as YAML or JSON files (`register --plan`,
/// `train --config`); plans print as YAML (`--print-plan`) or JSON.
///
/// ```swift
/// var plan = try PlanFile.read("plan.yaml")
/// plan.linear[0].levels[0].iterations = 300
/// try TextFile.write(PlanFile.text(plan), to: "plan2.yaml")
/// ```
public enum PlanFile {
    public enum Format {
        case yaml, json
        public init(path: String) { self = path.lowercased().hasSuffix(".json") ? .json : .yaml }
    }

    /// Reads a plan; errors name the file and the key, and list the valid keys and names.
    public static func read(_ path: String) throws -> RegistrationPlan {
        try plan(fromText: try TextFile.read(path), source: path)
    }

    /// A plan from its text (YAML, of which JSON is a part), its values checked
    /// (`RegistrationPlan.validate`) as it is read, so `--print-plan` refuses what a run would.
    public static func plan(fromText text: String, source: String = "plan") throws -> RegistrationPlan {
        do {
            return try RegistrationPlan(document: try parse(text, path: source))
        } catch RegError.invalidArgument(let name, let reason) {
            throw RegError.invalidHeader(path: source, field: name, reason: reason)
        }
    }

    /// The plan as a file's text.
    public static func text(_ plan: RegistrationPlan, format: Format = .yaml) -> String {
        switch format {
        case .yaml: return "# SwiftReg registration plan: swiftreg register --plan FILE\n" + plan.document.yaml
        case .json: return plan.document.json
        }
    }

    static func parse(_ text: String, path: String) throws -> PlanValue {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw RegError.invalidHeader(path: path, field: "YAML", reason: "\(error)")
        }
        var budget = 100_000
        guard let node, let value = PlanValue(parsed: try plainValue(node, path: path, budget: &budget)) else {
            throw RegError.invalidHeader(path: path, field: "plan", reason: "expected a map of plan keys (initialization, linear, deformable, …)")
        }
        return value
    }

    /// The node as the values `PlanValue(parsed:)` takes. Built here rather than by `Yams.load`,
    /// whose constructor traps on a key that is not a scalar (`{[1]: 2}`, found by fuzzing). At
    /// most `budget` nodes are visited: aliases are resolved into the tree, so a few nested
    /// `*name`s in a small file would otherwise expand without end ("billion laughs").
    static func plainValue(_ node: Node, path: String, budget: inout Int) throws -> Any {
        budget -= 1
        guard budget >= 0 else {
            throw RegError.invalidHeader(path: path, field: "YAML", reason: "more than 100000 values (aliases expanding?); a plan holds a few hundred")
        }
        switch node {
        case .scalar(let scalar):
            return plainScalar(scalar)
        case .sequence(let sequence):
            return try sequence.map { try plainValue($0, path: path, budget: &budget) }
        case .mapping(let mapping):
            var entries: [String: Any] = [:]
            for (key, value) in mapping {
                guard case .scalar(let name) = key else {
                    throw RegError.invalidHeader(path: path, field: "line \((key.mark?.line ?? 0))", reason: "a key must be a name, found a list or map")
                }
                guard name.string != "<<" else {
                    throw RegError.invalidHeader(path: path, field: "line \((key.mark?.line ?? 0))", reason: "merge keys (<<) are not supported in plan files")
                }
                entries[name.string] = try plainValue(value, path: path, budget: &budget)
            }
            return entries
        case .alias:
            throw RegError.invalidHeader(path: path, field: "YAML", reason: "aliases (*name) are not supported in plan files")
        }
    }

    /// A scalar as a plan holds it: a quoted one is text; a plain one is true/false, a whole
    /// number, a number (with YAML's `.inf` and `.nan`), or else text. Not Yams' constructor,
    /// which also reads YAML 1.1's base-60 integers (`1:30`) and traps on their overflow
    /// (`2000000000000063861:30`, found by fuzzing).
    static func plainScalar(_ scalar: Node.Scalar) -> Any {
        let text = scalar.string
        guard scalar.style == .plain || scalar.style == .any else { return text }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        case ".inf", ".Inf", ".INF", "+.inf": return Double.infinity
        case "-.inf", "-.Inf", "-.INF": return -Double.infinity
        case ".nan", ".NaN", ".NAN": return Double.nan
        default: break
        }
        if let whole = Int(text) { return whole }
        if let number = Double(text), text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true { return number }
        return text
    }

    /// Decodes `type` from a YAML or JSON file (by extension); errors name the file and the key.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let text = try TextFile.read(path)
        do {
            switch Format(path: path) {
            case .json: return try JSONDecoder().decode(T.self, from: Data(text.utf8))
            case .yaml: return try YAMLDecoder().decode(T.self, from: text)
            }
        } catch let error as DecodingError {
            throw RegError.invalidHeader(path: path, field: Self.field(of: error), reason: Self.reason(of: error))
        } catch let error as YamlError {
            throw RegError.invalidHeader(path: path, field: "YAML", reason: "\(error)")
        }
    }

    static func field(of error: DecodingError) -> String {
        let path: [CodingKey]
        switch error {
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        @unknown default: path = []
        }
        let names = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return names.isEmpty ? "file" : names.joined(separator: ".")
    }

    static func reason(of error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case .typeMismatch(let type, let c): return "expected \(type): \(c.debugDescription)"
        case .valueNotFound(let type, let c): return "missing \(type): \(c.debugDescription)"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
