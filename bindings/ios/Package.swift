// swift-tools-version:5.9
// The development form: wraps the XCFramework scripts/build-ios leaves here and
// the generated Swift. Package.release.swift is the form an app resolves from
// a release (the XCFramework downloaded by URL and checked by checksum).
import PackageDescription

let package = Package(
    name: "DynPin",
    // Only what scripts/build-ios builds: iOS devices (arm64) and the iOS
    // simulator (arm64, x86_64), with IPHONEOS_DEPLOYMENT_TARGET=15.0.
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "DynPin", targets: ["DynPin"]),
    ],
    targets: [
        // libdynpin_ffi.a per platform, with the C header and module map in
        // Headers/DynPinFFI/ (namespaced, so a second XCFramework's module
        // map cannot collide with it).
        .binaryTarget(name: "DynPinFFI", path: "DynPinFFI.xcframework"),
        // The UniFFI-generated Swift (Sources/DynPin/DynPin.swift) and the
        // privacy manifest, which Xcode adds to the app's privacy report.
        .target(
            name: "DynPin",
            dependencies: ["DynPinFFI"],
            path: "Sources/DynPin",
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
    ]
)
