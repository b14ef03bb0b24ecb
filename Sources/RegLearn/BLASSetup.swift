import COpenBLAS

/// OpenBLAS, set up once before the first call: one thread. SwiftReg parallelises over blocks
/// itself, in a partition that does not depend on the thread count, so results stay bitwise
/// identical for any `--threads`. (OpenBLAS picks its kernels for the CPU at load time;
/// `OPENBLAS_CORETYPE` overrides that choice, e.g. `Haswell` for AVX2 kernels on an AVX-512 CPU.)
///
/// ```swift
/// BLASSetup.done   // before any cblas_* call
/// ```
enum BLASSetup {
    static let done: Void = { openblas_set_num_threads(1) }()
}
