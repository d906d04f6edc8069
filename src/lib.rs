//! Zegel: an archive that seals packages into a per-archive hash chain and Merkle log with
//! signed receipts and checkpoints. See docs/ARCHITECTURE.md for the map.
//!
//! The formats themselves (bytes, proofs, verification) live in the `zegel-format` crate,
//! re-exported here as [`format`]; this crate adds everything that does IO.

pub use zegel_format as format;

pub mod bench;
pub mod keyfile;
pub mod seal;
pub mod verify_cli;
