//! Zegel: an archive that seals packages into a per-archive hash chain and Merkle log with
//! signed receipts and checkpoints. See docs/ARCHITECTURE.md for the map.
//!
//! The formats themselves (bytes, proofs, verification) live in the `zegel-format` crate,
//! re-exported here as [`format`]; this crate adds everything that does IO. The offline
//! verifier is its own package (`zegel-verify`), which links none of this crate.

pub use zegel_format as format;

pub mod api;
pub mod archive;
pub mod audit;
pub mod bagit;
pub mod cli;
pub mod clock;
pub mod cold;
pub mod error;
pub mod export;
pub mod keyfile;
pub mod limits;
pub mod retention;
pub mod seal;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod tier;
pub mod usage;
