//! Tiering (issue #4): packages older than the hot period move from RocksDB to immutable
//! segment objects in the cold store, and every read serves them back, checked.
//!
//! * [`state`] — what tiering persists in the hot store (the move's stages, locations).
//! * [`mover`] — plans, writes, verifies and evicts moves; `tier run` and `tier status`.
//! * [`reader`] — cold reads: ranged GET, inflate, restore, check against the hot leaf.

pub mod mover;
pub mod reader;
pub mod state;
