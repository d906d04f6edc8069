//! Offline verification as a list of named checks (what `zegel-verify` prints).
//!
//! Each check has a stable name, a verdict and a reason. The first failure determines the
//! outcome category that conformance vectors name (`expect` in formats/vectors/README.md).

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::header::PackageHeader;
use crate::note::{NoteError, VerifierKey};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::receipt::{Receipt, ReceiptError};
use crate::sealed::{self, ObjectCheck, OpenedPackage};

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Could not be checked (input absent, or content withheld); not a failure.
    Skip,
}

/// The category a failure falls in; conformance vectors name these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    DecodeError,
    BadDigest,
    BadSignature,
    BadOrigin,
    BadProof,
    BadLink,
    BadReceipt,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::DecodeError => "decode-error",
            Outcome::BadDigest => "bad-digest",
            Outcome::BadSignature => "bad-signature",
            Outcome::BadOrigin => "bad-origin",
            Outcome::BadProof => "bad-proof",
            Outcome::BadLink => "bad-link",
            Outcome::BadReceipt => "bad-receipt",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Ok,
            Outcome::DecodeError,
            Outcome::BadDigest,
            Outcome::BadSignature,
            Outcome::BadOrigin,
            Outcome::BadProof,
            Outcome::BadLink,
            Outcome::BadReceipt,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable dotted name, e.g. `proof.inclusion`.
    pub name: String,
    pub verdict: Verdict,
    /// What was found, or why it failed.
    pub detail: String,
    /// Category if this check failed.
    pub outcome: Outcome,
}

/// All checks of one verification, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn pass(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.push(name, Verdict::Pass, detail, Outcome::Ok);
    }

    fn fail(&mut self, name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) {
        self.push(name, Verdict::Fail, detail, outcome);
    }

    fn skip(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.push(name, Verdict::Skip, detail, Outcome::Ok);
    }

    fn push(
        &mut self,
        name: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
        outcome: Outcome,
    ) {
        self.checks.push(Check {
            name: name.into(),
            verdict,
            detail: detail.into(),
            outcome,
        });
    }

    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.verdict == Verdict::Fail)
    }

    pub fn outcome(&self) -> Outcome {
        self.first_failure().map_or(Outcome::Ok, |c| c.outcome)
    }

    pub fn passed(&self) -> bool {
        self.first_failure().is_none()
    }
}

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
    let package = match sealed::open(inputs.sealed) {
        Ok(p) => p,
        Err(e) => {
            r.fail("package.decode", Outcome::DecodeError, e.to_string());
            return r;
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
    check_objects(&mut r, &package);
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
            check_inclusion(&mut r, &package, &leaf, inputs.proof, &cp);
        }
    }
    if let Some(bytes) = inputs.receipt {
        check_receipt(&mut r, &package, &leaf, &origin, bytes, inputs.key);
    }
    r
}

fn check_objects(r: &mut Report, package: &OpenedPackage) {
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
                    name,
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
fn check_checkpoint(
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

fn check_inclusion(
    r: &mut Report,
    package: &OpenedPackage,
    leaf: &crate::hash::Hash,
    proof: Option<&[u8]>,
    cp: &Checkpoint,
) {
    let Some(bytes) = proof else {
        r.skip("proof.inclusion", "no inclusion proof given");
        return;
    };
    let proof = match InclusionProof::decode(bytes) {
        Ok(p) => p,
        Err(e) => {
            r.fail("proof.decode", Outcome::DecodeError, e.to_string());
            return;
        }
    };
    if proof.index != package.header.seq || proof.size != cp.size {
        r.fail(
            "proof.inclusion",
            Outcome::BadProof,
            format!(
                "proof is for leaf {} in a tree of {}, but the package is leaf {} and the checkpoint has {}",
                proof.index, proof.size, package.header.seq, cp.size
            ),
        );
        return;
    }
    match proof.verify(leaf, &cp.root) {
        Ok(()) => r.pass(
            "proof.inclusion",
            format!(
                "leaf {} is in the tree of {} with root {}",
                proof.index, cp.size, cp.root
            ),
        ),
        Err(e) => r.fail("proof.inclusion", Outcome::BadProof, e.to_string()),
    }
}

fn check_receipt(
    r: &mut Report,
    package: &OpenedPackage,
    leaf: &crate::hash::Hash,
    origin: &str,
    bytes: &[u8],
    key: &VerifierKey,
) {
    let receipt = match Receipt::decode(bytes) {
        Ok(x) => x,
        Err(e) => {
            r.fail("receipt.decode", Outcome::DecodeError, e.to_string());
            return;
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
            return;
        }
        Err(e @ ReceiptError::Inclusion(_)) => {
            r.fail("receipt.inclusion", Outcome::BadProof, e.to_string());
            return;
        }
    }
    let head = &receipt.signed.head;
    let problems: Vec<String> = [
        (head.origin != origin).then(|| format!("origin {:?} is not {origin:?}", head.origin)),
        (receipt.seq != package.header.seq).then(|| {
            format!(
                "seq {} is not the package's {}",
                receipt.seq, package.header.seq
            )
        }),
        (receipt.leaf != *leaf)
            .then(|| format!("leaf {} is not the package's {leaf}", receipt.leaf)),
        (head.time_ms < package.header.time_ms).then(|| {
            format!(
                "signed at {} ms, before the package time {} ms",
                head.time_ms, package.header.time_ms
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
                leaf, receipt.seq
            ),
        );
    } else {
        r.fail("receipt.package", Outcome::BadReceipt, problems.join("; "));
    }
}

/// Verifies that two signed checkpoints of one log are consistent.
pub fn verify_consistency(
    old_checkpoint: &[u8],
    new_checkpoint: &[u8],
    proof: &[u8],
    key: &VerifierKey,
) -> Report {
    let mut r = Report::default();
    let open = |r: &mut Report, name: &str, bytes: &[u8]| match checkpoint::open(bytes, key) {
        Ok(cp) => {
            r.pass(
                format!("{name}.signature"),
                format!("{} at size {}", cp.origin, cp.size),
            );
            Some(cp)
        }
        Err(CheckpointError::Note(NoteError::Malformed(e)))
        | Err(CheckpointError::Malformed(e)) => {
            r.fail(
                format!("{name}.decode"),
                Outcome::DecodeError,
                e.to_string(),
            );
            None
        }
        Err(CheckpointError::Note(e)) => {
            r.fail(
                format!("{name}.signature"),
                Outcome::BadSignature,
                e.to_string(),
            );
            None
        }
    };
    let (Some(old), Some(new)) = (
        open(&mut r, "old-checkpoint", old_checkpoint),
        open(&mut r, "new-checkpoint", new_checkpoint),
    ) else {
        return r;
    };
    if old.origin != new.origin {
        r.fail(
            "checkpoint.origin",
            Outcome::BadOrigin,
            format!("{:?} and {:?} are different logs", old.origin, new.origin),
        );
        return r;
    }
    let proof = match ConsistencyProof::decode(proof) {
        Ok(p) => p,
        Err(e) => {
            r.fail("proof.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    if proof.old != old.size || proof.new != new.size {
        r.fail(
            "proof.consistency",
            Outcome::BadProof,
            format!(
                "proof is from size {} to {}, the checkpoints are at {} and {}",
                proof.old, proof.new, old.size, new.size
            ),
        );
        return r;
    }
    match proof.verify(&old.root, &new.root) {
        Ok(()) => r.pass(
            "proof.consistency",
            format!(
                "the tree of {} is a prefix of the tree of {}",
                old.size, new.size
            ),
        ),
        Err(e) => r.fail("proof.consistency", Outcome::BadProof, e.to_string()),
    }
    r
}

/// Verifies the hash chain over consecutive sealed packages of one log: each names the leaf
/// hash of the one before, sequence numbers follow, times never go back.
pub fn verify_chain(sealed_packages: &[&[u8]]) -> Report {
    let mut r = Report::default();
    let mut prev: Option<(PackageHeader, crate::hash::Hash)> = None;
    for (i, bytes) in sealed_packages.iter().enumerate() {
        let p = match sealed::open(bytes) {
            Ok(p) => p,
            Err(e) => {
                r.fail(
                    format!("package.{i}.decode"),
                    Outcome::DecodeError,
                    e.to_string(),
                );
                return r;
            }
        };
        let leaf = p.leaf_hash();
        if let Some((ph, pleaf)) = &prev {
            let h = &p.header;
            let problem = if (h.tenant.as_str(), h.archive.as_str())
                != (ph.tenant.as_str(), ph.archive.as_str())
            {
                Some(format!(
                    "{}/{} follows {}/{}",
                    h.tenant, h.archive, ph.tenant, ph.archive
                ))
            } else if h.seq != ph.seq + 1 {
                Some(format!("seq {} follows seq {}", h.seq, ph.seq))
            } else if h.prev != Some(*pleaf) {
                Some(format!(
                    "prev is {}, but the leaf hash of seq {} is {pleaf}",
                    h.prev.map_or("null".into(), |x| x.to_hex()),
                    ph.seq
                ))
            } else if h.time_ms < ph.time_ms {
                Some(format!(
                    "time {} ms is before the previous {} ms",
                    h.time_ms, ph.time_ms
                ))
            } else {
                None
            };
            match problem {
                Some(m) => {
                    r.fail(format!("chain.{}", h.seq), Outcome::BadLink, m);
                    return r;
                }
                None => r.pass(
                    format!("chain.{}", h.seq),
                    format!("links to seq {}", ph.seq),
                ),
            }
        }
        prev = Some((p.header, leaf));
    }
    r
}
