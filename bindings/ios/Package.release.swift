// swift-tools-version:5.9
// The release form of Package.swift. scripts/build-ios writes it, filled in, to
// target/ios-release/Package.swift next to DynPinFFI.xcframework.zip and
// Sources/: upload the zip to the URL, then publish the rest as the package
// (a git repository tagged with the version). Do not edit the placeholders
// here; set DYNPIN_XCFRAMEWORK_URL when running scripts/build-ios.
import PackageDescription

let package = Package(
    name: "DynPin",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "DynPin", targets: ["DynPin"]),
    ],
    targets: [
        .binaryTarget(
            name: "DynPinFFI",
            url: "@DYNPIN_XCFRAMEWORK_URL@",
            checksum: "@DYNPIN_XCFRAMEWORK_CHECKSUM@"
        ),
        .target(
            name: "DynPin",
            dependencies: ["DynPinFFI"],
            path: "Sources/DynPin",
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
    ]
)
