//! The mobile edge's integration tests, one binary: the `Authenticator` from
//! Rust, the same lifecycle the Kotlin, Swift and Python suites walk.
// A test fails by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod authenticator;
