//! Offline verification as a list of named checks (what `zegel-verify` prints).
//!
//! Each check has a stable name, a verdict and a reason. The first failure determines the
//! outcome category that conformance vectors name (`expect` in formats/vectors/README.md).

use std::collections::BTreeMap;

use crate::bundle::{Bundle, format_utc, report_html};
use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::disposition::{
    Cause, Certificate, DISPOSITION_MEDIA_TYPE, DISPOSITION_OBJECT_NAME, Disposition,
};
use crate::hash::{Hash, leaf_hash};
use crate::header::{Kind, PackageHeader};
use crate::layout::{self, RetentionMonth};
use crate::note::{NoteError, VerifierKey};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::receipt::{Receipt, ReceiptError};
use crate::sealed::{self, ObjectCheck, OpenedPackage};
use crate::segment;

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
    /// A validly proven package that is not a well-formed disposition, or a certificate whose
    /// parts do not fit together (formats/disposition.md §5); in a bundle, a disposition that
    /// does not concern its entry.
    BadDisposition,
    /// The trusted key is not among a bundle's keys, or not valid when it signed
    /// (formats/bundle.md §6).
    BadKey,
    /// Validly signed and proven parts of a bundle that do not fit together: another entry,
    /// another agreement, an absent package without a disposition (formats/bundle.md §6).
    BadBundle,
    /// A bundle's stored report differs from the one its contents give (formats/bundle.md §5).
    BadReport,
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
            Outcome::BadDisposition => "bad-disposition",
            Outcome::BadKey => "bad-key",
            Outcome::BadBundle => "bad-bundle",
            Outcome::BadReport => "bad-report",
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
            Outcome::BadDisposition,
            Outcome::BadKey,
            Outcome::BadBundle,
            Outcome::BadReport,
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

/// Check `package.decode`: opens a sealed package, or reports why not.
fn open_package(r: &mut Report, sealed_bytes: &[u8]) -> Option<OpenedPackage> {
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

/// One check per object: `object.<i>`, or `<withheld>.<i>` (a skip) when it is not present.
fn check_objects(r: &mut Report, package: &OpenedPackage, withheld: &str) {
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

/// `proof.inclusion`: leaf `seq` with hash `leaf` is in the tree of the checkpoint.
fn check_inclusion(
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

fn check_receipt(
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
fn check_receipt_signature(r: &mut Report, bytes: &[u8], key: &VerifierKey) -> Option<Receipt> {
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
fn check_receipt_names(
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

/// Inputs of a certificate verification: the `.zcert` bytes and the trusted key.
#[derive(Debug, Clone, Copy)]
pub struct CertificateInputs<'a> {
    pub certificate: &'a [u8],
    pub key: &'a VerifierKey,
}

/// Most disposed seqs a report names one by one.
const DISPOSED_SEQS_NAMED_MAX: usize = 16;

/// Verifies a certificate of destruction (formats/disposition.md §5): the disposition package
/// as [`verify_package`] does with all its inputs, then that it is a well-formed disposition,
/// then that every disposed leaf is still in the log under the same checkpoint. One bad
/// disposed proof does not stop the others from being checked.
pub fn verify_certificate(inputs: CertificateInputs<'_>) -> Report {
    let mut r = Report::default();
    let cert = match Certificate::decode(inputs.certificate) {
        Ok(c) => c,
        Err(e) => {
            r.fail("certificate.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    r.pass(
        "certificate.decode",
        format!(
            "certificate of {} disposed package(s), {} bytes",
            cert.disposed_proofs.len(),
            inputs.certificate.len()
        ),
    );
    let package_report = verify_package(PackageInputs {
        sealed: &cert.package,
        proof: Some(&cert.proof),
        checkpoint: Some(cert.checkpoint.as_bytes()),
        receipt: Some(&cert.receipt),
        key: inputs.key,
    });
    let package_ok = package_report.passed();
    r.checks.extend(package_report.checks);
    if !package_ok {
        return r;
    }
    // Both opened without error inside verify_package just now; read again for their values.
    let (Ok(package), Ok(cp)) = (
        sealed::open(&cert.package),
        checkpoint::open(cert.checkpoint.as_bytes(), inputs.key),
    ) else {
        r.fail(
            "certificate.kind",
            Outcome::DecodeError,
            "the package or checkpoint no longer opens",
        );
        return r;
    };
    let Some(record) = check_disposition_kind(&mut r, &package) else {
        return r;
    };
    let disposition = match Disposition::decode(record) {
        Ok(d) => d,
        Err(e) => {
            r.fail("disposition.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    r.pass(
        "disposition.decode",
        format!(
            "{} of {} package(s) decided at {} ms, basis {:?}",
            disposition.cause.name(),
            disposition.packages.len(),
            disposition.decided_ms,
            disposition.basis
        ),
    );
    match disposition.check_authorization() {
        Ok(()) => r.pass(
            "disposition.authorization",
            match (disposition.cause, disposition.authorized_by.as_slice()) {
                (Cause::Erasure, [requester, approver]) => {
                    format!("erasure requested by {requester:?}, approved by {approver:?}")
                }
                (_, keys) => format!("authorized by {keys:?}"),
            },
        ),
        Err(e) => {
            r.fail(
                "disposition.authorization",
                Outcome::BadDisposition,
                e.to_string(),
            );
            return r;
        }
    }
    if !check_disposed_packages(&mut r, &disposition, &cert, package.header.seq) {
        return r;
    }
    for (disposed, bytes) in disposition.packages.iter().zip(&cert.disposed_proofs) {
        check_disposed_proof(&mut r, disposed, bytes, &cp);
    }
    r
}

/// The package is a disposition whose one object is the record; returns the record's bytes.
fn check_disposition_kind<'p>(r: &mut Report, package: &'p OpenedPackage) -> Option<&'p [u8]> {
    let h = &package.header;
    let problem = if h.kind != Kind::Disposition {
        Some(format!(
            "the package is a {} package, not a disposition",
            h.kind.name()
        ))
    } else {
        match (h.objects.as_slice(), package.objects.as_slice()) {
            ([meta], [Some(bytes)])
                if meta.name == DISPOSITION_OBJECT_NAME
                    && meta.media_type == DISPOSITION_MEDIA_TYPE =>
            {
                r.pass(
                    "certificate.kind",
                    format!(
                        "disposition package at seq {} of {}/{}",
                        h.seq, h.tenant, h.archive
                    ),
                );
                return Some(bytes);
            }
            ([_], [None]) => Some("the disposition record is withheld".to_string()),
            _ => Some(format!(
                "a disposition package holds exactly one object {DISPOSITION_OBJECT_NAME:?} of type {DISPOSITION_MEDIA_TYPE}"
            )),
        }
    };
    r.fail(
        "certificate.kind",
        Outcome::BadDisposition,
        problem.unwrap_or_default(),
    );
    None
}

/// One proof per disposed package, every disposed seq before the disposition's own.
fn check_disposed_packages(
    r: &mut Report,
    disposition: &Disposition,
    cert: &Certificate,
    own_seq: u64,
) -> bool {
    let seqs: Vec<u64> = disposition.packages.iter().map(|p| p.seq).collect();
    let problem = if seqs.len() != cert.disposed_proofs.len() {
        Some(format!(
            "the record names {} packages, the certificate holds {} proofs",
            seqs.len(),
            cert.disposed_proofs.len()
        ))
    } else {
        seqs.iter()
            .find(|&&s| s >= own_seq)
            .map(|s| format!("seq {s} is not before the disposition package's own seq {own_seq}"))
    };
    if let Some(p) = problem {
        r.fail("disposition.packages", Outcome::BadDisposition, p);
        return false;
    }
    let named: Vec<String> = seqs
        .iter()
        .take(DISPOSED_SEQS_NAMED_MAX)
        .map(u64::to_string)
        .collect();
    let more = seqs.len().saturating_sub(DISPOSED_SEQS_NAMED_MAX);
    r.pass(
        "disposition.packages",
        format!(
            "{} package(s) disposed, all before seq {own_seq}: seqs {}{}",
            seqs.len(),
            named.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    );
    true
}

/// A disposed leaf is still leaf `seq` of the tree under the certificate's checkpoint.
fn check_disposed_proof(
    r: &mut Report,
    disposed: &crate::disposition::DisposedPackage,
    bytes: &[u8],
    cp: &Checkpoint,
) {
    let name = format!("disposed.{}", disposed.seq);
    let proof = match InclusionProof::decode(bytes) {
        Ok(p) => p,
        Err(e) => {
            r.fail(name, Outcome::DecodeError, e.to_string());
            return;
        }
    };
    if proof.index != disposed.seq || proof.size != cp.size {
        r.fail(
            name,
            Outcome::BadProof,
            format!(
                "proof is for leaf {} in a tree of {}, but the disposed package is leaf {} and the checkpoint has {}",
                proof.index, proof.size, disposed.seq, cp.size
            ),
        );
        return;
    }
    match proof.verify(&disposed.leaf, &cp.root) {
        Ok(()) => r.pass(
            name,
            format!("leaf {} is still in the tree of {}", disposed.leaf, cp.size),
        ),
        Err(e) => r.fail(name, Outcome::BadProof, e.to_string()),
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

/// Inputs of a segment verification (formats/cold-layout.md §7): the object key and bytes as
/// read from the bucket, and where trusted leaf hashes come from.
#[derive(Clone, Copy)]
pub struct SegmentInputs<'a> {
    pub key: &'a str,
    pub segment: &'a [u8],
    /// The trusted leaf hash of a seq: the hot Merkle leaves, or level-0 tile entries checked
    /// against a signed checkpoint. `None` when the source does not hold that seq.
    pub leaf: &'a dyn Fn(u64) -> Option<Hash>,
    /// The exact header bytes each package must restore to, in index order; given by
    /// conformance vectors, `None` otherwise.
    pub expected_headers: Option<&'a [Vec<u8>]>,
}

impl std::fmt::Debug for SegmentInputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SegmentInputs({}, {} bytes)",
            self.key,
            self.segment.len()
        )
    }
}

/// Verifies a cold segment under its key, v1 or v2: the key's grammar for its version (a
/// rewrite number only under v2), the segment's frame and index, that it sits under the right
/// archive, range and retention month, and that every package restores to the exact header
/// bytes of its trusted leaf. A bad package does not stop the others from being checked.
pub fn verify_segment(inputs: SegmentInputs<'_>) -> Report {
    let mut r = Report::default();
    let key = match inputs.key.parse::<layout::SegmentKey>() {
        Ok(key) => key,
        Err(e) => {
            r.fail(
                "segment.key",
                Outcome::DecodeError,
                format!(
                    "{:?} is not a segment key of layout v1 or v2: {e}",
                    inputs.key
                ),
            );
            return r;
        }
    };
    let layout::SegmentKey {
        version,
        tenant,
        archive,
        month,
        first,
        end,
        rewrite,
    } = key;
    let written_by = rewrite.map_or("a move".to_string(), |n| format!("rewrite {n}"));
    r.pass(
        "segment.key",
        format!(
            "{version} {tenant}/{archive}, retained until {month}, move [{first}, {end}), \
             written by {written_by}"
        ),
    );
    let index = match segment::open_segment(inputs.segment) {
        Ok(index) => index,
        Err(e) => {
            r.fail("segment.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    r.pass(
        "segment.decode",
        format!(
            "{} packages in {} block(s), trailer hash matches",
            index.packages.len(),
            index.blocks.len()
        ),
    );
    if (index.tenant.as_str(), index.archive.as_str()) != (tenant.as_str(), archive.as_str()) {
        r.fail(
            "segment.placement",
            Outcome::DecodeError,
            format!(
                "the index names {}/{}, the key {tenant}/{archive}",
                index.tenant, index.archive
            ),
        );
        return r;
    }
    let outside: Vec<u64> = index
        .packages
        .iter()
        .map(|p| p.seq)
        .filter(|seq| !(first..end).contains(seq))
        .collect();
    if !outside.is_empty() {
        r.fail(
            "segment.placement",
            Outcome::DecodeError,
            format!("seqs {outside:?} are outside the move [{first}, {end})"),
        );
        return r;
    }
    // A rewrite keeps some packages (formats/cold-layout.md §3.1); one that would keep none
    // deletes the segment instead.
    if rewrite.is_some() && index.packages.is_empty() {
        r.fail(
            "segment.placement",
            Outcome::DecodeError,
            "a rewritten segment holds no package",
        );
        return r;
    }
    r.pass(
        "segment.placement",
        format!("index of {tenant}/{archive}, every seq in [{first}, {end})"),
    );
    // The inflated block of the last package; packages of one block are consecutive.
    let mut block: Option<(u64, Result<Vec<u8>, crate::DecodeError>)> = None;
    for (i, entry) in index.packages.iter().enumerate() {
        let name = format!("segment.{}", entry.seq);
        let prev = match entry.seq.checked_sub(1) {
            None => Some(None),
            Some(p) => (inputs.leaf)(p).map(Some),
        };
        let (Some(prev), Some(trusted)) = (prev, (inputs.leaf)(entry.seq)) else {
            r.skip(name, "no trusted leaf for this seq or the one before");
            continue;
        };
        if block.as_ref().is_none_or(|(n, _)| *n != entry.block) {
            let raw = segment::read_block(inputs.segment, &index, entry.block as usize);
            block = Some((entry.block, raw));
        }
        let raw = match &block {
            Some((_, Ok(raw))) => raw,
            Some((_, Err(e))) => {
                r.fail(
                    name,
                    Outcome::DecodeError,
                    format!("block {}: {e}", entry.block),
                );
                continue;
            }
            None => continue, // just set above
        };
        let package = match segment::restore_package(raw, entry, prev) {
            Ok(p) => p,
            Err(e) => {
                r.fail(name, Outcome::DecodeError, e.to_string());
                continue;
            }
        };
        let leaf = leaf_hash(&package.header_bytes);
        let expected = inputs.expected_headers.map(|h| h.get(i));
        let h = &package.header;
        let found = RetentionMonth::of(h.retain_until_ms);
        if leaf != trusted {
            r.fail(
                name,
                Outcome::BadDigest,
                format!("the restored header hashes to leaf {leaf}, the trusted leaf is {trusted}"),
            );
        } else if expected.is_some_and(|e| e != Some(&package.header_bytes)) {
            r.fail(
                name,
                Outcome::BadDigest,
                "the restored header differs from the expected bytes",
            );
        } else if (h.tenant.as_str(), h.archive.as_str()) != (tenant.as_str(), archive.as_str())
            || found != month
        {
            r.fail(
                name,
                Outcome::DecodeError,
                format!(
                    "a package of {}/{} retained until {found}, in the segment of \
                     {tenant}/{archive} for {month}",
                    h.tenant, h.archive
                ),
            );
        } else {
            r.pass(
                name,
                format!(
                    "restored to leaf {leaf}: {} header bytes, {} objects",
                    package.header_bytes.len(),
                    package.objects.len()
                ),
            );
        }
    }
    r
}

/// Most missing tiles that a report names one by one.
const MISSING_TILES_NAMED_MAX: usize = 8;

/// Inputs of a tile verification (formats/cold-layout.md §7): a checkpoint copy and the tile
/// objects of a bucket, by key.
#[derive(Debug, Clone, Copy)]
pub struct TileInputs<'a> {
    pub checkpoint_key: &'a str,
    pub checkpoint: &'a [u8],
    /// Tile objects by key; objects not needed for the checkpoint's size (older partial
    /// tiles, tiles under the other layout version) may be present and are not read.
    pub tiles: &'a BTreeMap<String, Vec<u8>>,
    pub key: &'a VerifierKey,
}

/// Verifies, from a bucket alone, that its tiles hold the tree of a signed checkpoint: the
/// checkpoint under its key (v1 or v2), every tile the size needs present under that same
/// version and well-formed, the root they give, and every full tile tied to its entry one
/// level up.
pub fn verify_tiles(inputs: TileInputs<'_>) -> Report {
    let mut r = Report::default();
    let parsed = layout::parse_checkpoint_key(inputs.checkpoint_key)
        .zip(layout::key_version(inputs.checkpoint_key));
    let Some(((tenant, archive, size), version)) = parsed else {
        r.fail(
            "checkpoint.key",
            Outcome::DecodeError,
            format!(
                "{:?} is not a checkpoint key of layout v1 or v2",
                inputs.checkpoint_key
            ),
        );
        return r;
    };
    r.pass(
        "checkpoint.key",
        format!("{version} {tenant}/{archive}, size {size}"),
    );
    let origin = checkpoint::origin(inputs.key.name(), &tenant, &archive);
    let Some(cp) = check_checkpoint(&mut r, "checkpoint", inputs.checkpoint, inputs.key, &origin)
    else {
        return r;
    };
    if cp.size != size {
        r.fail(
            "checkpoint.size",
            Outcome::DecodeError,
            format!("the key names size {size}, the checkpoint has {}", cp.size),
        );
        return r;
    }
    r.pass("checkpoint.size", format!("{size}"));
    // Only tiles under the checkpoint's own version are read (formats/cold-layout.md §7
    // step 2): a v2 writer puts the whole tile set of its tree under v2/.
    let mut by_coordinates: BTreeMap<(u32, u64, u64), &[u8]> = BTreeMap::new();
    for (key, bytes) in inputs.tiles {
        match layout::parse_tile_key(key) {
            Some((t, a, level, index, width))
                if (t.as_str(), a.as_str()) == (&tenant, &archive) =>
            {
                if layout::key_version(key) == Some(version) {
                    by_coordinates.insert((level, index, width), bytes);
                }
            }
            _ => {
                r.fail(
                    "tiles.keys",
                    Outcome::DecodeError,
                    format!("{key:?} is not a tile key of {tenant}/{archive}"),
                );
                return r;
            }
        }
    }
    let needed = layout::tiles_for(size);
    let missing: Vec<&(u32, u64, u64)> = needed
        .iter()
        .filter(|c| !by_coordinates.contains_key(c))
        .collect();
    if !missing.is_empty() {
        // Name a few; a bucket missing all its tiles would otherwise make a huge report.
        let named: Vec<String> = missing
            .iter()
            .take(MISSING_TILES_NAMED_MAX)
            .map(|&&(l, n, w)| layout::tile_key_at(version, &tenant, &archive, l, n, w))
            .collect();
        r.fail(
            "tiles.keys",
            Outcome::DecodeError,
            format!("{} tiles missing: {}", missing.len(), named.join(", ")),
        );
        return r;
    }
    r.pass(
        "tiles.keys",
        format!(
            "all {} tiles of size {size} are present under {version}/",
            needed.len()
        ),
    );
    let mut decoded: BTreeMap<(u32, u64, u64), Vec<Hash>> = BTreeMap::new();
    for &(level, index, width) in &needed {
        let bytes = by_coordinates
            .get(&(level, index, width))
            .copied()
            .unwrap_or_default();
        match layout::decode_tile(bytes, width) {
            Ok(hashes) => {
                decoded.insert((level, index, width), hashes);
            }
            Err(e) => {
                let key = layout::tile_key_at(version, &tenant, &archive, level, index, width);
                r.fail("tiles.decode", Outcome::DecodeError, format!("{key}: {e}"));
                return r;
            }
        }
    }
    r.pass("tiles.decode", format!("{} tiles", decoded.len()));
    let fetch = |l: u32, n: u64, w: u64| decoded.get(&(l, n, w)).cloned();
    match layout::root_from_tiles(size, fetch) {
        Ok(root) if root == cp.root => r.pass("tiles.root", format!("root {root}")),
        Ok(root) => {
            r.fail(
                "tiles.root",
                Outcome::BadProof,
                format!("the tiles give root {root}, the checkpoint {}", cp.root),
            );
            return r;
        }
        Err(e) => {
            r.fail("tiles.root", Outcome::BadProof, e.to_string());
            return r;
        }
    }
    match layout::check_full_tiles(size, fetch) {
        Ok(()) => r.pass(
            "tiles.parents",
            "every full tile hashes to its entry one level up",
        ),
        Err(e) => r.fail("tiles.parents", Outcome::BadProof, e.to_string()),
    }
    r
}

/// How a bundle verification knows the key it trusts (formats/bundle.md §3.3).
#[derive(Debug, Clone, Copy)]
pub enum TrustedKey<'a> {
    /// The verifier key itself.
    Key(&'a VerifierKey),
    /// Its fingerprint (formats/signed-note.md §3.4): the key is taken from the bundle's list.
    Fingerprint(&'a [u8; 32]),
}

/// Verifies a proof bundle (formats/bundle.md §6) with the key the caller trusts.
pub fn verify_bundle(bytes: &[u8], trusted: &VerifierKey) -> Report {
    verify_bundle_trusting(bytes, TrustedKey::Key(trusted))
}

/// Verifies a proof bundle, trusting the key given by value or by fingerprint. The checks, in
/// order: the bundle decodes; the package opens, is the bundle's entry, and its objects match
/// their digests; the receipt; the key; every checkpoint; the consistency chain from the
/// receipt's tree; the inclusion of the entry; the agreement; each disposition; the report.
pub fn verify_bundle_trusting(bytes: &[u8], trusted: TrustedKey<'_>) -> Report {
    let mut r = Report::default();
    let b = match Bundle::decode(bytes) {
        Ok(b) => b,
        Err(e) => {
            r.fail("bundle.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    r.pass(
        "bundle.decode",
        format!(
            "bundle of {}/{} seq {}: package {}, {} checkpoint(s), {} key(s), {}, {} disposition(s); {} bytes",
            b.tenant,
            b.archive,
            b.seq,
            if b.package.is_some() { "present" } else { "absent" },
            b.checkpoints.len(),
            b.keys.len(),
            if b.agreement.is_some() { "an agreement" } else { "no agreement" },
            b.dispositions.len(),
            bytes.len()
        ),
    );
    let key = match trusted {
        TrustedKey::Key(k) => k.clone(),
        TrustedKey::Fingerprint(f) => match b.key_by_fingerprint(f) {
            Some(k) => k.key.clone(),
            None => {
                r.fail(
                    "bundle.key",
                    Outcome::BadKey,
                    format!(
                        "no key of the bundle has the fingerprint {}",
                        hex::encode(f)
                    ),
                );
                return r;
            }
        },
    };
    check_bundle(&mut r, &b, &key);
    r
}

/// The entry a bundle is about, as far as it has been established.
struct Subject {
    package: Option<OpenedPackage>,
    leaf: Hash,
}

fn check_bundle(r: &mut Report, b: &Bundle, key: &VerifierKey) {
    let origin = checkpoint::origin(key.name(), &b.tenant, &b.archive);
    let Some(package) = check_bundle_package(r, b) else {
        return;
    };
    let Some(receipt) = check_receipt_signature(r, &b.receipt, key) else {
        return;
    };
    let at_hand = package.as_ref().map(|p| (p.leaf_hash(), p.header.time_ms));
    if !check_receipt_names(
        r,
        &receipt,
        &origin,
        b.seq,
        at_hand.as_ref().map(|(l, t)| (l, *t)),
    ) {
        return;
    }
    let subject = Subject {
        leaf: at_hand.map_or(receipt.leaf, |(l, _)| l),
        package,
    };
    if subject.package.is_none() {
        r.pass(
            "package.leaf-hash",
            format!("{} (from the receipt: the package is absent)", subject.leaf),
        );
    }
    if !check_bundle_key(r, b, key, receipt.signed.head.time_ms) {
        return;
    }
    let mut checkpoints = Vec::with_capacity(b.checkpoints.len());
    for (i, note) in b.checkpoints.iter().enumerate() {
        let prefix = format!("checkpoint.{i}");
        match check_checkpoint(r, &prefix, note.as_bytes(), key, &origin) {
            Some(cp) => checkpoints.push(cp),
            None => return,
        }
    }
    let Some(last) = checkpoints.last() else {
        return; // decode refuses a bundle without checkpoints
    };
    check_consistency_chain(r, b, &receipt, &checkpoints);
    check_inclusion(r, b.seq, &subject.leaf, Some(&b.proof), last);
    let Some(last_note) = b.checkpoints.last() else {
        return;
    };
    check_bundle_agreement(r, b, &subject, key, last_note);
    for (i, d) in b.dispositions.iter().enumerate() {
        check_bundle_disposition(r, b, &subject, key, last_note, i, d);
    }
    let regenerated = report_html(b);
    if regenerated == b.report {
        r.pass(
            "bundle.report",
            format!(
                "the stored report ({} bytes) is exactly the one the bundle's contents give",
                b.report.len()
            ),
        );
    } else {
        let at = regenerated
            .bytes()
            .zip(b.report.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(regenerated.len().min(b.report.len()));
        r.fail(
            "bundle.report",
            Outcome::BadReport,
            format!(
                "the stored report ({} bytes) differs from the one the bundle's contents give ({} bytes), first at byte {at}",
                b.report.len(),
                regenerated.len()
            ),
        );
    }
}

/// `package.decode`, `bundle.package`, `object.<i>` / `bundle.redacted.<i>` and
/// `package.leaf-hash`. `None` stops the verification; `Some(None)`: the package is absent,
/// which the dispositions must explain.
fn check_bundle_package(r: &mut Report, b: &Bundle) -> Option<Option<OpenedPackage>> {
    let Some(bytes) = &b.package else {
        if b.dispositions.is_empty() {
            r.fail(
                "bundle.package",
                Outcome::BadBundle,
                "the package is absent and no disposition explains it",
            );
            return None;
        }
        r.skip(
            "bundle.package",
            format!(
                "the package is absent; {} disposition(s) must name entry {}",
                b.dispositions.len(),
                b.seq
            ),
        );
        return Some(None);
    };
    let package = open_package(r, bytes)?;
    let h = &package.header;
    if (h.tenant.as_str(), h.archive.as_str(), h.seq)
        != (b.tenant.as_str(), b.archive.as_str(), b.seq)
    {
        r.fail(
            "bundle.package",
            Outcome::BadBundle,
            format!(
                "the package is {}/{} seq {}, the bundle is about {}/{} seq {}",
                h.tenant, h.archive, h.seq, b.tenant, b.archive, b.seq
            ),
        );
        return None;
    }
    r.pass("bundle.package", "the package is the bundle's entry");
    check_objects(r, &package, "bundle.redacted");
    r.pass("package.leaf-hash", package.leaf_hash().to_hex());
    Some(Some(package))
}

/// `bundle.key`: the trusted key is in the bundle's list, valid at `time_ms`.
fn check_bundle_key(r: &mut Report, b: &Bundle, key: &VerifierKey, time_ms: u64) -> bool {
    let named = format!("{}+{}", key.name(), hex::encode(key.key_id()));
    match key_problem(b, key, time_ms) {
        Some(problem) => {
            r.fail("bundle.key", Outcome::BadKey, problem);
            false
        }
        None => {
            r.pass(
                "bundle.key",
                format!(
                    "{named} (fingerprint {}) is one of the archive's {} key(s), valid at {} when the receipt was signed",
                    hex::encode(key.fingerprint()),
                    b.keys.len(),
                    format_utc(time_ms)
                ),
            );
            true
        }
    }
}

/// Why `key` may not have signed at `time_ms` by the bundle's list, if it may not.
fn key_problem(b: &Bundle, key: &VerifierKey, time_ms: u64) -> Option<String> {
    let named = format!("{}+{}", key.name(), hex::encode(key.key_id()));
    let Some(entry) = b.keys.iter().find(|k| k.key == *key) else {
        let listed: Vec<String> = b
            .keys
            .iter()
            .map(|k| format!("{}+{}", k.key.name(), hex::encode(k.key.key_id())))
            .collect();
        return Some(format!(
            "the trusted key {named} is not among the bundle's keys ({})",
            listed.join(", ")
        ));
    };
    (!entry.is_valid_at(time_ms)).then(|| {
        format!(
            "the key {named} is valid from {} until {}, not at {} when it signed",
            entry
                .valid_from_ms
                .map_or("the beginning".into(), format_utc),
            entry.valid_until_ms.map_or("no end".into(), format_utc),
            format_utc(time_ms)
        )
    })
}

/// `bundle.consistency.<i>`: proof i leads from the receipt's tree (i = 0) or checkpoint
/// i − 1 to checkpoint i. A failure does not stop the next.
fn check_consistency_chain(
    r: &mut Report,
    b: &Bundle,
    receipt: &Receipt,
    checkpoints: &[Checkpoint],
) {
    let head = &receipt.signed.head;
    let mut from = (head.size, head.root, "the receipt's tree".to_string());
    for (i, (bytes, to)) in b.consistency.iter().zip(checkpoints).enumerate() {
        let name = format!("bundle.consistency.{i}");
        let (old_size, old_root, old_name) = &from;
        match ConsistencyProof::decode(bytes) {
            Err(e) => r.fail(name, Outcome::DecodeError, e.to_string()),
            Ok(p) if p.old != *old_size || p.new != to.size => r.fail(
                name,
                Outcome::BadProof,
                format!(
                    "proof is from size {} to {}, but {old_name} has {old_size} and checkpoint {i} has {}",
                    p.old, p.new, to.size
                ),
            ),
            Ok(p) => match p.verify(old_root, &to.root) {
                Ok(()) => r.pass(
                    name,
                    format!(
                        "{old_name} (size {old_size}) is a prefix of checkpoint {i} (size {})",
                        to.size
                    ),
                ),
                Err(e) => r.fail(name, Outcome::BadProof, e.to_string()),
            },
        }
        from = (to.size, to.root, format!("checkpoint {i}"));
    }
}

/// Verifies one part of a bundle as a package proven under the bundle's checkpoint (and with
/// its receipt); returns the opened package, or the first failure as (outcome, reason).
fn prove_part(
    sealed_bytes: &[u8],
    proof: &[u8],
    checkpoint_note: &str,
    receipt: Option<&[u8]>,
    key: &VerifierKey,
) -> Result<OpenedPackage, (Outcome, String)> {
    let sub = verify_package(PackageInputs {
        sealed: sealed_bytes,
        proof: Some(proof),
        checkpoint: Some(checkpoint_note.as_bytes()),
        receipt,
        key,
    });
    if let Some(f) = sub.first_failure() {
        return Err((f.outcome, format!("{}: {}", f.name, f.detail)));
    }
    sealed::open(sealed_bytes).map_err(|e| (Outcome::DecodeError, e.to_string()))
}

/// `bundle.agreement`: the agreement the package's header names, [version, seq], is the
/// agreement package at that seq of the same log, complete, proven under the checkpoint.
fn check_bundle_agreement(
    r: &mut Report,
    b: &Bundle,
    subject: &Subject,
    key: &VerifierKey,
    checkpoint_note: &str,
) {
    const NAME: &str = "bundle.agreement";
    let named = subject.package.as_ref().and_then(|p| p.header.agreement);
    let (named, evidence) = match (named, &b.agreement) {
        (None, None) => {
            let why = match &subject.package {
                None => "the package is absent, so it names no agreement".to_string(),
                Some(p) => format!("the {} package names no agreement", p.header.kind.name()),
            };
            r.skip(NAME, why);
            return;
        }
        (None, Some(_)) => {
            r.fail(
                NAME,
                Outcome::BadBundle,
                "the bundle carries an agreement, but the package names none",
            );
            return;
        }
        (Some(a), None) => {
            r.fail(
                NAME,
                Outcome::BadBundle,
                format!(
                    "the package names agreement version {} (entry {}), which the bundle does not carry",
                    a.version, a.seq
                ),
            );
            return;
        }
        (Some(a), Some(e)) => (a, e),
    };
    let p = match prove_part(
        &evidence.package,
        &evidence.proof,
        checkpoint_note,
        None,
        key,
    ) {
        Ok(p) => p,
        Err((outcome, why)) => {
            r.fail(NAME, outcome, format!("the agreement package: {why}"));
            return;
        }
    };
    let h = &p.header;
    let problem = if h.kind != Kind::Agreement || h.seq != named.seq {
        Some(format!(
            "the package names agreement version {} sealed at entry {}, the bundle carries a {} package at entry {}",
            named.version,
            named.seq,
            h.kind.name(),
            h.seq
        ))
    } else if let Some(i) = p.objects.iter().position(Option::is_none) {
        Some(format!(
            "object {i} of the agreement is withheld: the rules must be shown whole"
        ))
    } else {
        stated_agreement_version(&p)
            .filter(|v| *v != named.version)
            .map(|v| {
                format!(
                    "the package names agreement version {}, the document at entry {} states version {v}",
                    named.version, named.seq
                )
            })
    };
    match problem {
        Some(why) => r.fail(NAME, Outcome::BadBundle, why),
        None => r.pass(
            NAME,
            format!(
                "agreement version {} is entry {} of the log (leaf {}), proven under the checkpoint",
                named.version,
                named.seq,
                p.leaf_hash()
            ),
        ),
    }
}

/// The version an agreement document states (formats/bundle.md §6): the unsigned integer
/// member `version` of the first object, when that is a JSON object holding one.
fn stated_agreement_version(p: &OpenedPackage) -> Option<u64> {
    let (meta, Some(Some(bytes))) = (p.header.objects.first()?, p.objects.first()) else {
        return None;
    };
    if meta.media_type != "application/json" {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    doc.as_object()?.get("version")?.as_u64()
}

/// `bundle.disposition.<seq>`: a disposition package of the same log, proven under the
/// checkpoint, with its receipt by the trusted key (valid when it signed), whose record names
/// the entry with its leaf hash; and the bundle then carries none of the entry's content.
fn check_bundle_disposition(
    r: &mut Report,
    b: &Bundle,
    subject: &Subject,
    key: &VerifierKey,
    checkpoint_note: &str,
    i: usize,
    d: &crate::bundle::DispositionEvidence,
) {
    let name = match sealed::open(&d.package) {
        Ok(p) => format!("bundle.disposition.{}", p.header.seq),
        Err(e) => {
            r.fail(
                "bundle.disposition",
                Outcome::DecodeError,
                format!("disposition {i} of the bundle: {e}"),
            );
            return;
        }
    };
    match disposition_problem(b, subject, key, checkpoint_note, d) {
        Ok(done) => r.pass(name, done),
        Err((outcome, why)) => r.fail(name, outcome, why),
    }
}

fn disposition_problem(
    b: &Bundle,
    subject: &Subject,
    key: &VerifierKey,
    checkpoint_note: &str,
    d: &crate::bundle::DispositionEvidence,
) -> Result<String, (Outcome, String)> {
    let p = prove_part(&d.package, &d.proof, checkpoint_note, Some(&d.receipt), key)?;
    let h = &p.header;
    let record = match (h.kind, h.objects.as_slice(), p.objects.as_slice()) {
        (Kind::Disposition, [meta], [Some(bytes)])
            if meta.name == DISPOSITION_OBJECT_NAME
                && meta.media_type == DISPOSITION_MEDIA_TYPE =>
        {
            bytes
        }
        _ => {
            return Err((
                Outcome::BadDisposition,
                format!(
                    "the {} package at entry {} is not a disposition with its record {DISPOSITION_OBJECT_NAME:?} present",
                    h.kind.name(),
                    h.seq
                ),
            ));
        }
    };
    let record = Disposition::decode(record)
        .map_err(|e| (Outcome::DecodeError, format!("the disposition record: {e}")))?;
    let bad = |why: String| (Outcome::BadDisposition, why);
    if let Some(late) = record.packages.iter().find(|x| x.seq >= h.seq) {
        return Err(bad(format!(
            "it names entry {}, not before its own entry {}",
            late.seq, h.seq
        )));
    }
    let Some(entry) = record.packages.iter().find(|x| x.seq == b.seq) else {
        return Err(bad(format!(
            "the record does not name entry {} among its {} package(s)",
            b.seq,
            record.packages.len()
        )));
    };
    if entry.leaf != subject.leaf {
        return Err(bad(format!(
            "the record names entry {} with leaf {}, the entry's leaf is {}",
            b.seq, entry.leaf, subject.leaf
        )));
    }
    if let Some(i) = subject
        .package
        .as_ref()
        .and_then(|p| p.objects.iter().position(Option::is_some))
    {
        return Err(bad(format!(
            "the bundle carries object {i} of entry {}, which this record disposed of",
            b.seq
        )));
    }
    let signed_ms = Receipt::decode(&d.receipt)
        .map(|x| x.signed.head.time_ms)
        .map_err(|e| (Outcome::DecodeError, e.to_string()))?;
    if let Some(problem) = key_problem(b, key, signed_ms) {
        return Err((Outcome::BadKey, problem));
    }
    Ok(format!(
        "{} of {} package(s) including entry {}, decided {} by {:?}, basis {:?}; sealed at entry {}, receipt signed {}",
        record.cause.name(),
        record.packages.len(),
        b.seq,
        format_utc(record.decided_ms),
        record.authorized_by,
        record.basis,
        h.seq,
        format_utc(signed_ms)
    ))
}
