/// What a registration reports while it runs: one event after each iteration (for a progress
/// bar) and one when a level ends (with a line describing it).
///
/// ```swift
/// var reg = Registration(RegistrationPlan.preset("syn")!)
/// reg.progress = { event in
///     if event.kind == .level { print(event.message ?? "") }
/// }
/// ```
public struct ProgressEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case iteration, level, done
    }

    public var kind: Kind
    /// The stage: a linear model (`rigid`, `affine`, …), `SyN`, `demons` or `B-spline`.
    public var stage: String
    /// 1-based level, and the stage's number of levels.
    public var level: Int
    public var levels: Int
    /// 1-based iteration (cost evaluation for linear stages), and the level's limit.
    public var iteration: Int
    public var iterations: Int
    /// The metric after this iteration: a cost for linear stages, a similarity for dense ones.
    public var value: Double
    /// For `.level`: a line describing the finished level.
    public var message: String?

    public init(kind: Kind, stage: String, level: Int, levels: Int, iteration: Int, iterations: Int, value: Double,
                message: String? = nil) {
        self.kind = kind
        self.stage = stage
        self.level = level
        self.levels = levels
        self.iteration = iteration
        self.iterations = iterations
        self.value = value
        self.message = message
    }
}

/// Receives progress events; called on the registering thread. Throwing cancels the
/// registration: the error (`RegistrationCancelled`, or the handler's own) leaves `run`, and the
/// registration stops within the iteration that reported.
public typealias ProgressHandler = @Sendable (ProgressEvent) throws -> Void

/// What a progress handler throws to stop a registration, e.g. when the user asks to cancel.
public struct RegistrationCancelled: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "registration cancelled" }
}
