//! The archive layer: sequencing, sealing and reading packages of each archive.

pub mod access;
pub mod agreement;
pub mod archives;
pub mod disposed;
pub mod sequencer;
pub mod state;
