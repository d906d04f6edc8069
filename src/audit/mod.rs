//! Integrity audits: every package re-hashed against its leaf (hot or cold), every
//! object against its digest, the chain links, disposed packages against their disposition
//! records, retention (nothing overdue kept without a hold, nothing disposed of early), and
//! the whole tree recomputed from its leaves against every signed checkpoint and receipt
//! head, with consistency proofs between successive checkpoints.
//!
//! * [`finding`] — what an audit reports: findings and tallies.
//! * [`log`] — the log checks, walked over the leaves the package checks read: signed roots,
//!   consistency between checkpoints, stored inner nodes.
//! * [`check`] — the package checks, as findings naming package, object, check, expected and
//!   found, one package at a time.
//! * [`batch`] — the same checks of a chunk with batched reads, handing the chunk back to
//!   [`check`] when anything is amiss.
//! * [`run`] — resumable runs of bounded steps, sealed into the log when finished.
//! * [`scrub`] — the background scrub at a configured pace.

pub mod batch;
pub mod check;
pub mod finding;
pub mod log;
pub mod run;
pub mod scrub;
