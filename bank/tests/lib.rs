//! The bank side's integration tests, one binary: provisioning and activation
//! end to end, the activation confirmation, the verifier, SMS codes, and the
//! behaviour suite every store backend passes.
// A test fails by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// First, so that its `store_behaviour!` macro is in scope in every module after it.
#[macro_use]
mod store;

mod activation;
mod confirmation;
mod fleet;
mod gateway;
mod pages;
mod program;
mod sms;
mod store_postgres;
mod store_sqlite;
mod support;
mod verifier;
