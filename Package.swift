// swift-tools-version:6.0
import PackageDescription
import Foundation

/// Release builds are tuned for the CPU that builds them (`-target-cpu native`: AVX2/AVX-512 on
/// current x86 machines), as scientific codes built with `-march=native` are; the hot kernels
/// run 1.5–2× faster. Set `SWIFTREG_PORTABLE=1` when building a binary to copy to other machines.
let hostTuning: [SwiftSetting] = {
    #if arch(x86_64)
    if ProcessInfo.processInfo.environment["SWIFTREG_PORTABLE"] == nil {
        return [.unsafeFlags(["-target-cpu", "native"], .when(configuration: .release))]
    }
    #endif
    return []
}()

let package = Package(
    name: "SwiftReg",
    products: [
        .executable(name: "swiftreg", targets: ["swiftreg"]),
        .library(name: "RegCore", targets: ["RegCore"]),
        .library(name: "RegKernels", targets: ["RegKernels"]),
        .library(name: "RegIO", targets: ["RegIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Thin system-library shims: one header each, linked from Debian packages.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),

        .target(name: "RegCore", swiftSettings: hostTuning),
        .target(name: "RegKernels", dependencies: ["RegCore"], swiftSettings: hostTuning),
        .target(name: "RegIO", dependencies: ["RegCore", "CZlib", "CPNG", "CTurboJPEG"], swiftSettings: hostTuning),
        .executableTarget(name: "swiftreg", dependencies: [
            "RegCore", "RegKernels", "RegIO",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: hostTuning),

        .target(name: "RegTestSupport", dependencies: ["RegCore"], path: "Tests/RegTestSupport"),
        .testTarget(name: "RegCoreTests", dependencies: ["RegCore", "RegTestSupport"]),
        .testTarget(name: "RegKernelsTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTestSupport"]),
        .testTarget(name: "RegIOTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SwiftRegCLITests", dependencies: ["RegCore", "RegIO", "RegTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
