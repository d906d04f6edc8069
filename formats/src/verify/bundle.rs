//! `verify_bundle`: a proof bundle (formats/bundle.md §6).

use crate::bundle::{Bundle, format_utc, report_html};
use crate::checkpoint::{self, Checkpoint};
use crate::disposition::{DISPOSITION_MEDIA_TYPE, DISPOSITION_OBJECT_NAME, Disposition};
use crate::hash::Hash;
use crate::header::Kind;
use crate::note::VerifierKey;
use crate::proof::ConsistencyProof;
use crate::receipt::Receipt;
use crate::sealed::{self, OpenedPackage};

use super::package::{PackageInputs, verify_package};
use super::parts::{
    check_checkpoint, check_inclusion, check_objects, check_receipt_names, check_receipt_signature,
    open_package,
};
use super::report::{Outcome, Report};

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
