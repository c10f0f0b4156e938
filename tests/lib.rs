//! The phone core's integration tests, one binary: each module drives one
//! part through the public API only.
// A test fails by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod amount_bound;
mod card_vectors;
mod cards;
mod hash_backends;
mod import;
mod vault;
mod vault_crash;
mod vault_device;
mod vault_format;
mod vault_sharing;
mod vault_support;
