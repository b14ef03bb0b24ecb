import Dispatch
import Synchronization

/// The number of threads SwiftReg's kernels use (the CLI's `--threads`).
///
/// ```swift
/// Parallelism.threadCount = 2      // 0 restores the default: all cores
/// let serial = Parallelism.withThreadCount(1) { try? registration.run(fixed: f, moving: m) }
/// ```
public enum Parallelism {
    private static let requested = Atomic<Int>(0)
    @TaskLocal private static var scoped: Int?

    /// Threads asked for: the count of the innermost `withThreadCount`, else the value set, or
    /// the number of active processors when unset (0). `parallelFor` uses at most one per core.
    public static var threadCount: Int {
        get {
            if let n = scoped { return n }
            let n = requested.load(ordering: .relaxed)
            return n > 0 ? n : ProcessInfoCores.active
        }
        set { requested.store(max(0, newValue), ordering: .relaxed) }
    }

    /// Runs `body` with `count` threads (at least 1) for the work it starts on this thread or
    /// task, whatever other code sets meanwhile. Inside it a `parallelFor` that finds the
    /// threads busy with another caller's job waits for them rather than running alone, so a
    /// test that compares thread counts really runs each.
    public static func withThreadCount<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
        try $scoped.withValue(max(1, count), operation: body)
    }

    static var isScoped: Bool { scoped != nil }
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
/// and threads of a pool that stay ready between calls), take the chunks one at a time when
/// they are free, the caller from the front and the helpers from the back, so a worker slowed
/// down does not hold the others up, and with two threads each keeps to its own end of the
/// grid from one pass to the next (its caches still hold what it wrote there). A
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
        let pool = WorkerPool.shared
        if pool.run(job, helpers: workers - 1) { return }
        guard Parallelism.isScoped, !pool.isRunningJobOnThisThread else { return runAll(body) }
        while !pool.run(job, helpers: workers - 1) { sched_yield() }
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
/// that starts it takes part. A helper joins a job before it takes chunks, and the owner
/// closes the job once every chunk is taken: it waits only for the helpers that joined, which
/// are running chunks, never for one still waking up or kept off its core by another process.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()
    /// The most threads one job uses.
    static let largestTeam = 256

    struct Job {
        let body: (Range<Int>) -> Void
        let count: Int, chunk: Int, chunks: Int
    }

    /// The job's serial number; a change wakes the helpers. Only the owner writes it.
    private let serial = Atomic<Int>(0)
    /// The open job's team: how many helpers may join (high 32 bits) and have joined (low
    /// bits); 0 when no job is open.
    private let team = Atomic<Int>(0)
    private let owned = Atomic<Bool>(false)
    /// The thread that owns the open job (0 when none), to tell a nested call.
    private let ownerThread = Atomic<UInt>(0)
    /// Set on each helper thread.
    private static let helperKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "parallelFor could not create a thread key")
        return key
    }()
    /// The chunks not yet taken, `front..<back` packed as `front | back << 32`: the owner takes
    /// from the front, helpers from the back.
    private let untaken = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    /// The current job: written by its owner before `team` opens, cleared once every helper
    /// that joined has finished.
    private var job: Job?
    private var threads = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
    }

    /// Runs `job` on the calling thread and up to `helpers` pool threads and returns true, or
    /// false without running anything when the pool is busy with another job.
    func run(_ job: Job, helpers: Int) -> Bool {
        guard owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        ownerThread.store(UInt(pthread_self()), ordering: .relaxed)
        let previous = serial.load(ordering: .relaxed)
        while threads < helpers { startThread(seen: previous); threads += 1 }
        self.job = job
        precondition(job.chunks < 1 << 31, "parallelFor over \(job.chunks) chunks: at most 2³¹ − 1")
        untaken.store(job.chunks << 32, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        team.store(helpers << 32, ordering: .releasing)
        serial.store(previous &+ 1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wakeUp)
            pthread_mutex_unlock(mutex)
        }
        takeChunks(job, fromFront: true)
        let joined = team.exchange(0, ordering: .acquiringAndReleasing) & 0xffff_ffff
        var spins = 0
        while finished.load(ordering: .acquiring) < joined {
            spins &+= 1
            if spins > 1000 { sched_yield() }
        }
        self.job = nil
        ownerThread.store(0, ordering: .relaxed)
        owned.store(false, ordering: .releasing)
        return true
    }

    /// True on a helper thread and on the thread that owns the open job: a `parallelFor` there
    /// is nested in a job's body and must not wait for the pool.
    var isRunningJobOnThisThread: Bool {
        pthread_getspecific(Self.helperKey) != nil || ownerThread.load(ordering: .relaxed) == UInt(pthread_self())
    }

    /// Runs chunks until none is left, the owner from the front, helpers from the back: with
    /// two threads each keeps to one end of the grid in every pass, and finds there data that
    /// its own caches hold from the pass before.
    private func takeChunks(_ job: Job, fromFront: Bool) {
        var current = untaken.load(ordering: .relaxed)
        while true {
            let front = current & 0xffff_ffff, back = current >> 32
            guard front < back else { return }
            let taken = fromFront ? front : back &- 1
            let remaining = fromFront ? (front &+ 1) | back << 32 : front | (back &- 1) << 32
            let (exchanged, found) = untaken.compareExchange(expected: current, desired: remaining, ordering: .relaxed)
            guard exchanged else { current = found; continue }
            job.body(taken * job.chunk..<min(job.count, (taken + 1) * job.chunk))
            current = untaken.load(ordering: .relaxed)
        }
    }

    /// Joins the open job, if there is one with room for another helper.
    private func join() -> Bool {
        var current = team.load(ordering: .acquiring)
        while current != 0 && current & 0xffff_ffff < current >> 32 {
            let (exchanged, found) = team.compareExchange(expected: current, desired: current &+ 1, ordering: .acquiring)
            if exchanged { return true }
            current = found
        }
        return false
    }

    /// Starts a helper, which waits for a serial number other than `seen`.
    private func startThread(seen: Int) {
        final class Start {
            let pool: WorkerPool, seen: Int
            init(_ pool: WorkerPool, _ seen: Int) { (self.pool, self.seen) = (pool, seen) }
        }
        let start = Unmanaged.passRetained(Start(self, seen)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.pool.serve(seen: start.seen)
        }, start)
        precondition(rc == 0, "parallelFor could not start a thread (pthread_create error \(rc))")
        pthread_detach(thread)
    }

    private func serve(seen first: Int) -> Never {
        pthread_setspecific(Self.helperKey, UnsafeRawPointer(bitPattern: 1))
        var seen = first
        while true {
            seen = nextSerial(after: seen)
            guard join() else { continue }
            takeChunks(job!, fromFront: false)
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// The serial number once it differs from `seen`: spins about 0.2 ms, then sleeps until woken.
    private func nextSerial(after seen: Int) -> Int {
        let deadline = DispatchTime.now().uptimeNanoseconds &+ 200_000
        var spins = 0
        while true {
            let now = serial.load(ordering: .acquiring)
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
        var now = serial.load(ordering: .sequentiallyConsistent)
        while now == seen {
            pthread_cond_wait(wakeUp, mutex)
            now = serial.load(ordering: .acquiring)
        }
        return now
    }
}
