//! The `bank` and `phone` programs as processes, one test binary.
// A test fails by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod programs;
