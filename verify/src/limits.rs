//! The verifier's own limits, named once; the formats' are in `zegel_format::limits`.

/// Largest input file `zegel-verify` reads: a proof bundle at its limit, which is larger than
/// any sealed package or certificate.
pub const INPUT_FILE_BYTES_MAX: u64 = zegel_format::limits::BUNDLE_BYTES_MAX as u64;
