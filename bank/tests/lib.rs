//! The bank side's integration tests, one binary: provisioning and activation
//! end to end, the activation confirmation, the verifier, SMS codes.
// A test fails by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod activation;
mod confirmation;
mod sms;
mod store_postgres;
mod verifier;
