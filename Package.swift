// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwiftReg",
    products: [
        .executable(name: "swiftreg", targets: ["swiftreg"]),
        .library(name: "RegCore", targets: ["RegCore"]),
        .library(name: "RegKernels", targets: ["RegKernels"]),
        .library(name: "RegIO", targets: ["RegIO"]),
        .library(name: "RegTransforms", targets: ["RegTransforms"]),
        .library(name: "RegMetrics", targets: ["RegMetrics"]),
        .library(name: "RegOptimize", targets: ["RegOptimize"]),
        .library(name: "RegMethods", targets: ["RegMethods"]),
        .library(name: "RegSynth", targets: ["RegSynth"]),
        .library(name: "RegAnalysis", targets: ["RegAnalysis"]),
        .library(name: "RegSegment", targets: ["RegSegment"]),
        .library(name: "RegKeypoints", targets: ["RegKeypoints"]),
        .library(name: "RegReport", targets: ["RegReport"]),
        .library(name: "RegLearn", targets: ["RegLearn"]),
        .library(name: "SwiftRegKit", targets: ["SwiftRegKit"]),
        // The C ABI (include/swiftreg.h) as a shared library, for the Python package.
        .library(name: "swiftreg_c", type: .dynamic, targets: ["SwiftRegC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // Thin system-library shims: one header each, linked from Debian packages.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        // ITK's .h5 transform files: libhdf5, behind a few C functions (its type constants are
        // macros Swift cannot import).
        .systemLibrary(name: "CHDF5System", path: "Sources/CHDF5System", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .target(name: "CHDF5", dependencies: ["CHDF5System"], path: "Sources/CHDF5"),
        // DICOM through GDCM (Debian libgdcm-dev, which ships no pkg-config file: its header folder is named here).
        .target(name: "CGDCM", path: "Sources/CGDCM",
                cxxSettings: [.unsafeFlags(["-I/usr/include/gdcm-3.0"])],
                linkerSettings: [.linkedLibrary("gdcmMSFF"), .linkedLibrary("gdcmDSED"), .linkedLibrary("gdcmCommon")]),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),

        .target(name: "RegCore"),
        .target(name: "RegKernels", dependencies: ["RegCore"]),
        .target(name: "RegIO", dependencies: ["RegCore", "CZlib", "CPNG", "CTurboJPEG", "CHDF5", "CGDCM"]),
        .target(name: "RegTransforms", dependencies: ["RegCore", "RegKernels"]),
        .target(name: "RegMetrics", dependencies: ["RegCore", "RegKernels", "RegTransforms"]),
        .target(name: "RegOptimize"),
        .target(name: "RegMethods", dependencies: ["RegCore", "RegKernels", "RegTransforms", "RegMetrics", "RegOptimize"]),
        .target(name: "RegSynth", dependencies: ["RegCore", "RegKernels", "RegTransforms"]),
        .target(name: "RegAnalysis", dependencies: ["RegCore"]),
        // Label fusion (majority, weighted voting, joint label fusion, STAPLE) on atlases
        // already on the target's grid: image kernels, apart from the evaluation in RegAnalysis.
        .target(name: "RegSegment", dependencies: ["RegCore", "RegKernels"]),
        // Corner detection, MIND descriptors, matching and robust filters of matches.
        .target(name: "RegKeypoints", dependencies: ["RegCore", "RegKernels", "RegTransforms"]),
        .target(name: "RegReport", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegAnalysis", "RegMethods"]),
        .target(name: "RegLearn", dependencies: ["RegCore", "RegKernels", "RegTransforms", "RegOptimize", "RegAnalysis", "RegSynth", "COpenBLAS",
                                                 "CPrefetch"]),
        // Whole runs on files (read a plan's inputs, run it, write its outputs): what the CLI, the
        // batch runner and the Python package call.
        .target(name: "SwiftRegKit", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegMethods", "RegAnalysis", "RegSegment", "RegKeypoints", "RegReport", "RegSynth", "RegLearn", "CMalloc",
                                                    .product(name: "Yams", package: "Yams")]),
        .target(name: "SwiftRegC", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegMethods", "RegSegment", "SwiftRegKit"]),
        .executableTarget(name: "swiftreg", dependencies: [
            "RegCore", "RegKernels", "RegIO", "RegTransforms", "RegMetrics", "RegOptimize", "RegMethods", "RegSynth",
            "RegAnalysis", "RegSegment", "RegKeypoints", "RegReport", "RegLearn", "SwiftRegKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "RegTestSupport", dependencies: ["RegCore"], path: "Tests/RegTestSupport"),
        .testTarget(name: "RegCoreTests", dependencies: ["RegCore", "RegTestSupport"]),
        .testTarget(name: "RegKernelsTests", dependencies: ["RegCore", "RegKernels", "RegTestSupport"]),
        .testTarget(name: "RegIOTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RegTransformsTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "RegMetricsTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegMetrics",
                                                            "RegTestSupport"]),
        .testTarget(name: "RegOptimizeTests", dependencies: ["RegOptimize", "RegTestSupport"]),
        .testTarget(name: "RegMethodsTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegMetrics",
                                                            "RegOptimize", "RegMethods", "RegTestSupport"]),
        .testTarget(name: "RegSynthTests", dependencies: ["RegCore", "RegKernels", "RegTransforms", "RegSynth", "RegTestSupport"]),
        .testTarget(name: "RegAnalysisTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegAnalysis",
                                                             "RegTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RegKeypointsTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegTransforms", "RegKeypoints", "RegTestSupport"]),
        .testTarget(name: "RegSegmentTests", dependencies: ["RegCore", "RegSegment", "RegTestSupport"]),
        .testTarget(name: "RegReportTests", dependencies: ["RegCore", "RegIO", "RegTransforms", "RegAnalysis",
                                                           "RegReport", "RegTestSupport"]),
        .testTarget(name: "RegLearnTests", dependencies: ["RegCore", "RegKernels", "RegTransforms", "RegLearn", "RegTestSupport"]),
        .testTarget(name: "SwiftRegKitTests", dependencies: ["RegCore", "RegKernels", "RegIO", "RegMethods", "RegAnalysis", "SwiftRegKit",
                                                            "RegTestSupport"]),
        .testTarget(name: "SwiftRegCLITests", dependencies: ["RegCore", "RegIO", "RegKernels", "RegTestSupport"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
