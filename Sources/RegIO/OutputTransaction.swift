import Foundation
import RegCore

/// A command's outputs written as one set. Every file written while the transaction runs goes to
/// a hidden temporary name beside its final one (`.NAME.partial-PID-N`); only when the whole body
/// has succeeded are they all renamed to their final names. On an error, or on SIGINT, SIGTERM or
/// SIGHUP once `TemporaryFiles.removeOnSignals()` is installed, the temporaries are removed and
/// none of the set appears: a folder holds either the whole new set or what it held before (but
/// for a failure or a SIGKILL in the instant of the final renames).
///
/// A transaction started while another runs joins it, so a command that calls a library
/// function which writes its own set (`RegistrationFiles.register`) commits both together.
///
/// ```swift
/// try OutputTransaction.run(outputs: ["j.nii.gz", "logj.nii.gz"], inputs: ["warp.nii.gz"]) { run in
///     try ImageFile.write(detJ, to: "j.nii.gz")
///     try ImageFile.write(logJ, to: "logj.nii.gz")    // fails → neither file is left
/// }
/// ```
public final class OutputTransaction: @unchecked Sendable {
    /// The transaction the files written on this thread belong to (`withCurrent` sets it; a
    /// `BackgroundJob` carries it to its thread). A thread-specific value rather than a
    /// `@TaskLocal`: a task-local binding makes every other task-local read in the run's hot
    /// loops (the thread count) walk the binding chain, which cost SyN a quarter of its speed.
    public static var current: OutputTransaction? {
        pthread_getspecific(currentKey).map { Unmanaged<OutputTransaction>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Runs `body` with `transaction` as this thread's current one (nil: none), then restores
    /// the one before. The caller keeps `transaction` alive meanwhile.
    public static func withCurrent<T>(_ transaction: OutputTransaction?, _ body: () throws -> T) rethrows -> T {
        let before = pthread_getspecific(currentKey)
        pthread_setspecific(currentKey, transaction.map { UnsafeRawPointer(Unmanaged.passUnretained($0).toOpaque()) })
        defer { pthread_setspecific(currentKey, before) }
        return try body()
    }

    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// This run's id: UTC time, process id and a random tag, e.g. `20261205T201512Z-4821-9f3a07c1`.
    public let id: String
    private let lock = NSLock()
    private var staged: [(temporary: String, final: String, bytes: Int)] = []
    private var removals: [String] = []

    private init() {
        // strftime, not a Foundation date formatter: loading ICU's would cost every command 2 ms.
        var now = time(nil), parts = tm()
        gmtime_r(&now, &parts)
        var text = [CChar](repeating: 0, count: 32)
        strftime(&text, text.count, "%Y%m%dT%H%M%SZ", &parts)
        id = String(cString: text) + "-\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// Checks the outputs (`OutputFolder.check`, which also removes temporaries that killed runs
    /// left beside them), runs `body` with every write staged, then renames the staged files to their
    /// final names. Inside another transaction, checks and runs `body` as part of that one.
    public static func run<T>(outputs: [String], inputs: [String], _ body: (OutputTransaction) throws -> T) throws -> T {
        try OutputFolder.check(outputs: outputs, inputs: inputs)
        if let current { return try body(current) }
        let transaction = OutputTransaction()
        let value: T
        do {
            value = try withCurrent(transaction) { try body(transaction) }
        } catch {
            transaction.discard()
            throw error
        }
        try transaction.commit()
        return value
    }

    /// The staged files among `paths`, as the run's record (names without their folder, sizes in
    /// bytes): a joined transaction may hold other sets' files too.
    public func record(of paths: [String]) -> RunRecord {
        let wanted = Set(paths)
        return lock.withLock {
            RunRecord(id: id, files: staged.filter { wanted.contains($0.final) }
                .map { RunRecord.File(name: URL(fileURLWithPath: $0.final).lastPathComponent, bytes: $0.bytes) })
        }
    }

    /// Removes `path` at the commit: an earlier run's output that this run's set does not
    /// replace. The caller checks that the file is that run's (see `RunRecord.lists`).
    public func remove(_ path: String) {
        lock.withLock { removals.append(path) }
    }

    /// A finished temporary file, to be renamed to `final` at the commit.
    func stage(temporary: String, final: String, bytes: Int) {
        lock.withLock {
            if let i = staged.firstIndex(where: { $0.final == final }) {
                unlink(staged[i].temporary)
                TemporaryFiles.forget(staged[i].temporary)
                staged.remove(at: i)
            }
            staged.append((temporary, final, bytes))
        }
    }

    private func commit() throws {
        let files = lock.withLock { staged }
        for (i, file) in files.enumerated() where rename(file.temporary, file.final) != 0 {
            let reason = String(cString: strerror(errno))
            for rest in files[i...] {
                unlink(rest.temporary)
                TemporaryFiles.forget(rest.temporary)
            }
            throw RegError.unwritableFile(path: file.final, reason: reason)
        }
        for file in files { TemporaryFiles.forget(file.temporary) }
        let written = Set(files.map(\.final))
        for path in lock.withLock({ removals }) where !written.contains(path) { unlink(path) }
    }

    private func discard() {
        for file in lock.withLock({ staged }) {
            unlink(file.temporary)
            TemporaryFiles.forget(file.temporary)
        }
    }
}

/// The temporary files being written, removed by a signal handler when the process is
/// interrupted (SIGINT, SIGTERM, SIGHUP), and those that killed runs left behind.
///
/// ```swift
/// TemporaryFiles.removeOnSignals()   // once, at the start of a program
/// ```
public enum TemporaryFiles {
    /// Room for this many temporaries at once; more are written but not tracked.
    static let capacity = 1024
    /// C strings the signal handler can read without allocating or locking.
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    static let lock = NSLock()

    /// Installs handlers that remove every tracked temporary, then end the process as the
    /// signal would have (exit status 128 + signal number). A signal the process was started
    /// ignoring (`nohup` ignores SIGHUP; a shell's background job, SIGINT) stays ignored.
    public static func removeOnSignals() {
        _ = slots
        var handled = sigset_t()
        sigemptyset(&handled)
        for s in [SIGINT, SIGTERM, SIGHUP] {
            var before = sigaction()
            sigaction(s, nil, &before)
            // The handler union's first word: SIG_IGN is the address 1 on Linux.
            guard withUnsafeBytes(of: before.__sigaction_handler, { $0.load(as: Int.self) }) != 1 else { continue }
            signal(s, removeAndRaise)
            sigaddset(&handled, s)
        }
        // A parent may have started us with these blocked (the mask survives exec, as from a
        // test runner's thread); threads made from now on inherit this thread's mask.
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }

    static func track(_ path: String) {
        lock.withLock {
            for i in 0..<capacity where slots[i] == nil {
                slots[i] = strdup(path)
                return
            }
        }
    }

    /// Stops tracking `path`. Its C string is never freed: the signal handler, on another
    /// thread, may have just read the pointer (a few dozen bytes per file written, for the life
    /// of the process).
    static func forget(_ path: String) {
        lock.withLock {
            for i in 0..<capacity {
                guard let p = slots[i], String(cString: p) == path else { continue }
                slots[i] = nil
                return
            }
        }
    }

    /// Removes `.NAME.partial-PID-N` files beside `path` whose process no longer runs (a run
    /// killed with SIGKILL, or a crash, cannot remove its own).
    static func removeAbandoned(besides path: String) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path, prefix = "." + url.lastPathComponent + ".partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0,
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(folder + "/" + name)
        }
    }
}

private func removeAndRaise(_ signalNumber: Int32) {
    let slots = TemporaryFiles.slots
    for i in 0..<TemporaryFiles.capacity {
        if let p = slots[i] { unlink(p) }
    }
    signal(signalNumber, SIG_DFL)
    raise(signalNumber)
}
