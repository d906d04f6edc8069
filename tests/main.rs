//! Integration tests of the `zegel` crate and its binaries, one test binary.

// Test helpers fail loudly on purpose: a panic here is a test failure, not a crash path.
// `Result::unwrap_or_default` is refused in product code only: a test reading a snapshot that
// does not exist yet, or a file RocksDB removes under it, compares against an empty value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
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
