import RegCore

/// Independent jobs run at once on the worker threads (`--threads`), as when several files are
/// read or written; once all have finished, the first error in job order is rethrown.
///
/// ```swift
/// try runConcurrently([{ try ImageFile.write(a, to: "a.nii.gz") }, { try ImageFile.write(b, to: "b.nii.gz") }])
/// ```
func runConcurrently(_ jobs: [() throws -> Void]) throws {
    var errors = [(any Error)?](repeating: nil, count: jobs.count)
    errors.withUnsafeMutableBufferPointer { slots in
        let failures = UnsafeSendable(slots.baseAddress!)
        parallelFor(count: jobs.count) { range in
            for i in range {
                do { try jobs[i]() } catch { failures.value[i] = error }
            }
        }
    }
    if let first = errors.lazy.compactMap({ $0 }).first { throw first }
}

/// Two values made at once (see `runConcurrently`).
///
/// ```swift
/// let (fixed, moving) = try concurrently({ try ImageFile.read(f) }, { try ImageFile.read(m) })
/// ```
func concurrently<A, B>(_ a: () throws -> A, _ b: () throws -> B) throws -> (A, B) {
    try withoutActuallyEscaping(a) { a in
        try withoutActuallyEscaping(b) { b in
            var first: A?, second: B?
            try runConcurrently([{ first = try a() }, { second = try b() }])
            return (first!, second!)
        }
    }
}
