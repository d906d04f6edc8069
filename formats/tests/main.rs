//! Integration tests of the formats crate, one binary (see docs/ARCHITECTURE.md).

// Test helpers fail loudly on purpose: a panic here is a test failure, not a crash path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bundle;
mod cddl;
mod codec;
mod independent;
mod layout;
mod limits;
mod merkle;
mod segment;
mod vectors;
