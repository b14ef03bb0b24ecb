import CMalloc

/// glibc malloc tuned for registration, as every SwiftReg process (the CLI, a host of the C ABI)
/// sets it once before the first run: freed volume-sized blocks stay in the heap instead of going
/// back to the kernel, since each fresh 50 MB field would otherwise cost thousands of page faults,
/// which made the dense passes of deformable registration up to 5× slower; and one heap, so
/// blocks one thread frees serve the next allocation of another. The process keeps its peak
/// heap for reuse.
///
/// ```swift
/// MallocTuning.apply()
/// ```
public enum MallocTuning {
    public static func apply() {
        mallopt(M_MMAP_THRESHOLD, Int32.max)
        mallopt(M_TRIM_THRESHOLD, -1)   // never: a network's freed layers serve the next ones without page faults
        mallopt(M_ARENA_MAX, 1)
    }
}
