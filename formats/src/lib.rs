//! Zegel's formats as code: the exact bytes that are hashed and signed, their strict decoders,
//! RFC 9162 Merkle proofs, signed notes, and offline verification.
//!
//! This crate does no IO and links no database, so `zegel-verify` builds from it alone.
//! Every public encoder and decoder cites the section of `formats/` it implements.

pub mod bundle;
pub mod cbor;
pub mod checkpoint;
pub mod disposition;
pub mod error;
pub mod hash;
pub mod header;
pub mod layout;
pub mod limits;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod receipt;
pub mod sealed;
pub mod segment;
pub mod sip;
pub mod vectors;
pub mod verify;

pub use error::DecodeError;
pub use hash::Hash;
