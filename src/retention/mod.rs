//! Retention (issue #5): legal holds and the retention plan. Disposal itself (apply, the
//! disposition entries and certificates, early erasure) is not written yet.
//!
//! * [`holds`] — legal holds by package, record key or metadata value, kept with who placed
//!   and lifted them; a held package is never due.
//! * [`plan`] — what is due now or by a date, per archive and agreement version.

pub mod holds;
pub mod plan;
