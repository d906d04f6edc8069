//! Integration tests of the formats crate, one binary (see docs/ARCHITECTURE.md).

mod codec;
mod merkle;
mod vectors;
