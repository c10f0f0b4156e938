// The dynpin Android library module. Build the native libraries and the Kotlin
// bindings first with scripts/build-android, then: ./gradlew :dynpin:assembleRelease
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "dynpin-android"
include(":dynpin")
project(":dynpin").projectDir = file(".")
