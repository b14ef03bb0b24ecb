// swift-tools-version:6.0
// libFuzzer targets for SwiftReg's file readers, built apart from the main package because every
// module must be compiled with the fuzzer and address sanitizer: see scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "SwiftRegFuzz",
    dependencies: [.package(name: "SwiftReg", path: "..")],
    targets: [
        .executableTarget(name: "swiftreg-fuzz", dependencies: [
            .product(name: "RegCore", package: "SwiftReg"),
            .product(name: "RegIO", package: "SwiftReg"),
            .product(name: "RegMethods", package: "SwiftReg"),
            .product(name: "SwiftRegKit", package: "SwiftReg"),
        ]),
    ]
)
