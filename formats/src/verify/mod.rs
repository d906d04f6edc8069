//! Offline verification as a list of named checks (what `zegel-verify` prints).
//!
//! Each check has a stable name, a verdict and a reason. The first failure determines the
//! outcome category that conformance vectors name (`expect` in formats/vectors/README.md).

mod bundle;
mod certificate;
mod chain;
mod consistency;
mod package;
mod parts;
mod report;
mod segment;
mod tiles;

pub use bundle::{TrustedKey, verify_bundle, verify_bundle_trusting};
pub use certificate::{CertificateInputs, verify_certificate};
pub use chain::verify_chain;
pub use consistency::verify_consistency;
pub use package::{PackageInputs, verify_package};
pub use report::{Check, Outcome, Report, Verdict};
pub use segment::{SegmentInputs, verify_segment};
pub use tiles::{TileInputs, verify_tiles};
