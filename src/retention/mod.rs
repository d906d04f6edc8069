//! Retention (issue #5): legal holds, the retention plan, and disposal with evidence.
//!
//! * [`holds`] — legal holds by package, record key or metadata value, kept with who placed
//!   and lifted them; a held package is never due.
//! * [`plan`] — what is due now or by a date, per archive and agreement version.
//! * [`dispose`] — removes chosen packages from both tiers as one disposition package of the
//!   log, crash-safe; the one path that deletes archived content.
//! * [`apply`] — `retention apply`: disposes of what is due and unheld, a bounded step at a
//!   time.
//! * [`erasure`] — early erasure: requested by one archivist, approved by another.
//! * [`certificate`] — certificates of destruction for offline verification.

pub mod apply;
pub mod certificate;
pub mod dispose;
pub mod erasure;
pub mod holds;
pub mod plan;
