import Dispatch
import Synchronization

/// The number of threads SwiftReg's kernels use (the CLI's `--threads`).
///
/// ```swift
/// Parallelism.threadCount = 2      // 0 restores the default: all cores
/// ```
public enum Parallelism {
    private static let requested = Atomic<Int>(0)

    /// Threads asked for: the value set, or the number of active processors when unset (0).
    /// `parallelFor` uses at most one per core.
    public static var threadCount: Int {
        get {
            let n = requested.load(ordering: .relaxed)
            return n > 0 ? n : ProcessInfoCores.active
        }
        set { requested.store(max(0, newValue), ordering: .relaxed) }
    }
}

enum ProcessInfoCores {
    /// Online processors, read once.
    static let active: Int = {
        #if canImport(Glibc)
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, n)
        #else
        return 1
        #endif
    }()
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
/// number of threads. `Parallelism.threadCount` workers, at most one per core (the caller
/// and threads of a pool that stay ready between calls), take the chunks in order, each the
/// next one left when it is free, so a worker slowed down does not hold the others up. A
/// `parallelFor` called while another runs, inside its body or from another thread, runs on
/// its own thread alone.
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
    let workers = min(Parallelism.threadCount, chunks, WorkerPool.largestTeam, ProcessInfoCores.active)
    let runAll = { (body: (Range<Int>) -> Void) in for c in 0..<chunks { body(c * chunk..<min(count, (c + 1) * chunk)) } }
    guard workers > 1 else { return runAll(body) }
    withoutActuallyEscaping(body) { body in
        let job = WorkerPool.Job(body: body, count: count, chunk: chunk, chunks: chunks)
        if !WorkerPool.shared.run(job, helpers: workers - 1) { runAll(body) }
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

/// The threads that help `parallelFor`: each spins about 0.2 ms for the next job (yielding
/// its core to any other thread that waits for it) before it sleeps, so the many short
/// kernels of a small grid, called one after another, do not each wait for a thread to wake
/// up (about 20 µs with Dispatch's `concurrentPerform`). One job runs at a time; the thread
/// that starts it takes part and waits for the helpers to finish.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()
    /// Helpers fit in the low byte of `state`.
    static let largestTeam = 256

    struct Job {
        let body: (Range<Int>) -> Void
        let count: Int, chunk: Int, chunks: Int
    }

    /// The job's serial number times 256 plus how many helpers take part; only the owner writes it.
    private let state = Atomic<Int>(0)
    private let owned = Atomic<Bool>(false)
    private let nextChunk = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    /// The current job: written by its owner before `state` announces it, cleared once all helpers finished.
    private var job: Job?
    private var threads = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
    }

    /// Runs `job` on the calling thread and `helpers` pool threads and returns true, or false
    /// without running anything when the pool is busy with another job.
    func run(_ job: Job, helpers: Int) -> Bool {
        guard owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        let previous = state.load(ordering: .relaxed)
        while threads < helpers { startThread(index: threads, seen: previous); threads += 1 }
        self.job = job
        nextChunk.store(0, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        state.store(((previous >> 8) &+ 1) << 8 | helpers, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wakeUp)
            pthread_mutex_unlock(mutex)
        }
        takeChunks()
        var spins = 0
        while finished.load(ordering: .acquiring) < helpers {
            spins &+= 1
            if spins > 1000 { sched_yield() }
        }
        self.job = nil
        owned.store(false, ordering: .releasing)
        return true
    }

    private func takeChunks() {
        let job = self.job!
        while true {
            let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            guard c < job.chunks else { return }
            job.body(c * job.chunk..<min(job.count, (c + 1) * job.chunk))
        }
    }

    /// Starts helper `index`, which waits for a state other than `seen`.
    private func startThread(index: Int, seen: Int) {
        final class Start {
            let pool: WorkerPool, index: Int, seen: Int
            init(_ pool: WorkerPool, _ index: Int, _ seen: Int) { (self.pool, self.index, self.seen) = (pool, index, seen) }
        }
        let start = Unmanaged.passRetained(Start(self, index, seen)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.pool.serve(index: start.index, seen: start.seen)
        }, start)
        precondition(rc == 0, "parallelFor could not start a thread (pthread_create error \(rc))")
        pthread_detach(thread)
    }

    private func serve(index: Int, seen first: Int) -> Never {
        var seen = first
        while true {
            seen = nextState(after: seen)
            guard index < seen & 0xff else { continue }
            takeChunks()
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// The state once it differs from `seen`: spins about 0.2 ms, then sleeps until woken.
    private func nextState(after seen: Int) -> Int {
        let deadline = DispatchTime.now().uptimeNanoseconds &+ 200_000
        var spins = 0
        while true {
            let now = state.load(ordering: .acquiring)
            if now != seen { return now }
            spins &+= 1
            guard spins & 63 == 0 else { continue }
            if DispatchTime.now().uptimeNanoseconds > deadline { break }
            sched_yield()   // a thread of another process waiting for this core runs first
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { sleepers.wrappingSubtract(1, ordering: .relaxed) }
        var now = state.load(ordering: .sequentiallyConsistent)
        while now == seen {
            pthread_cond_wait(wakeUp, mutex)
            now = state.load(ordering: .acquiring)
        }
        return now
    }
}
