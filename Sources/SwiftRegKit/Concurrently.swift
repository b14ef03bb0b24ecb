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
