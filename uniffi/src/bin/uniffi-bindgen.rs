//! `uniffi-bindgen`, pinned to the UniFFI version dynpin is built with, so the
//! generated Kotlin, Swift and Python always match the library's scaffolding.
//!
//! ```text
//! cargo run -p uniffi-bindgen -- generate --library target/debug/libdynpin.so --language kotlin --out-dir bindings/kotlin/generated
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
