//! Integrity audits (issue #6): every package re-hashed against its leaf (hot or cold), every
//! object against its digest, the chain links, disposed packages against their disposition
//! records, retention (nothing overdue kept without a hold, nothing disposed of early), and
//! the whole tree recomputed from its leaves against every signed checkpoint and receipt
//! head, with consistency proofs between successive checkpoints.
//!
//! * [`check`] — the checks, as findings naming package, object, check, expected and found.
//! * [`run`] — resumable runs of bounded steps, sealed into the log when finished.
//! * [`scrub`] — the background scrub at a configured pace.

pub mod check;
pub mod run;
pub mod scrub;
