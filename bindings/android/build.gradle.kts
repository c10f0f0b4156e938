// Packages the UniFFI-generated Kotlin (src/main/kotlin/ir/dynpin) and the native
// libraries (src/main/jniLibs/<abi>/libdynpin_ffi.so) made by scripts/build-android,
// with the hand-written Keystore and biometric code (src/main/kotlin/ir/dynpin/android).
// Published as ir.dynpin:dynpin (maven-publish; see bindings/README.md):
//   gradle publishToMavenLocal [-PdynpinVersion=0.1.0]   (from bindings/android)
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
    `maven-publish`
}

// The version of the Rust workspace (Cargo.toml, [workspace.package] version);
// override with -PdynpinVersion=... or dynpinVersion=... in gradle.properties.
val dynpinVersion: String = providers.gradleProperty("dynpinVersion").getOrElse("0.1.0")

group = "ir.dynpin"
version = dynpinVersion

android {
    namespace = "ir.dynpin"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        // R8 rules applied by the app that depends on this library (JNA needs them).
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        kotlin.srcDir("src/main/kotlin")
        jniLibs.srcDir("src/main/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    publishing {
        // The AAR of the release build type, with a -sources.jar of the generated Kotlin.
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // UniFFI's Kotlin calls the native library through JNA; the AAR carries
    // JNA's own native dispatch libraries for every Android ABI. 5.17.0 is the
    // first release whose libjnidispatch.so loads on 16 KB-page devices
    // (earlier ones crash there); `api`, so the POM declares it for the app.
    api("net.java.dev.jna:jna:5.17.0@aar")
    // `android = true` bindings annotate API-level-specific code.
    implementation("androidx.annotation:annotation:1.9.1")
    // The reference platform code in src/main/kotlin/ir/dynpin/android: BiometricKey shows a
    // BiometricPrompt (its manifest declares USE_BIOMETRIC; `api`, because BiometricKey's
    // functions take its PromptInfo and a FragmentActivity) and suspends until the prompt closes
    // (kotlinx-coroutines, which the bindings' suspend functions need too; 1.10.x is built with
    // Kotlin 2.1, the plugin above).
    api("androidx.biometric:biometric:1.1.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}

// The Android plugin creates the "release" software component after the build
// script is evaluated, hence afterEvaluate.
afterEvaluate {
    publishing {
        publications {
            create<MavenPublication>("release") {
                from(components["release"])
                groupId = "ir.dynpin"
                artifactId = "dynpin"
                version = dynpinVersion
                pom {
                    name.set("dynpin")
                    description.set("dynpin for Android: the UniFFI Kotlin bindings and libdynpin_ffi.so")
                }
            }
        }
    }
}
