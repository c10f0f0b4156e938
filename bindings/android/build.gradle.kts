// Packages the UniFFI-generated Kotlin (src/main/kotlin) and the native
// libraries (src/main/jniLibs/<abi>/libdynpin_ffi.so) made by scripts/build-android.
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

android {
    namespace = "ir.dynpin"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
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
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // UniFFI's Kotlin calls the native library through JNA; the AAR carries
    // JNA's own native dispatch libraries for every Android ABI.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    // `android = true` bindings annotate API-level-specific code.
    implementation("androidx.annotation:annotation:1.9.1")
}
