//! `verify_package`: a sealed package, with its proof, checkpoint and receipt when given.

use crate::note::VerifierKey;

use super::parts::{check_checkpoint, check_inclusion, check_objects, check_receipt, open_package};
use super::report::Report;

/// Inputs of a package verification: bytes as read from files, and the trusted key.
#[derive(Debug, Clone, Copy)]
pub struct PackageInputs<'a> {
    pub sealed: &'a [u8],
    pub proof: Option<&'a [u8]>,
    pub checkpoint: Option<&'a [u8]>,
    pub receipt: Option<&'a [u8]>,
    pub key: &'a VerifierKey,
}

/// Verifies a sealed package: decoding, object fixity, and — given the inputs — its inclusion
/// under a signed checkpoint and its receipt. Stops after a failure that later checks depend on.
pub fn verify_package(inputs: PackageInputs<'_>) -> Report {
    let mut r = Report::default();
    let Some(package) = open_package(&mut r, inputs.sealed) else {
        return r;
    };
    let h = &package.header;
    check_objects(&mut r, &package, "object");
    let leaf = package.leaf_hash();
    r.pass("package.leaf-hash", leaf.to_hex());
    let origin = h.origin(inputs.key.name());

    match inputs.checkpoint {
        None => r.skip("checkpoint.signature", "no checkpoint given"),
        Some(bytes) => {
            let Some(cp) = check_checkpoint(&mut r, "checkpoint", bytes, inputs.key, &origin)
            else {
                return r;
            };
            check_inclusion(&mut r, package.header.seq, &leaf, inputs.proof, &cp);
        }
    }
    if let Some(bytes) = inputs.receipt {
        check_receipt(&mut r, &package, &leaf, &origin, bytes, inputs.key);
    }
    r
}
