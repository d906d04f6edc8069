//! Disposition records and certificates of destruction (formats/disposition.md).
//!
//! When a package's retention ends, or an erasure is ordered, its content is deleted but its
//! leaf hash stays in the archive's Merkle log. A *disposition package* (header kind
//! `disposition`) appended to the same log records what was disposed, why and on whose
//! authority; its single object is the [`Disposition`] record. A [`Certificate`] bundles that
//! package with the proofs a court needs to check it offline.

use std::collections::BTreeSet;

use minicbor::Decoder;

use crate::cbor::{self, schema};
use crate::error::DecodeError;
use crate::hash::Hash;
use crate::limits::{
    AUTHORIZER_BYTES_MAX, AUTHORIZERS_MAX, CERTIFICATE_BYTES_MAX, DISPOSITION_BASIS_BYTES_MAX,
    DISPOSITION_PACKAGES_MAX, NOTE_BYTES_MAX, PROOF_BYTES_MAX, SEALED_BYTES_MAX,
};

/// Version of the disposition record.
pub const DISPOSITION_VERSION: u64 = 1;
/// Version of the certificate of destruction.
pub const CERTIFICATE_VERSION: u64 = 1;
/// Name of the one object of a disposition package (formats/disposition.md §3).
pub const DISPOSITION_OBJECT_NAME: &str = "disposition.cbor";
/// Media type of that object.
pub const DISPOSITION_MEDIA_TYPE: &str = "application/vnd.zegel.disposition+cbor";
/// File extension of a certificate of destruction.
pub const CERTIFICATE_EXTENSION: &str = "zcert";
/// Authorizers of an erasure: the requester, then the approver (four eyes).
pub const ERASURE_AUTHORIZERS: usize = 2;

const DISPOSITION_FIELDS: u64 = 6;
const CERTIFICATE_FIELDS: u64 = 6;

/// Why packages were disposed (key 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Their retention period ended (code 0).
    Retention,
    /// An erasure was ordered before the end of retention (code 1).
    Erasure,
}

impl Cause {
    pub fn code(self) -> u64 {
        match self {
            Cause::Retention => 0,
            Cause::Erasure => 1,
        }
    }

    pub fn from_code(code: u64) -> Option<Cause> {
        match code {
            0 => Some(Cause::Retention),
            1 => Some(Cause::Erasure),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cause::Retention => "retention",
            Cause::Erasure => "erasure",
        }
    }
}

/// One disposed package: its position in the log and the leaf hash that stays there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisposedPackage {
    pub seq: u64,
    pub leaf: Hash,
}

/// The disposition record (formats/disposition.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    pub cause: Cause,
    /// The retention rule that ended, or the legal basis of an erasure.
    pub basis: String,
    /// API key ids; for an erasure the requester, then the approver.
    pub authorized_by: Vec<String>,
    /// When the disposition was decided.
    pub decided_ms: u64,
    /// Ascending by seq, no seq twice.
    pub packages: Vec<DisposedPackage>,
}

impl Disposition {
    /// Encodes the record as formats/disposition.md §2 says. Callers that write records call
    /// [`Disposition::validate`] first; the encoder does not refuse anything.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode_with(|e| {
            e.map(DISPOSITION_FIELDS)?;
            e.u8(0)?.u64(DISPOSITION_VERSION)?;
            e.u8(1)?.u64(self.cause.code())?;
            e.u8(2)?.str(&self.basis)?;
            e.u8(3)?.array(self.authorized_by.len() as u64)?;
            for a in &self.authorized_by {
                e.str(a)?;
            }
            e.u8(4)?.u64(self.decided_ms)?;
            e.u8(5)?.array(self.packages.len() as u64)?;
            for p in &self.packages {
                e.array(2)?.u64(p.seq)?.bytes(&p.leaf.0)?;
            }
            Ok(())
        })
    }

    /// Decodes an untrusted record through the strict gate, then checks the rules of §2.
    pub fn decode(bytes: &[u8]) -> Result<Disposition, DecodeError> {
        let d = cbor::decode_exact(bytes, decode_disposition, Disposition::encode)?;
        d.validate()?;
        Ok(d)
    }

    /// The rules of formats/disposition.md §2 that the schema alone does not state.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_text("basis", &self.basis, DISPOSITION_BASIS_BYTES_MAX, true)?;
        for a in &self.authorized_by {
            check_text("authorizer", a, AUTHORIZER_BYTES_MAX, false)?;
        }
        self.check_authorization()?;
        if self.packages.is_empty() || self.packages.len() > DISPOSITION_PACKAGES_MAX {
            return Err(schema(format!(
                "a disposition names 1-{DISPOSITION_PACKAGES_MAX} packages, not {}",
                self.packages.len()
            )));
        }
        for pair in self.packages.windows(2) {
            if let [a, b] = pair
                && a.seq >= b.seq
            {
                return Err(schema(format!(
                    "disposed packages must be in ascending seq without repeats: seq {} follows seq {}",
                    b.seq, a.seq
                )));
            }
        }
        Ok(())
    }

    /// Who may dispose: any one key for retention, two distinct keys for an erasure.
    pub fn check_authorization(&self) -> Result<(), DecodeError> {
        let n = self.authorized_by.len();
        if n == 0 || n > AUTHORIZERS_MAX {
            return Err(schema(format!(
                "a disposition names 1-{AUTHORIZERS_MAX} authorizers, not {n}"
            )));
        }
        let distinct: BTreeSet<&str> = self.authorized_by.iter().map(String::as_str).collect();
        if self.cause == Cause::Erasure && (n != ERASURE_AUTHORIZERS || distinct.len() != n) {
            return Err(schema(format!(
                "an erasure needs {ERASURE_AUTHORIZERS} distinct authorizers (requester, approver), found {:?}",
                self.authorized_by
            )));
        }
        Ok(())
    }
}

/// Non-empty, within `max` bytes, no control characters (tab, CR and LF allowed in prose).
fn check_text(what: &str, text: &str, max: usize, prose: bool) -> Result<(), DecodeError> {
    if text.len() > max {
        return Err(DecodeError::Limit {
            what: what.to_string(),
            got: text.len() as u64,
            max: max as u64,
        });
    }
    let bad = |c: char| c.is_control() && !(prose && matches!(c, '\t' | '\n' | '\r'));
    if text.is_empty() || text.chars().any(bad) {
        return Err(schema(format!(
            "{what} {text:?} must be non-empty and contain no control characters"
        )));
    }
    Ok(())
}

fn decode_disposition(d: &mut Decoder<'_>) -> Result<Disposition, DecodeError> {
    const W: &str = "disposition";
    cbor::map_of(d, W, DISPOSITION_FIELDS)?;
    cbor::key(d, W, 0)?;
    cbor::expect_value(d, "disposition version", DISPOSITION_VERSION)?;
    cbor::key(d, W, 1)?;
    let code = cbor::uint(d, "cause")?;
    let cause = Cause::from_code(code).ok_or(DecodeError::Unsupported {
        what: "disposition cause".into(),
        value: code,
    })?;
    cbor::key(d, W, 2)?;
    let basis = cbor::text(d, "basis", DISPOSITION_BASIS_BYTES_MAX)?.to_string();
    cbor::key(d, W, 3)?;
    let n = cbor::array_len(d, "authorizers", AUTHORIZERS_MAX)?;
    let mut authorized_by = Vec::with_capacity(n);
    for _ in 0..n {
        authorized_by.push(cbor::text(d, "authorizer", AUTHORIZER_BYTES_MAX)?.to_string());
    }
    cbor::key(d, W, 4)?;
    let decided_ms = cbor::uint(d, "decided")?;
    cbor::key(d, W, 5)?;
    let n = cbor::array_len(d, "disposed packages", DISPOSITION_PACKAGES_MAX)?;
    let mut packages = Vec::with_capacity(n);
    for _ in 0..n {
        if cbor::array_len(d, "disposed package", 2)? != 2 {
            return Err(schema("disposed package: expected [seq, leaf hash]"));
        }
        let seq = cbor::uint(d, "disposed seq")?;
        let leaf = cbor::hash(d, "disposed leaf hash")?;
        packages.push(DisposedPackage { seq, leaf });
    }
    Ok(Disposition {
        cause,
        basis,
        authorized_by,
        decided_ms,
        packages,
    })
}

/// A certificate of destruction (formats/disposition.md §4): the disposition package, its
/// proofs, and one inclusion proof per disposed package, all against one signed checkpoint.
/// The parts are kept as bytes; `verify::verify_certificate` decodes and checks each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The sealed disposition package (formats/sealed-package.md).
    pub package: Vec<u8>,
    /// Its inclusion proof file (formats/proofs.md §4).
    pub proof: Vec<u8>,
    /// The signed checkpoint note both the package and the disposed leaves are proven under.
    pub checkpoint: String,
    /// The disposition package's receipt (formats/receipt.md).
    pub receipt: Vec<u8>,
    /// One inclusion proof file per disposed package, in the record's order.
    pub disposed_proofs: Vec<Vec<u8>>,
}

impl Certificate {
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode_with(|e| {
            e.map(CERTIFICATE_FIELDS)?;
            e.u8(0)?.u64(CERTIFICATE_VERSION)?;
            e.u8(1)?.bytes(&self.package)?;
            e.u8(2)?.bytes(&self.proof)?;
            e.u8(3)?.str(&self.checkpoint)?;
            e.u8(4)?.bytes(&self.receipt)?;
            e.u8(5)?.array(self.disposed_proofs.len() as u64)?;
            for p in &self.disposed_proofs {
                e.bytes(p)?;
            }
            Ok(())
        })
    }

    /// Decodes an untrusted certificate through the strict gate. Its parts are checked for
    /// size only; their contents are the verifier's to decode.
    pub fn decode(bytes: &[u8]) -> Result<Certificate, DecodeError> {
        if bytes.len() > CERTIFICATE_BYTES_MAX {
            return Err(DecodeError::Limit {
                what: "certificate bytes".into(),
                got: bytes.len() as u64,
                max: CERTIFICATE_BYTES_MAX as u64,
            });
        }
        cbor::decode_exact(bytes, decode_certificate, Certificate::encode)
    }
}

fn bytes_within(d: &mut Decoder<'_>, what: &str, max: usize) -> Result<Vec<u8>, DecodeError> {
    let b = cbor::bytes(d, what)?;
    if b.len() > max {
        return Err(DecodeError::Limit {
            what: what.to_string(),
            got: b.len() as u64,
            max: max as u64,
        });
    }
    Ok(b.to_vec())
}

fn decode_certificate(d: &mut Decoder<'_>) -> Result<Certificate, DecodeError> {
    const W: &str = "certificate";
    cbor::map_of(d, W, CERTIFICATE_FIELDS)?;
    cbor::key(d, W, 0)?;
    cbor::expect_value(d, "certificate version", CERTIFICATE_VERSION)?;
    cbor::key(d, W, 1)?;
    let package = bytes_within(d, "disposition package bytes", SEALED_BYTES_MAX)?;
    cbor::key(d, W, 2)?;
    let proof = bytes_within(d, "proof bytes", PROOF_BYTES_MAX)?;
    cbor::key(d, W, 3)?;
    let checkpoint = cbor::text(d, "checkpoint", NOTE_BYTES_MAX)?.to_string();
    cbor::key(d, W, 4)?;
    let receipt = bytes_within(d, "receipt bytes", PROOF_BYTES_MAX)?;
    cbor::key(d, W, 5)?;
    let n = cbor::array_len(d, "disposed proofs", DISPOSITION_PACKAGES_MAX)?;
    let mut disposed_proofs = Vec::with_capacity(n);
    for _ in 0..n {
        disposed_proofs.push(bytes_within(d, "disposed proof bytes", PROOF_BYTES_MAX)?);
    }
    Ok(Certificate {
        package,
        proof,
        checkpoint,
        receipt,
        disposed_proofs,
    })
}

#[cfg(test)]
// Fixtures are built here, not read from untrusted bytes: indexing them is fine.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn sample() -> Disposition {
        Disposition {
            cause: Cause::Erasure,
            basis: "court order 2026/17".into(),
            authorized_by: vec!["key-a".into(), "key-b".into()],
            decided_ms: 1_764_000_000_000,
            packages: vec![
                DisposedPackage {
                    seq: 1,
                    leaf: Hash([1; 32]),
                },
                DisposedPackage {
                    seq: 3,
                    leaf: Hash([3; 32]),
                },
            ],
        }
    }

    fn check(edit: impl FnOnce(&mut Disposition), ok: bool) {
        let mut d = sample();
        edit(&mut d);
        let decoded = Disposition::decode(&d.encode());
        assert_eq!(decoded.is_ok(), ok, "{d:?}: {decoded:?}");
        if ok {
            assert_eq!(decoded, Ok(d));
        }
    }

    #[test]
    fn rules() {
        check(|_| {}, true);
        check(|d| d.cause = Cause::Retention, true);
        check(
            |d| {
                d.cause = Cause::Retention;
                d.authorized_by.truncate(1);
            },
            true,
        );
        check(|d| d.authorized_by.truncate(1), false);
        check(|d| d.authorized_by[1] = "key-a".into(), false);
        check(|d| d.authorized_by.push("key-c".into()), false);
        check(|d| d.authorized_by.clear(), false);
        check(|d| d.authorized_by[0] = String::new(), false);
        check(|d| d.authorized_by[0] = "k".repeat(65), false);
        check(|d| d.basis = String::new(), false);
        check(|d| d.basis = "b".repeat(1000), true);
        check(|d| d.basis = "b".repeat(1001), false);
        check(|d| d.basis = "line\nbreak".into(), true);
        check(|d| d.basis = "nul\0".into(), false);
        check(|d| d.packages.reverse(), false);
        check(|d| d.packages[1].seq = 1, false);
        check(|d| d.packages.clear(), false);
    }

    #[test]
    fn unknown_cause_and_version_are_refused() {
        let bytes = sample().encode();
        // 0xa6 map, 00 01 (version), 01 01 (cause): patch the cause, then the version.
        let mut cause = bytes.clone();
        cause[4] = 0x02;
        assert!(matches!(
            Disposition::decode(&cause),
            Err(DecodeError::Unsupported { .. })
        ));
        let mut version = bytes;
        version[2] = 0x02;
        assert!(matches!(
            Disposition::decode(&version),
            Err(DecodeError::Unsupported { .. })
        ));
    }

    #[test]
    fn certificate_round_trips() {
        let c = Certificate {
            package: vec![1, 2, 3],
            proof: vec![4],
            checkpoint: "note\n".into(),
            receipt: vec![5],
            disposed_proofs: vec![vec![6], vec![7, 8]],
        };
        assert_eq!(Certificate::decode(&c.encode()), Ok(c.clone()));
        let mut trailing = c.encode();
        trailing.push(0);
        assert!(Certificate::decode(&trailing).is_err());
    }
}
