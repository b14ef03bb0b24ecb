import Foundation
import RegCore
import RegIO

/// Two values made at once on the worker threads (`--threads`), as when two files are read;
/// once both are done, the first one's error is rethrown before the second's.
///
/// ```swift
/// let (fixed, moving) = try concurrently({ try ImageFile.read(f) }, { try ImageFile.read(m) })
/// ```
public func concurrently<A, B>(_ a: () throws -> A, _ b: () throws -> B) throws -> (A, B) {
    var first: Result<A, any Error>?, second: Result<B, any Error>?
    let transaction = OutputTransaction.current   // files either writes belong to the caller's set
    withoutActuallyEscaping(a) { a in
        withoutActuallyEscaping(b) { b in
            parallelFor(count: 2) { range in
                OutputTransaction.withCurrent(transaction) {
                    for job in range {
                        if job == 0 { first = Result { try a() } } else { second = Result { try b() } }
                    }
                }
            }
        }
    }
    return (try first!.get(), try second!.get())
}

/// Work on a thread of its own while the caller goes on, as when finished fields stream to
/// their files while the rest of the outputs are made; `wait()` returns once it has ended and
/// rethrows its error. Wait before leaving, on errors too, or a file may stay half written.
/// With one thread allowed (`--threads 1`) the work runs at once, before `init` returns.
///
/// ```swift
/// let writes = BackgroundJob { try TransformFile.writeDisplacementField(field, to: "out_warp.nii.gz") }
/// let warped = try Resampler.resample(moving, onto: fixed.geometry, mapping: mapping)
/// try writes.wait()
/// ```
public final class BackgroundJob: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private var outcome: Result<Void, any Error> = .success(())   // written before `finished` is signalled

    public init(_ work: @escaping @Sendable () throws -> Void) {
        guard Parallelism.threadCount > 1 else {
            outcome = Result { try work() }
            finished.signal()
            return
        }
        let transaction = OutputTransaction.current   // its files belong to the caller's set
        Thread { [self] in
            outcome = Result { try OutputTransaction.withCurrent(transaction) { try work() } }
            finished.signal()
        }.start()
    }

    public func wait() throws {
        finished.wait()
        finished.signal()   // a second wait returns at once
        try outcome.get()
    }
}

/// `body` for every index in `0..<count`, `workers` at a time, each worker with its share of the
/// threads (`Parallelism.threadCount / workers`, at least one) and the caller's output
/// transaction; the results in index order, the error of the lowest failing index rethrown once
/// all have ended. SwiftReg's results do not depend on the thread count, so neither do these.
///
/// ```swift
/// let warped = try concurrentMap(count: atlases.count, workers: 2) { i in try register(atlases[i]) }
/// ```
func concurrentMap<T: Sendable>(count: Int, workers: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let workers = min(workers, count)
    guard workers > 1 else { return try (0..<count).map(body) }
    let threads = max(1, Parallelism.threadCount / workers)
    let results = WorkList<T>(count), transaction = OutputTransaction.current
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        OutputTransaction.withCurrent(transaction) {
            Parallelism.withThreadCount(threads) {
                while let k = results.take() { results.put(k, Result { try body(k) }) }
            }
        }
    }
    return try results.values.map { try $0!.get() }
}

/// Results of work handed out one index at a time to several threads.
private final class WorkList<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private(set) var values: [Result<T, Error>?]

    init(_ n: Int) { values = [Result<T, Error>?](repeating: nil, count: n) }

    /// The next index not yet handed out, nil when all are.
    func take() -> Int? {
        lock.withLock {
            guard next < values.count else { return nil }
            next += 1
            return next - 1
        }
    }

    func put(_ k: Int, _ r: Result<T, Error>) { lock.withLock { values[k] = r } }
}

/// The memory this machine has free for new work.
enum SystemMemory {
    /// `MemAvailable` of /proc/meminfo in bytes; 4 GiB where it cannot be read.
    static var available: Int {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 4 << 30 }
        return kb * 1024
    }

    /// How many runs of `bytesEach` fit in half the available memory (at least one).
    static func runsThatFit(bytesEach: Double) -> Int {
        max(1, Int(Double(available) / 2 / max(1, bytesEach)))
    }
}
