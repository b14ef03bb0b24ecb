import RegCore

/// Two values made at once on the worker threads (`--threads`), as when two files are read;
/// once both are done, the first one's error is rethrown before the second's.
///
/// ```swift
/// let (fixed, moving) = try concurrently({ try ImageFile.read(f) }, { try ImageFile.read(m) })
/// ```
func concurrently<A, B>(_ a: () throws -> A, _ b: () throws -> B) throws -> (A, B) {
    var first: Result<A, any Error>?, second: Result<B, any Error>?
    withoutActuallyEscaping(a) { a in
        withoutActuallyEscaping(b) { b in
            parallelFor(count: 2) { range in
                for job in range {
                    if job == 0 { first = Result { try a() } } else { second = Result { try b() } }
                }
            }
        }
    }
    return (try first!.get(), try second!.get())
}
