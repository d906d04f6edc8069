//! Proof bundles (formats/bundle.md): one file that lets a court check, offline, that an
//! archive holds a package — or held it and disposed of it — with nothing but the archive's
//! public key.
//!
//! A [`Bundle`] carries its parts as the exact bytes the archive stores and signs (sealed
//! packages, proof files, receipts, checkpoint notes); `verify::verify_bundle` decodes and
//! checks each. Building one is a struct literal plus [`Bundle::with_report`], which writes the
//! HTML report that [`report_html`] derives from the rest and that the verifier regenerates.

use minicbor::Decoder;

use crate::cbor::{self, schema};
use crate::error::DecodeError;
use crate::header::check_identifier;
use crate::limits::{
    BUNDLE_BYTES_MAX, BUNDLE_CHECKPOINTS_MAX, BUNDLE_DISPOSITIONS_MAX, BUNDLE_KEYS_MAX,
    BUNDLE_REPORT_BYTES_MAX, IDENTIFIER_BYTES_MAX, NOTE_BYTES_MAX, NOTE_NAME_BYTES_MAX,
    PROOF_BYTES_MAX, SEALED_BYTES_MAX,
};
use crate::note::VerifierKey;
use crate::sealed::{self, SEAL_ZSTD_LEVEL};

/// Version of the bundle format, report template included (formats/bundle.md §3, §5).
pub const BUNDLE_VERSION: u64 = 1;
/// File extension of a proof bundle.
pub const BUNDLE_EXTENSION: &str = "zbundle";
/// Media type of a proof bundle.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.zegel.bundle+cbor";

const BUNDLE_FIELDS: u64 = 13;
const KEY_FIELDS: u64 = 5;
const AGREEMENT_FIELDS: u64 = 2;
const DISPOSITION_FIELDS: u64 = 3;

/// One of the archive's public keys with the period it signs for (formats/bundle.md §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveKey {
    pub key: VerifierKey,
    /// First moment the key signs, ms since the epoch; `None`: since the archive began.
    pub valid_from_ms: Option<u64>,
    /// First moment it no longer signs (exclusive); `None`: still valid.
    pub valid_until_ms: Option<u64>,
}

impl ArchiveKey {
    /// `valid_from_ms <= time_ms < valid_until_ms`, an absent bound being open.
    pub fn is_valid_at(&self, time_ms: u64) -> bool {
        self.valid_from_ms.is_none_or(|from| from <= time_ms)
            && self.valid_until_ms.is_none_or(|until| time_ms < until)
    }
}

/// The agreement version that validated the package: its sealed package and its inclusion
/// proof under the bundle's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementEvidence {
    pub package: Vec<u8>,
    pub proof: Vec<u8>,
}

/// A disposition package that names the bundle's entry: sealed, with its inclusion proof under
/// the bundle's checkpoint and its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionEvidence {
    pub package: Vec<u8>,
    pub proof: Vec<u8>,
    pub receipt: Vec<u8>,
}

/// A proof bundle (formats/bundle.md §3). Every byte field is kept exactly as stored or
/// signed; `verify::verify_bundle` checks them. Fill `report` with [`Bundle::with_report`]
/// after everything else is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub tenant: String,
    pub archive: String,
    /// The entry the bundle is about (its *subject*).
    pub seq: u64,
    /// The subject's sealed package; objects may be `null` (withheld from this bundle, or
    /// disposed). `None`: the package is absent, which only a disposition can explain.
    pub package: Option<Vec<u8>>,
    /// The subject's receipt (formats/receipt.md).
    pub receipt: Vec<u8>,
    /// Inclusion proof file of leaf `seq` under the last checkpoint.
    pub proof: Vec<u8>,
    /// Signed checkpoint notes of the archive, ascending tree size; the last is the bundle's
    /// checkpoint, under which every inclusion proof of the bundle is given.
    pub checkpoints: Vec<String>,
    /// Consistency proof files, one per checkpoint: proof 0 from the receipt's tree to
    /// checkpoint 0, proof i from checkpoint i − 1 to checkpoint i.
    pub consistency: Vec<Vec<u8>>,
    /// The archive's public keys with their validity.
    pub keys: Vec<ArchiveKey>,
    /// The agreement the package's header names; `None` when it names none or is absent.
    pub agreement: Option<AgreementEvidence>,
    /// Disposition packages that name the subject.
    pub dispositions: Vec<DispositionEvidence>,
    /// The HTML report: exactly [`report_html`] of this bundle.
    pub report: String,
}

impl Bundle {
    /// Encodes the bundle as formats/bundle.md §3 says. Callers building bundles call
    /// [`Bundle::validate`] (or decode what they encoded); the encoder refuses nothing.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode_with(|e| {
            e.map(BUNDLE_FIELDS)?;
            e.u8(0)?.u64(BUNDLE_VERSION)?;
            e.u8(1)?.str(&self.tenant)?;
            e.u8(2)?.str(&self.archive)?;
            e.u8(3)?.u64(self.seq)?;
            e.u8(4)?;
            match &self.package {
                Some(p) => e.bytes(p)?,
                None => e.null()?,
            };
            e.u8(5)?.bytes(&self.receipt)?;
            e.u8(6)?.bytes(&self.proof)?;
            e.u8(7)?.array(self.checkpoints.len() as u64)?;
            for c in &self.checkpoints {
                e.str(c)?;
            }
            e.u8(8)?.array(self.consistency.len() as u64)?;
            for p in &self.consistency {
                e.bytes(p)?;
            }
            e.u8(9)?.array(self.keys.len() as u64)?;
            for k in &self.keys {
                e.map(KEY_FIELDS)?;
                e.u8(0)?.str(k.key.name())?;
                e.u8(1)?.bytes(&k.key.key_id())?;
                e.u8(2)?.str(&k.key.to_text())?;
                e.u8(3)?;
                match k.valid_from_ms {
                    Some(t) => e.u64(t)?,
                    None => e.null()?,
                };
                e.u8(4)?;
                match k.valid_until_ms {
                    Some(t) => e.u64(t)?,
                    None => e.null()?,
                };
            }
            e.u8(10)?;
            match &self.agreement {
                Some(a) => {
                    e.map(AGREEMENT_FIELDS)?;
                    e.u8(0)?.bytes(&a.package)?;
                    e.u8(1)?.bytes(&a.proof)?;
                }
                None => {
                    e.null()?;
                }
            }
            e.u8(11)?.array(self.dispositions.len() as u64)?;
            for d in &self.dispositions {
                e.map(DISPOSITION_FIELDS)?;
                e.u8(0)?.bytes(&d.package)?;
                e.u8(1)?.bytes(&d.proof)?;
                e.u8(2)?.bytes(&d.receipt)?;
            }
            e.u8(12)?.str(&self.report)?;
            Ok(())
        })
    }

    /// Decodes an untrusted bundle through the strict gate and checks the rules of
    /// formats/bundle.md §3.1. The parts stay bytes; the verifier decodes each.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, DecodeError> {
        if bytes.len() > BUNDLE_BYTES_MAX {
            return Err(DecodeError::Limit {
                what: "bundle bytes".into(),
                got: bytes.len() as u64,
                max: BUNDLE_BYTES_MAX as u64,
            });
        }
        let bundle = cbor::decode_exact(bytes, decode_bundle, Bundle::encode)?;
        bundle.validate()?;
        Ok(bundle)
    }

    /// The rules of formats/bundle.md §3.1: identifiers, one consistency proof per
    /// checkpoint, key periods, no key listed twice, and the limit of every field. A bundle
    /// that passes encodes to bytes [`Bundle::decode`] accepts, unless the whole exceeds
    /// `BUNDLE_BYTES_MAX`.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_identifier("tenant", &self.tenant)?;
        check_identifier("archive", &self.archive)?;
        self.check_part_sizes()?;
        let n = self.checkpoints.len();
        if n == 0 || n > BUNDLE_CHECKPOINTS_MAX {
            return Err(schema(format!(
                "a bundle holds 1-{BUNDLE_CHECKPOINTS_MAX} checkpoints, not {n}"
            )));
        }
        if self.consistency.len() != n {
            return Err(schema(format!(
                "a bundle holds one consistency proof per checkpoint: {} proofs for {n} checkpoints",
                self.consistency.len()
            )));
        }
        self.check_keys()?;
        if self.dispositions.len() > BUNDLE_DISPOSITIONS_MAX {
            return Err(DecodeError::Limit {
                what: "bundle dispositions".into(),
                got: self.dispositions.len() as u64,
                max: BUNDLE_DISPOSITIONS_MAX as u64,
            });
        }
        if self.report.len() > BUNDLE_REPORT_BYTES_MAX {
            return Err(DecodeError::Limit {
                what: "bundle report bytes".into(),
                got: self.report.len() as u64,
                max: BUNDLE_REPORT_BYTES_MAX as u64,
            });
        }
        Ok(())
    }

    /// Every part of the bundle within the size limit of its kind, in the order of the
    /// bundle's fields.
    fn check_part_sizes(&self) -> Result<(), DecodeError> {
        let sizes = self
            .package
            .iter()
            .map(|p| ("package bytes", p.len(), SEALED_BYTES_MAX))
            .chain([
                ("receipt bytes", self.receipt.len(), PROOF_BYTES_MAX),
                ("proof bytes", self.proof.len(), PROOF_BYTES_MAX),
            ])
            .chain(
                self.checkpoints
                    .iter()
                    .map(|c| ("checkpoint", c.len(), NOTE_BYTES_MAX)),
            )
            .chain(
                self.consistency
                    .iter()
                    .map(|p| ("consistency proof bytes", p.len(), PROOF_BYTES_MAX)),
            )
            .chain(self.agreement.iter().flat_map(|a| {
                [
                    ("agreement package bytes", a.package.len(), SEALED_BYTES_MAX),
                    ("agreement proof bytes", a.proof.len(), PROOF_BYTES_MAX),
                ]
            }))
            .chain(self.dispositions.iter().flat_map(|d| {
                [
                    (
                        "disposition package bytes",
                        d.package.len(),
                        SEALED_BYTES_MAX,
                    ),
                    ("disposition proof bytes", d.proof.len(), PROOF_BYTES_MAX),
                    (
                        "disposition receipt bytes",
                        d.receipt.len(),
                        PROOF_BYTES_MAX,
                    ),
                ]
            }));
        for (what, got, max) in sizes {
            if got > max {
                return Err(DecodeError::Limit {
                    what: what.into(),
                    got: got as u64,
                    max: max as u64,
                });
            }
        }
        Ok(())
    }

    /// The listed keys: 1 to `BUNDLE_KEYS_MAX` of them, each with its validity period in
    /// order and none listed twice.
    fn check_keys(&self) -> Result<(), DecodeError> {
        if self.keys.is_empty() || self.keys.len() > BUNDLE_KEYS_MAX {
            return Err(schema(format!(
                "a bundle lists 1-{BUNDLE_KEYS_MAX} keys, not {}",
                self.keys.len()
            )));
        }
        for (i, k) in self.keys.iter().enumerate() {
            if let (Some(from), Some(until)) = (k.valid_from_ms, k.valid_until_ms)
                && from >= until
            {
                return Err(schema(format!(
                    "key {}: valid from {from} ms is not before valid until {until} ms",
                    k.key.name()
                )));
            }
            let twice = self
                .keys
                .iter()
                .take(i)
                .any(|o| o.key.name() == k.key.name() && o.key.key_id() == k.key.key_id());
            if twice {
                return Err(schema(format!(
                    "key {}+{} is listed twice",
                    k.key.name(),
                    hex::encode(k.key.key_id())
                )));
            }
        }
        Ok(())
    }

    /// The bundle with `report` set to [`report_html`] of it: the last step of building one.
    pub fn with_report(mut self) -> Bundle {
        self.report = report_html(&self);
        self
    }

    /// The key of [`Bundle::keys`] with this fingerprint (formats/signed-note.md §3.4).
    pub fn key_by_fingerprint(&self, fingerprint: &[u8; 32]) -> Option<&ArchiveKey> {
        self.keys
            .iter()
            .find(|k| k.key.fingerprint() == *fingerprint)
    }
}

/// Re-seals a sealed package with the objects `keep` refuses replaced by `null`
/// (formats/bundle.md §4): the header, and so the leaf hash and every proof, stay as they
/// are. `keep` gets each object's position and header entry.
pub fn redact(
    sealed_package: &[u8],
    keep: impl Fn(usize, &crate::header::ObjectRef) -> bool,
) -> Result<Vec<u8>, DecodeError> {
    let p = sealed::open(sealed_package)?;
    let objects: Vec<Option<&[u8]>> = p
        .header
        .objects
        .iter()
        .zip(&p.objects)
        .enumerate()
        .map(|(i, (meta, body))| body.as_deref().filter(|_| keep(i, meta)))
        .collect();
    let raw = sealed::encode_package(&p.header_bytes, &objects);
    zstd::bulk::compress(&raw, SEAL_ZSTD_LEVEL).map_err(|e| DecodeError::Zstd(e.to_string()))
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

fn time_or_null(d: &mut Decoder<'_>, what: &str) -> Result<Option<u64>, DecodeError> {
    if cbor::null(d, what)? {
        Ok(None)
    } else {
        cbor::uint(d, what).map(Some)
    }
}

fn decode_bundle(d: &mut Decoder<'_>) -> Result<Bundle, DecodeError> {
    const W: &str = "bundle";
    cbor::map_of(d, W, BUNDLE_FIELDS)?;
    cbor::key(d, W, 0)?;
    cbor::expect_value(d, "bundle version", BUNDLE_VERSION)?;
    cbor::key(d, W, 1)?;
    let tenant = cbor::text(d, "tenant", IDENTIFIER_BYTES_MAX)?.to_string();
    cbor::key(d, W, 2)?;
    let archive = cbor::text(d, "archive", IDENTIFIER_BYTES_MAX)?.to_string();
    cbor::key(d, W, 3)?;
    let seq = cbor::uint(d, "seq")?;
    cbor::key(d, W, 4)?;
    let package = if cbor::null(d, "package")? {
        None
    } else {
        Some(bytes_within(d, "package bytes", SEALED_BYTES_MAX)?)
    };
    cbor::key(d, W, 5)?;
    let receipt = bytes_within(d, "receipt bytes", PROOF_BYTES_MAX)?;
    cbor::key(d, W, 6)?;
    let proof = bytes_within(d, "proof bytes", PROOF_BYTES_MAX)?;
    cbor::key(d, W, 7)?;
    let n = cbor::array_len(d, "checkpoints", BUNDLE_CHECKPOINTS_MAX)?;
    let mut checkpoints = Vec::with_capacity(n);
    for _ in 0..n {
        checkpoints.push(cbor::text(d, "checkpoint", NOTE_BYTES_MAX)?.to_string());
    }
    cbor::key(d, W, 8)?;
    let n = cbor::array_len(d, "consistency proofs", BUNDLE_CHECKPOINTS_MAX)?;
    let mut consistency = Vec::with_capacity(n);
    for _ in 0..n {
        consistency.push(bytes_within(d, "consistency proof bytes", PROOF_BYTES_MAX)?);
    }
    cbor::key(d, W, 9)?;
    let n = cbor::array_len(d, "keys", BUNDLE_KEYS_MAX)?;
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        keys.push(decode_key(d)?);
    }
    cbor::key(d, W, 10)?;
    let agreement = if cbor::null(d, "agreement")? {
        None
    } else {
        cbor::map_of(d, "agreement", AGREEMENT_FIELDS)?;
        cbor::key(d, "agreement", 0)?;
        let package = bytes_within(d, "agreement package bytes", SEALED_BYTES_MAX)?;
        cbor::key(d, "agreement", 1)?;
        let proof = bytes_within(d, "agreement proof bytes", PROOF_BYTES_MAX)?;
        Some(AgreementEvidence { package, proof })
    };
    cbor::key(d, W, 11)?;
    let n = cbor::array_len(d, "dispositions", BUNDLE_DISPOSITIONS_MAX)?;
    let mut dispositions = Vec::with_capacity(n);
    for _ in 0..n {
        const D: &str = "disposition";
        cbor::map_of(d, D, DISPOSITION_FIELDS)?;
        cbor::key(d, D, 0)?;
        let package = bytes_within(d, "disposition package bytes", SEALED_BYTES_MAX)?;
        cbor::key(d, D, 1)?;
        let proof = bytes_within(d, "disposition proof bytes", PROOF_BYTES_MAX)?;
        cbor::key(d, D, 2)?;
        let receipt = bytes_within(d, "disposition receipt bytes", PROOF_BYTES_MAX)?;
        dispositions.push(DispositionEvidence {
            package,
            proof,
            receipt,
        });
    }
    cbor::key(d, W, 12)?;
    let report = cbor::text(d, "report", BUNDLE_REPORT_BYTES_MAX)?.to_string();
    Ok(Bundle {
        tenant,
        archive,
        seq,
        package,
        receipt,
        proof,
        checkpoints,
        consistency,
        keys,
        agreement,
        dispositions,
        report,
    })
}

/// One key entry: the name and key id must be those of the verifier key text, which must be
/// valid (formats/signed-note.md §3.3); the round trip then demands its canonical form.
fn decode_key(d: &mut Decoder<'_>) -> Result<ArchiveKey, DecodeError> {
    const K: &str = "key";
    cbor::map_of(d, K, KEY_FIELDS)?;
    cbor::key(d, K, 0)?;
    let name = cbor::text(d, "key name", NOTE_NAME_BYTES_MAX)?;
    cbor::key(d, K, 1)?;
    let id = cbor::bytes(d, "key id")?;
    cbor::key(d, K, 2)?;
    // A key text is its name, two '+', 8 hex digits and 44 base64 characters.
    let text = cbor::text(d, "verifier key", NOTE_NAME_BYTES_MAX + 64)?;
    let key =
        VerifierKey::from_text(text).map_err(|e| schema(format!("verifier key {text:?}: {e}")))?;
    if key.name() != name || key.key_id().as_slice() != id {
        return Err(schema(format!(
            "key entry {name}+{} does not name its verifier key {}",
            hex::encode(id),
            key.to_text()
        )));
    }
    cbor::key(d, K, 3)?;
    let valid_from_ms = time_or_null(d, "valid from")?;
    cbor::key(d, K, 4)?;
    let valid_until_ms = time_or_null(d, "valid until")?;
    Ok(ArchiveKey {
        key,
        valid_from_ms,
        valid_until_ms,
    })
}

mod report;

pub use report::{escape_html, format_utc, report_html};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_validity_is_half_open() {
        let key = crate::note::SigningKey::from_seed("k", [1; 32])
            .map(|k| k.verifier())
            .ok();
        let Some(key) = key else {
            return;
        };
        let k = ArchiveKey {
            key,
            valid_from_ms: Some(10),
            valid_until_ms: Some(20),
        };
        assert!(!k.is_valid_at(9));
        assert!(k.is_valid_at(10));
        assert!(k.is_valid_at(19));
        assert!(!k.is_valid_at(20));
        let open = ArchiveKey {
            valid_from_ms: None,
            valid_until_ms: None,
            ..k
        };
        assert!(open.is_valid_at(0) && open.is_valid_at(u64::MAX));
    }
}
