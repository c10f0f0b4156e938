// The dynpin Android library: a single-project Gradle build (the library is the
// root project, named after its artifact). Build the native libraries and the
// Kotlin bindings first with scripts/build-android, then:
//   gradle assembleRelease          (build/outputs/aar/dynpin-release.aar)
//   gradle publishToMavenLocal      (ir.dynpin:dynpin:<version> in ~/.m2/repository)
// An app can also take it as an included build: includeBuild("path/to/bindings/android")
// in its settings.gradle.kts substitutes ir.dynpin:dynpin with this project.
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

rootProject.name = "dynpin"
