//! `uniffi-bindgen`, at the UniFFI version the mobile library is built with,
//! so the generated Kotlin, Swift and Python always match its scaffolding.
//! Behind the `bindgen` feature: the library apps link never carries it.
//!
//! ```text
//! cargo run -p dynpin-ffi --features bindgen --bin uniffi-bindgen -- \
//!     generate --library target/debug/libdynpin_ffi.so --language kotlin --out-dir bindings/generated/kotlin
//! ```
//!
//! `scripts/bindings` runs it for all three languages.

fn main() {
    uniffi::uniffi_bindgen_main()
}
