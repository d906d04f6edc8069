//! Zegel: an archive that seals packages into a per-archive hash chain and Merkle log with
//! signed receipts and checkpoints. See docs/ARCHITECTURE.md for the map.
//!
//! The formats themselves (bytes, proofs, verification) live in the `zegel-format` crate,
//! re-exported here as [`format`]; this crate adds everything that does IO. The server stack
//! (RocksDB, HTTP) is behind the default `server` feature, so the verifier builds without it.

pub use zegel_format as format;

pub mod bench;
pub mod clock;
#[cfg(feature = "server")]
pub mod error;
pub mod keyfile;
pub mod limits;
pub mod seal;
pub mod verify_cli;

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "server")]
pub mod archive;
#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod bagit;
#[cfg(feature = "server")]
pub mod bench_audit;
#[cfg(feature = "server")]
pub mod bench_server;
#[cfg(feature = "server")]
pub mod bench_tier;
#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod cold;
#[cfg(feature = "server")]
pub mod export;
#[cfg(feature = "server")]
pub mod retention;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "server")]
pub mod tenant;
#[cfg(feature = "server")]
pub mod tier;
#[cfg(feature = "server")]
pub mod usage;
