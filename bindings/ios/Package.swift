// swift-tools-version:5.9
// Wraps the XCFramework made by scripts/build-ios and the generated Swift.
import PackageDescription

let package = Package(
    name: "DynPin",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "DynPin", targets: ["DynPin"]),
    ],
    targets: [
        // The C header and module map of the FFI, plus libdynpin_ffi.a per platform.
        .binaryTarget(name: "DynPinFFI", path: "DynPinFFI.xcframework"),
        // The UniFFI-generated Swift (Sources/DynPin/DynPin.swift).
        .target(name: "DynPin", dependencies: ["DynPinFFI"], path: "Sources/DynPin"),
    ]
)
