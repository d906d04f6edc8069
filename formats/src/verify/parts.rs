//! Checks shared by the verifiers of packages, certificates and bundles: opening a sealed
//! package, object fixity, a checkpoint, an inclusion proof and a receipt.

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::hash::Hash;
use crate::note::{NoteError, VerifierKey};
use crate::proof::InclusionProof;
use crate::receipt::{Receipt, ReceiptError};
use crate::sealed::{self, ObjectCheck, OpenedPackage};

use super::report::{Outcome, Report};

/// Check `package.decode`: opens a sealed package, or reports why not.
pub(super) fn open_package(r: &mut Report, sealed_bytes: &[u8]) -> Option<OpenedPackage> {
    let package = match sealed::open(sealed_bytes) {
        Ok(p) => p,
        Err(e) => {
            r.fail("package.decode", Outcome::DecodeError, e.to_string());
            return None;
        }
    };
    let h = &package.header;
    r.pass(
        "package.decode",
        format!(
            "{} package {}/{} seq {} ({} objects, header {} bytes)",
            h.kind.name(),
            h.tenant,
            h.archive,
            h.seq,
            h.objects.len(),
            package.header_bytes.len()
        ),
    );
    Some(package)
}

/// One check per object: `object.<i>`, or `<withheld>.<i>` (a skip) when it is not present.
pub(super) fn check_objects(r: &mut Report, package: &OpenedPackage, withheld: &str) {
    for (i, c) in package.check_objects().into_iter().enumerate() {
        let name = format!("object.{i}");
        match c {
            ObjectCheck::Ok { name: n, size } => {
                r.pass(
                    name,
                    format!("{n:?}: {size} bytes, SHA-256 matches the header"),
                );
            }
            ObjectCheck::Withheld { name: n } => {
                r.skip(
                    format!("{withheld}.{i}"),
                    format!("{n:?}: content withheld; only its digest is attested"),
                );
            }
            ObjectCheck::SizeMismatch {
                name: n,
                expected,
                found,
            } => r.fail(
                name,
                Outcome::BadDigest,
                format!("{n:?}: header says {expected} bytes, found {found}"),
            ),
            ObjectCheck::DigestMismatch {
                name: n,
                expected,
                found,
            } => r.fail(
                name,
                Outcome::BadDigest,
                format!("{n:?}: header says SHA-256 {expected}, content hashes to {found}"),
            ),
        }
    }
}

/// Checks signature and origin of a checkpoint; returns it when both pass.
pub(super) fn check_checkpoint(
    r: &mut Report,
    prefix: &str,
    bytes: &[u8],
    key: &VerifierKey,
    origin: &str,
) -> Option<Checkpoint> {
    let cp = match checkpoint::open(bytes, key) {
        Ok(cp) => cp,
        Err(CheckpointError::Malformed(e))
        | Err(CheckpointError::Note(NoteError::Malformed(e))) => {
            r.fail(
                format!("{prefix}.decode"),
                Outcome::DecodeError,
                e.to_string(),
            );
            return None;
        }
        Err(CheckpointError::Note(e)) => {
            r.fail(
                format!("{prefix}.signature"),
                Outcome::BadSignature,
                e.to_string(),
            );
            return None;
        }
    };
    r.pass(
        format!("{prefix}.signature"),
        format!("signed by {}+{}", key.name(), hex::encode(key.key_id())),
    );
    if cp.origin != origin {
        r.fail(
            format!("{prefix}.origin"),
            Outcome::BadOrigin,
            format!("checkpoint origin {:?}, expected {origin:?}", cp.origin),
        );
        return None;
    }
    r.pass(
        format!("{prefix}.origin"),
        format!("{origin}, tree size {}", cp.size),
    );
    Some(cp)
}

/// `proof.inclusion`: leaf `seq` with hash `leaf` is in the tree of the checkpoint.
pub(super) fn check_inclusion(
    r: &mut Report,
    seq: u64,
    leaf: &crate::hash::Hash,
    proof: Option<&[u8]>,
    cp: &Checkpoint,
) -> bool {
    let Some(bytes) = proof else {
        r.skip("proof.inclusion", "no inclusion proof given");
        return true;
    };
    let proof = match InclusionProof::decode(bytes) {
        Ok(p) => p,
        Err(e) => {
            r.fail("proof.decode", Outcome::DecodeError, e.to_string());
            return false;
        }
    };
    if proof.index != seq || proof.size != cp.size {
        r.fail(
            "proof.inclusion",
            Outcome::BadProof,
            format!(
                "proof is for leaf {} in a tree of {}, but the package is leaf {seq} and the checkpoint has {}",
                proof.index, proof.size, cp.size
            ),
        );
        return false;
    }
    match proof.verify(leaf, &cp.root) {
        Ok(()) => {
            r.pass(
                "proof.inclusion",
                format!(
                    "leaf {} is in the tree of {} with root {}",
                    proof.index, cp.size, cp.root
                ),
            );
            true
        }
        Err(e) => {
            r.fail("proof.inclusion", Outcome::BadProof, e.to_string());
            false
        }
    }
}

pub(super) fn check_receipt(
    r: &mut Report,
    package: &OpenedPackage,
    leaf: &crate::hash::Hash,
    origin: &str,
    bytes: &[u8],
    key: &VerifierKey,
) {
    let Some(receipt) = check_receipt_signature(r, bytes, key) else {
        return;
    };
    check_receipt_names(
        r,
        &receipt,
        origin,
        package.header.seq,
        Some((leaf, package.header.time_ms)),
    );
}

/// `receipt.decode` and `receipt.signature` (or `receipt.inclusion`): the receipt is signed by
/// `key` and its path leads to its signed root. Returns it when both hold.
pub(super) fn check_receipt_signature(
    r: &mut Report,
    bytes: &[u8],
    key: &VerifierKey,
) -> Option<Receipt> {
    let receipt = match Receipt::decode(bytes) {
        Ok(x) => x,
        Err(e) => {
            r.fail("receipt.decode", Outcome::DecodeError, e.to_string());
            return None;
        }
    };
    match receipt.verify(key) {
        Ok(()) => r.pass(
            "receipt.signature",
            format!(
                "tree of {} signed at {} ms by {}+{}",
                receipt.signed.head.size,
                receipt.signed.head.time_ms,
                key.name(),
                hex::encode(key.key_id())
            ),
        ),
        Err(e @ (ReceiptError::WrongKey { .. } | ReceiptError::BadSignature)) => {
            r.fail("receipt.signature", Outcome::BadSignature, e.to_string());
            return None;
        }
        Err(e @ ReceiptError::Inclusion(_)) => {
            r.fail("receipt.inclusion", Outcome::BadProof, e.to_string());
            return None;
        }
    }
    Some(receipt)
}

/// `receipt.package`: the receipt names `origin` and `seq`, and, when the package is at hand,
/// its leaf hash and a time not before the package's (`package` = leaf hash and header time).
pub(super) fn check_receipt_names(
    r: &mut Report,
    receipt: &Receipt,
    origin: &str,
    seq: u64,
    package: Option<(&Hash, u64)>,
) -> bool {
    let head = &receipt.signed.head;
    let problems: Vec<String> = [
        (head.origin != origin).then(|| format!("origin {:?} is not {origin:?}", head.origin)),
        (receipt.seq != seq).then(|| format!("seq {} is not the package's {seq}", receipt.seq)),
        package
            .filter(|(leaf, _)| receipt.leaf != **leaf)
            .map(|(leaf, _)| format!("leaf {} is not the package's {leaf}", receipt.leaf)),
        package
            .filter(|(_, time_ms)| head.time_ms < *time_ms)
            .map(|(_, time_ms)| {
                format!(
                    "signed at {} ms, before the package time {time_ms} ms",
                    head.time_ms
                )
            }),
    ]
    .into_iter()
    .flatten()
    .collect();
    if problems.is_empty() {
        r.pass(
            "receipt.package",
            format!(
                "receipt names this package: leaf {} at seq {}",
                receipt.leaf, receipt.seq
            ),
        );
        true
    } else {
        r.fail("receipt.package", Outcome::BadReceipt, problems.join("; "));
        false
    }
}
