//! Integration tests of the `zegel` crate and its binaries, one test binary.

// Test helpers fail loudly on purpose: a panic here is a test failure, not a crash path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod api;
mod audit;
mod cli;
mod cold;
mod crash;
mod disposal;
mod disposal_crash;
mod export;
mod first_session;
mod keyfile;
mod retention;
mod seal;
mod server;
mod support;
mod tidy;
mod tier;
