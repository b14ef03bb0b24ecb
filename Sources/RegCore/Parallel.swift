import Dispatch
import Synchronization

/// The number of threads SwiftReg's kernels use (the CLI's `--threads`).
///
/// ```swift
/// Parallelism.threadCount = 2      // 0 restores the default: all cores
/// ```
public enum Parallelism {
    private static let requested = Atomic<Int>(0)

    /// Threads in use: the value set, or the number of active processors when unset (0).
    public static var threadCount: Int {
        get {
            let n = requested.load(ordering: .relaxed)
            return n > 0 ? n : ProcessInfoCores.active
        }
        set { requested.store(max(0, newValue), ordering: .relaxed) }
    }
}

enum ProcessInfoCores {
    static var active: Int {
        #if canImport(Glibc)
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, n)
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A pointer-carrying box that may cross into worker threads. The caller promises that each
/// worker touches a disjoint part of the memory.
public struct UnsafeSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Runs `body` over `0..<count` split into a fixed list of chunks of `chunkSize` items.
///
/// The partition depends only on `count` and `chunkSize`, never on the thread count, so a
/// reduction that combines per-chunk results in chunk order is bitwise identical for any
/// number of threads. `Parallelism.threadCount` workers take the chunks in order, each the
/// next one left when it is free, so a worker slowed down does not hold the others up.
///
/// ```swift
/// parallelFor(count: geometry.size.z, chunkSize: 1) { slabs in
///     for z in slabs { /* process slice z */ }
/// }
/// ```
public func parallelFor(count: Int, chunkSize: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunk = max(1, chunkSize)
    let chunks = (count + chunk - 1) / chunk
    let workers = min(Parallelism.threadCount, chunks)
    if workers <= 1 {
        for c in 0..<chunks { body(c * chunk..<min(count, (c + 1) * chunk)) }
        return
    }
    let next = Atomic<Int>(0)
    withoutActuallyEscaping(body) { body in
        let shared = UnsafeSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let c = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard c < chunks else { return }
                shared.value(c * chunk..<min(count, (c + 1) * chunk))
            }
        }
    }
}

/// Computes one partial result per fixed chunk in parallel and combines them in chunk order,
/// so the result is identical for any thread count.
///
/// ```swift
/// let total = parallelReduce(count: n, chunkSize: 4096, initial: 0.0, combine: +) { range in
///     range.reduce(0.0) { $0 + Double(values[$1]) }
/// }
/// ```
public func parallelReduce<T>(count: Int, chunkSize: Int, initial: T, combine: (T, T) -> T,
                              _ partial: (Range<Int>) -> T) -> T {
    guard count > 0 else { return initial }
    let chunk = max(1, chunkSize)
    let chunks = (count + chunk - 1) / chunk
    var partials = [T?](repeating: nil, count: chunks)
    partials.withUnsafeMutableBufferPointer { out in
        let outBox = UnsafeSendable(out)
        parallelFor(count: chunks) { cs in
            for c in cs { outBox.value[c] = partial(c * chunk..<min(count, (c + 1) * chunk)) }
        }
    }
    return partials.reduce(initial) { combine($0, $1!) }
}
