import Foundation
import RegCore
import RegIO
import RegMethods
import RegSegment
import SwiftRegKit

// The applications on files (evaluate, segment, longitudinal, template) through one C function:
// the request as JSON, the summary back as JSON, progress as lines.

/// Called with each progress line of an application.
public typealias LineCallback = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void

/// A plan given as a preset name or as YAML/JSON text (nil: the application's default).
private func plan(preset: String?, plan text: String?) throws -> RegistrationPlan? {
    if let text { return try PlanFile.plan(fromText: text) }
    guard let preset else { return nil }
    guard let plan = RegistrationPlan.preset(preset) else {
        throw RegError.invalidArgument(name: "preset", reason: "unknown preset '\(preset)'; choose one of \(RegistrationPlan.presetNames.joined(separator: ", "))")
    }
    return plan
}

private func fusion(_ name: String?, default method: FusionMethod) throws -> LabelFusion {
    guard let name else { return LabelFusion(method: method) }
    guard let method = FusionMethod(rawValue: name) else {
        throw RegError.invalidArgument(name: "fusion", reason: "'\(name)': choose one of \(FusionMethod.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return LabelFusion(method: method)
}

/// Registrations at once, as given (nil: the application's default); at least 1.
private func concurrent(_ count: Int?) throws -> Int? {
    guard let count else { return nil }
    guard count >= 1 else { throw RegError.invalidArgument(name: "concurrent", reason: "must be ≥ 1, found \(count)") }
    return count
}

/// `evaluate`: label overlap after carrying the moving labels through `transforms`, det J statistics of `warp`.
struct EvaluateJSON: Decodable {
    var fixedLabels: String?
    var movingLabels: String?
    var transforms: [String]?
    var warp: String?
    var mask: String?
    var lut: String?
    var distances: Bool?

    func run() throws -> String {
        var request = EvaluationRequest(chain: try TransformFiles.chain(transforms ?? []))
        switch (fixedLabels, movingLabels) {
        case let (f?, m?): request.labels = (fixed: f, moving: m)
        case (nil, nil): break
        default: throw RegError.invalidArgument(name: "labels", reason: "give both fixed_labels and moving_labels")
        }
        request.warp = warp
        request.mask = mask
        request.lut = lut
        request.distances = distances ?? true
        guard request.labels != nil || warp != nil else { throw RegError.invalidArgument(name: "evaluate", reason: "give labels to compare, or a warp") }
        return try JSONText.encode(try request.run())
    }
}

/// `segment`: atlases registered to the target, their labels fused.
struct SegmentJSON: Decodable {
    var target: String
    var atlases: [AtlasFiles]
    var preset: String?
    var plan: String?
    var fusion: String?
    var select: Int?
    var mask: String?
    var lut: String?
    var keepWarps: Bool?
    var concurrent: Int?
    var finestLevel: Bool?

    func run(prefix: String, progress: @escaping @Sendable (String) -> Void) throws -> String {
        guard plan == nil || finestLevel != true else {
            throw RegError.invalidArgument(name: "finest_level", reason: "applies to presets; a plan file sets its own levels")
        }
        let fusion = try SwiftRegC.fusion(self.fusion, default: .jlf)
        var registration = try SwiftRegC.plan(preset: preset ?? "syn", plan: plan)!   // names an unknown preset
        if plan == nil {
            registration = SegmentationRequest.plan(preset: preset ?? "syn", fusion: fusion, finestLevel: finestLevel ?? false)!
        }
        var request = SegmentationRequest(target: target, atlases: atlases, plan: registration)
        request.fusion = fusion
        request.select = select
        request.mask = mask
        request.lut = lut
        request.keepWarps = keepWarps ?? false
        request.concurrentRegistrations = try SwiftRegC.concurrent(concurrent)
        return try JSONText.encode(try AtlasSegmentation.segment(request, prefix: prefix, progress: progress))
    }
}

/// `longitudinal`: change between two scans in their halfway space.
struct LongitudinalJSON: Decodable {
    var baseline: String
    var followup: String
    var mask: String?
    var labels: String?
    var lut: String?
    var preset: String?
    var plan: String?
    var allowScaling: Bool?

    func run(prefix: String, progress: @escaping @Sendable (String) -> Void) throws -> String {
        var request = LongitudinalRequest(baseline: baseline, followup: followup)
        request.mask = mask
        request.labels = labels
        request.lut = lut
        if let chosen = try SwiftRegC.plan(preset: preset, plan: plan) { request.plan = chosen }
        request.allowScaling = allowScaling ?? false
        return try JSONText.encode(try LongitudinalChange.run(request, prefix: prefix, progress: progress))
    }
}

/// `template`: an unbiased template of the images, built in this process.
struct TemplateJSON: Decodable {
    var images: [String]
    var labels: [String]?
    var initial: String?
    var iterations: Int?
    var preset: String?
    var plan: String?
    var average: String?
    var gradientStep: Double?
    var sharpen: Double?
    var fusion: String?
    var concurrent: Int?
    var fineRounds: Int?

    func run(folder: String, progress: @escaping @Sendable (String) -> Void) throws -> String {
        var settings = TemplateSettings(plan: try SwiftRegC.plan(preset: preset ?? "syn", plan: plan)!)
        settings.iterations = iterations ?? 4
        settings.gradientStep = gradientStep ?? 0.25
        settings.sharpen = sharpen ?? 0.25
        if let average {
            guard let kind = TemplateAverage(rawValue: average) else { throw RegError.invalidArgument(name: "average", reason: "'\(average)': mean or median") }
            settings.average = kind
        }
        settings.fusion = try SwiftRegC.fusion(fusion, default: .majority)
        settings.concurrentRegistrations = try SwiftRegC.concurrent(concurrent)
        if let fineRounds { settings.fineRounds = fineRounds }
        var request = TemplateRequest(images: images, settings: settings)
        request.labels = labels
        request.initial = initial
        let summary = try OutputTransaction.run(outputs: [], inputs: []) { _ in try TemplateFiles.build(request, folder: folder, progress: progress) }
        return try JSONText.encode(summary)
    }
}

/// `plan`: a preset or a plan's text as a complete plan document (JSON), with the starting
/// transform set when one is given: what `register(initial_transform=…)` hands to `sr_register`.
struct PlanJSON: Decodable {
    var preset: String?
    var plan: String?
    var initialTransform: String?

    func run() throws -> String {
        guard var chosen = try SwiftRegC.plan(preset: preset, plan: plan) else {
            throw RegError.invalidArgument(name: "plan", reason: "give a preset or a plan")
        }
        if let initialTransform { chosen.inputs.initialTransform = initialTransform }
        try chosen.validate()
        return PlanFile.text(chosen, format: .json)
    }
}

/// Hands each progress line to a C callback.
struct LineRelay: @unchecked Sendable {
    let callback: LineCallback?
    let context: UnsafeMutableRawPointer?
    func send(_ line: String) { if let callback { line.withCString { callback($0, context) } } }
}

/// The threads any application runs on (`threads`; absent or 0: all cores).
struct ThreadsJSON: Decodable {
    var threads: Int?
}

/// Runs `application` (evaluate, segment, longitudinal, template, plan) with `request` (JSON, the
/// Python package's keyword arguments in camel case), writing under `output` (a prefix; for
/// template, a folder; unused by evaluate and plan); the summary comes back as JSON.
@_cdecl("sr_run")
public func sr_run(_ application: UnsafePointer<CChar>?, _ request: UnsafePointer<CChar>?, _ output: UnsafePointer<CChar>?,
                   _ progress: LineCallback?, _ context: UnsafeMutableRawPointer?,
                   _ summary: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        guard let application, let request else { throw RegError.invalidArgument(name: "sr_run", reason: "a null string") }
        let name = String(cString: application), text = Data(String(cString: request).utf8)
        let out = output.map { String(cString: $0) } ?? ""
        let relay = LineRelay(callback: progress, context: context)
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do { return try decoder.decode(type, from: text) } catch let DecodingError.keyNotFound(key, _) {
                throw RegError.invalidArgument(name: name, reason: "missing \(key.stringValue)")
            } catch let DecodingError.typeMismatch(_, context) {
                throw RegError.invalidArgument(name: name, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
            }
        }
        let threads = try decode(ThreadsJSON.self).threads ?? 0
        guard threads >= 0 else { throw RegError.invalidArgument(name: "threads", reason: "must be ≥ 0 (0: all cores), found \(threads)") }
        let json: String = try Parallelism.withThreadCount(threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : threads) {
            switch name {
            case "evaluate": return try decode(EvaluateJSON.self).run()
            case "segment": return try decode(SegmentJSON.self).run(prefix: out, progress: relay.send)
            case "longitudinal": return try decode(LongitudinalJSON.self).run(prefix: out, progress: relay.send)
            case "template": return try decode(TemplateJSON.self).run(folder: out, progress: relay.send)
            case "plan": return try decode(PlanJSON.self).run()
            default: throw RegError.invalidArgument(name: "application", reason: "'\(name)': evaluate, segment, longitudinal, template or plan")
            }
        }
        summary?.pointee = strdup(json)
    }
}
