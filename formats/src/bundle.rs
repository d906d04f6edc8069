//! Proof bundles (formats/bundle.md): one file that lets a court check, offline, that an
//! archive holds a package — or held it and disposed of it — with nothing but the archive's
//! public key.
//!
//! A [`Bundle`] carries its parts as the exact bytes the archive stores and signs (sealed
//! packages, proof files, receipts, checkpoint notes); `verify::verify_bundle` decodes and
//! checks each. Building one is a struct literal plus [`Bundle::with_report`], which writes the
//! HTML report that [`report_html`] derives from the rest and that the verifier regenerates.

use std::fmt::Write as _;

use minicbor::Decoder;

use crate::cbor::{self, schema};
use crate::checkpoint::Checkpoint;
use crate::disposition::Disposition;
use crate::error::DecodeError;
use crate::header::{Kind, MetaValue, PackageHeader, check_identifier};
use crate::limits::{
    BUNDLE_BYTES_MAX, BUNDLE_CHECKPOINTS_MAX, BUNDLE_DISPOSITIONS_MAX, BUNDLE_KEYS_MAX,
    BUNDLE_REPORT_BYTES_MAX, IDENTIFIER_BYTES_MAX, NOTE_BYTES_MAX, NOTE_NAME_BYTES_MAX,
    PROOF_BYTES_MAX, REPORT_AGREEMENT_BYTES_MAX, SEALED_BYTES_MAX,
};
use crate::note::{self, VerifierKey};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::receipt::Receipt;
use crate::sealed::{self, OpenedPackage, SEAL_ZSTD_LEVEL};

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

// ---------------------------------------------------------------- the report (§5)

/// Escapes text for HTML content and attribute values: `& < > " '`.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time in ms since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, proleptic Gregorian).
pub fn format_utc(ms: u64) -> String {
    const MS_PER_DAY: u64 = 86_400_000;
    let (year, month, day) = crate::layout::civil_date(ms / MS_PER_DAY);
    let in_day = ms % MS_PER_DAY;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

fn utc_or(ms: Option<u64>, absent: &str) -> String {
    ms.map_or_else(|| absent.to_string(), format_utc)
}

const UNREADABLE: &str = "(cannot be read)";

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;\
color:#111;line-height:1.4}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;\
border-bottom:1px solid #999}table{border-collapse:collapse;margin:0.5em 0}\
th,td{border:1px solid #bbb;padding:0.2em 0.5em;text-align:left;vertical-align:top}\
code,pre{font-family:monospace;word-break:break-all;white-space:pre-wrap}\
.note{background:#f3f3f3;padding:0.5em 1em;border-left:4px solid #666}";

/// What a check of `zegel-verify bundle` establishes, in the order it runs (formats/bundle.md
/// §6); the report lists them.
const CHECKS: &[(&str, &str)] = &[
    (
        "bundle.decode",
        "the file is a well-formed bundle (formats/bundle.md)",
    ),
    (
        "package.decode",
        "the sealed package opens and its header is valid",
    ),
    (
        "bundle.package",
        "the package is the bundle's entry, or its absence is explained by a disposition",
    ),
    (
        "object.N",
        "each object present has the size and SHA-256 its header states",
    ),
    (
        "bundle.redacted.N",
        "an object not in the bundle: only its digest is attested (not a failure)",
    ),
    (
        "package.leaf-hash",
        "the leaf hash: SHA-256 of 0x00 and the exact header bytes",
    ),
    (
        "receipt.*",
        "the receipt is signed by the trusted key and names this entry and leaf",
    ),
    (
        "bundle.key",
        "the trusted key is one of the archive's keys, valid when the receipt was signed",
    ),
    (
        "checkpoint.N.*",
        "each checkpoint is signed by the trusted key and names this archive",
    ),
    (
        "bundle.consistency.N",
        "the log only grew: the receipt's tree is a prefix of each checkpoint's",
    ),
    (
        "proof.inclusion",
        "the entry is in the tree of the bundle's checkpoint",
    ),
    (
        "bundle.agreement",
        "the agreement the header names is that entry of the same log",
    ),
    (
        "bundle.disposition.N",
        "each disposition is an entry of the same log and names this entry",
    ),
    (
        "bundle.report",
        "this report is exactly what the bundle's contents give",
    ),
];

fn row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(
        out,
        "<tr><th>{}</th><td>{}</td></tr>",
        escape_html(label),
        value
    );
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", escape_html(text))
}

/// The HTML report of a bundle (formats/bundle.md §5): a pure function of every field but
/// `report`, so the verifier regenerates it and compares. It reads the parts without
/// verifying them and writes "(cannot be read)" where a part does not decode; it never
/// panics. The output is UTF-8 HTML with no script and no external resource.
pub fn report_html(b: &Bundle) -> String {
    let package = b.package.as_deref().map(sealed::open);
    let receipt = Receipt::decode(&b.receipt).ok();
    let title = format!("{}/{}, entry {}", b.tenant, b.archive, b.seq);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"zegel bundle report, bundle version {BUNDLE_VERSION}\">\n\
         <title>Zegel proof bundle: {t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Proof bundle: {t}</h1>\n",
        t = escape_html(&title)
    );
    out.push_str(
        "<p class=\"note\">This report summarises the proof bundle it is stored in. It was \
         generated from the bundle's contents by a fixed procedure (formats/bundle.md §5) and \
         proves nothing by itself: the proof is the verification described at the end, with the \
         archive's public key obtained from the archive through another channel. The verifier \
         also regenerates this report and fails the bundle if it differs, so the report cannot \
         say anything the bundle's contents do not.</p>\n",
    );
    report_summary(&mut out, b, package.as_ref(), receipt.as_ref());
    report_package(&mut out, b, package.as_ref(), receipt.as_ref());
    report_receipt(&mut out, receipt.as_ref());
    report_checkpoints(&mut out, b, receipt.as_ref());
    report_agreement(&mut out, b);
    report_dispositions(&mut out, b);
    report_keys(&mut out, b);
    report_how_to_verify(&mut out, b);
    out.push_str("</body>\n</html>\n");
    out
}

fn report_summary(
    out: &mut String,
    b: &Bundle,
    package: Option<&Result<OpenedPackage, DecodeError>>,
    receipt: Option<&Receipt>,
) {
    out.push_str("<h2>What this evidence is</h2>\n<p>");
    let place = format!(
        "entry {} of the archive {} of the tenant {}",
        b.seq, b.archive, b.tenant
    );
    let sentence = match package {
        Some(Ok(p)) => {
            let h = &p.header;
            let key = h
                .record_key
                .as_deref()
                .map_or(String::new(), |k| format!(" with record key {k}"));
            let withheld = p.objects.iter().filter(|o| o.is_none()).count();
            format!(
                "A {} package{key}, {place}, integrated at {}. The bundle holds its header and {} of its {} object(s){}.",
                h.kind.name(),
                format_utc(h.time_ms),
                p.objects.len() - withheld,
                p.objects.len(),
                if withheld > 0 {
                    "; the others are not included, only their digests are attested"
                } else {
                    ""
                }
            )
        }
        Some(Err(_)) => format!("The package at {place}; it {UNREADABLE}."),
        None => format!(
            "The package at {place} is not in this bundle: the bundle holds the record(s) of its disposition, and the proof that its leaf is still in the log."
        ),
    };
    out.push_str(&escape_html(&sentence));
    if let Some(r) = receipt {
        let _ = write!(
            out,
            " {}",
            escape_html(&format!(
                "The archive signed its receipt at {}.",
                format_utc(r.signed.head.time_ms)
            ))
        );
    }
    out.push_str("</p>\n");
}

fn report_package(
    out: &mut String,
    b: &Bundle,
    package: Option<&Result<OpenedPackage, DecodeError>>,
    receipt: Option<&Receipt>,
) {
    out.push_str("<h2>The package</h2>\n");
    let p = match package {
        Some(Ok(p)) => p,
        Some(Err(_)) => {
            let _ = writeln!(out, "<p>The sealed package {UNREADABLE}.</p>");
            return;
        }
        None => {
            let leaf = receipt.map_or(UNREADABLE.to_string(), |r| r.leaf.to_hex());
            let _ = writeln!(
                out,
                "<p>Not included. Its leaf hash, as the receipt states it: {}</p>",
                code(&leaf)
            );
            return;
        }
    };
    let h = &p.header;
    out.push_str("<table>\n");
    row(out, "Tenant", &escape_html(&h.tenant));
    row(out, "Archive", &escape_html(&h.archive));
    row(out, "Sequence number (entry)", &h.seq.to_string());
    row(out, "Kind", h.kind.name());
    row(
        out,
        "Record key",
        &h.record_key.as_deref().map_or("none".into(), escape_html),
    );
    row(out, "Integrated at (UTC)", &format_utc(h.time_ms));
    row(
        out,
        "Retained until (UTC)",
        &utc_or(h.retain_until_ms, "kept without end"),
    );
    row(
        out,
        "Agreement",
        &h.agreement.map_or("none".into(), |a| {
            format!("version {}, sealed at entry {}", a.version, a.seq)
        }),
    );
    row(
        out,
        "Previous leaf hash",
        &h.prev
            .map_or("none (first entry)".into(), |x| code(&x.to_hex())),
    );
    row(
        out,
        "Leaf hash: SHA-256(0x00 ‖ header)",
        &code(&p.leaf_hash().to_hex()),
    );
    row(
        out,
        "Header size",
        &format!("{} bytes", p.header_bytes.len()),
    );
    out.push_str("</table>\n<h3>Objects</h3>\n<table>\n");
    out.push_str(
        "<tr><th>#</th><th>Name</th><th>Media type</th><th>Size (bytes)</th><th>SHA-256</th><th>In this bundle</th></tr>\n",
    );
    for (i, (meta, body)) in h.objects.iter().zip(&p.objects).enumerate() {
        let present = match (body, b.dispositions.is_empty()) {
            (Some(_), _) => "included",
            (None, true) => "not included (withheld)",
            (None, false) => "not included (disposed)",
        };
        let _ = writeln!(
            out,
            "<tr><td>{i}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{present}</td></tr>",
            escape_html(&meta.name),
            escape_html(&meta.media_type),
            meta.size,
            code(&meta.digest.to_hex())
        );
    }
    out.push_str("</table>\n");
    report_metadata(out, h);
}

fn report_metadata(out: &mut String, h: &PackageHeader) {
    out.push_str("<h3>Metadata</h3>\n");
    if h.metadata.is_empty() {
        out.push_str("<p>none</p>\n");
        return;
    }
    out.push_str("<table>\n");
    for (name, value) in &h.metadata {
        let v = match value {
            MetaValue::Text(t) => escape_html(t),
            MetaValue::Int(i) => i.to_string(),
            MetaValue::Bool(x) => x.to_string(),
        };
        row(out, name, &v);
    }
    out.push_str("</table>\n");
}

fn report_receipt(out: &mut String, receipt: Option<&Receipt>) {
    out.push_str("<h2>Receipt (signed timestamp)</h2>\n");
    let Some(r) = receipt else {
        let _ = writeln!(out, "<p>The receipt {UNREADABLE}.</p>");
        return;
    };
    let head = &r.signed.head;
    out.push_str("<table>\n");
    row(
        out,
        "Signed by",
        &code(&format!(
            "{}+{}",
            r.signed.key_name,
            hex::encode(r.signed.key_id)
        )),
    );
    row(out, "Signed at (UTC)", &format_utc(head.time_ms));
    row(out, "Log", &escape_html(&head.origin));
    row(out, "Tree size", &head.size.to_string());
    row(out, "Root hash", &code(&head.root.to_hex()));
    row(out, "Entry", &r.seq.to_string());
    row(out, "Leaf hash", &code(&r.leaf.to_hex()));
    out.push_str("</table>\n");
}

/// A checkpoint read without verifying its signature, and its signers by name and key id.
fn read_checkpoint(note_text: &str) -> Option<(Checkpoint, Vec<String>)> {
    let n = note::parse_note(note_text.as_bytes()).ok()?;
    let cp = Checkpoint::parse_body(&n.text).ok()?;
    let signers = n
        .signatures
        .iter()
        .map(|s| format!("{}+{}", s.name, hex::encode(s.key_id)))
        .collect();
    Some((cp, signers))
}

fn report_checkpoints(out: &mut String, b: &Bundle, receipt: Option<&Receipt>) {
    out.push_str("<h2>Checkpoints (signed tree heads)</h2>\n<table>\n");
    out.push_str(
        "<tr><th>#</th><th>Log</th><th>Tree size</th><th>Root hash</th><th>Signed by</th></tr>\n",
    );
    let last = b.checkpoints.len().saturating_sub(1);
    let mut sizes: Vec<Option<u64>> = vec![receipt.map(|r| r.signed.head.size)];
    for (i, text) in b.checkpoints.iter().enumerate() {
        let mark = if i == last {
            " (the bundle's checkpoint)"
        } else {
            ""
        };
        match read_checkpoint(text) {
            Some((cp, signers)) => {
                sizes.push(Some(cp.size));
                let _ = writeln!(
                    out,
                    "<tr><td>{i}{mark}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape_html(&cp.origin),
                    cp.size,
                    code(&cp.root.to_hex()),
                    signers
                        .iter()
                        .map(|s| code(s))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            None => {
                sizes.push(None);
                let _ = writeln!(
                    out,
                    "<tr><td>{i}{mark}</td><td colspan=\"4\">{UNREADABLE}</td></tr>"
                );
            }
        }
    }
    out.push_str(
        "</table>\n<p>Consistency proofs, each showing that the log only grew:</p>\n<ul>\n",
    );
    for (i, bytes) in b.consistency.iter().enumerate() {
        let from = if i == 0 {
            "the receipt's tree".to_string()
        } else {
            format!("checkpoint {}", i - 1)
        };
        let sizes_of = |k: usize| {
            sizes
                .get(k)
                .copied()
                .flatten()
                .map_or("?".to_string(), |s| s.to_string())
        };
        let line = match ConsistencyProof::decode(bytes) {
            Ok(p) => format!(
                "{i}: from {from} (size {}) to checkpoint {i} (size {}), {} hash(es)",
                sizes_of(i),
                sizes_of(i + 1),
                p.path.len()
            ),
            Err(_) => format!("{i}: from {from} to checkpoint {i}: {UNREADABLE}"),
        };
        let _ = writeln!(out, "<li>{}</li>", escape_html(&line));
    }
    let inclusion = match InclusionProof::decode(&b.proof) {
        Ok(p) => format!(
            "Inclusion proof: entry {} in the tree of {}, {} hash(es).",
            p.index,
            p.size,
            p.path.len()
        ),
        Err(_) => format!("Inclusion proof: {UNREADABLE}."),
    };
    let _ = writeln!(out, "</ul>\n<p>{}</p>", escape_html(&inclusion));
}

fn report_agreement(out: &mut String, b: &Bundle) {
    out.push_str("<h2>The submission agreement</h2>\n");
    let Some(a) = &b.agreement else {
        out.push_str(
            "<p>None in this bundle: the package names no agreement, or is not included.</p>\n",
        );
        return;
    };
    let Ok(p) = sealed::open(&a.package) else {
        let _ = writeln!(out, "<p>The agreement package {UNREADABLE}.</p>");
        return;
    };
    let h = &p.header;
    out.push_str("<table>\n");
    row(out, "Entry", &h.seq.to_string());
    row(out, "Kind", h.kind.name());
    row(out, "Integrated at (UTC)", &format_utc(h.time_ms));
    row(out, "Leaf hash", &code(&p.leaf_hash().to_hex()));
    out.push_str("</table>\n");
    // Only the first object, the agreement document, is shown as text: that bounds the report.
    for (i, (meta, body)) in h.objects.iter().zip(&p.objects).enumerate() {
        let text = body
            .as_deref()
            .filter(|x| i == 0 && x.len() <= REPORT_AGREEMENT_BYTES_MAX)
            .and_then(|x| std::str::from_utf8(x).ok());
        let _ = writeln!(
            out,
            "<h3>{} ({}, {} bytes, SHA-256 {})</h3>",
            escape_html(&meta.name),
            escape_html(&meta.media_type),
            meta.size,
            code(&meta.digest.to_hex())
        );
        match text {
            Some(t) => {
                let _ = writeln!(out, "<pre>{}</pre>", escape_html(t));
            }
            None => out.push_str(
                "<p>Not shown here (not the agreement document, absent, not UTF-8 text, or larger than 64 KiB).</p>\n",
            ),
        }
    }
}

fn report_dispositions(out: &mut String, b: &Bundle) {
    out.push_str("<h2>Dispositions</h2>\n");
    if b.dispositions.is_empty() {
        out.push_str("<p>None: the bundle holds no record that the package was disposed of.</p>\n");
        return;
    }
    for (i, d) in b.dispositions.iter().enumerate() {
        let opened = sealed::open(&d.package).ok();
        let record = opened.as_ref().and_then(|p| match p.objects.as_slice() {
            [Some(bytes)] if p.header.kind == Kind::Disposition => Disposition::decode(bytes).ok(),
            _ => None,
        });
        let (Some(p), Some(rec)) = (opened.as_ref(), record) else {
            let _ = writeln!(out, "<p>Disposition {i}: {UNREADABLE}.</p>");
            continue;
        };
        let _ = writeln!(
            out,
            "<h3>Disposition at entry {}</h3>\n<table>",
            p.header.seq
        );
        row(out, "Cause", rec.cause.name());
        row(out, "Basis", &escape_html(&rec.basis));
        row(
            out,
            "Authorized by",
            &rec.authorized_by
                .iter()
                .map(|a| code(a))
                .collect::<Vec<_>>()
                .join(" "),
        );
        row(out, "Decided at (UTC)", &format_utc(rec.decided_ms));
        let names_this = rec
            .packages
            .iter()
            .find(|x| x.seq == b.seq)
            .map_or("no".to_string(), |x| {
                format!("yes, with leaf hash {}", code(&x.leaf.to_hex()))
            });
        row(
            out,
            "Packages disposed",
            &format!(
                "{}; this entry among them: {names_this}",
                rec.packages.len()
            ),
        );
        row(
            out,
            "Receipt signed at (UTC)",
            &Receipt::decode(&d.receipt).map_or(UNREADABLE.to_string(), |r| {
                format_utc(r.signed.head.time_ms)
            }),
        );
        out.push_str("</table>\n");
    }
}

fn report_keys(out: &mut String, b: &Bundle) {
    out.push_str("<h2>The archive's public keys</h2>\n<table>\n");
    out.push_str("<tr><th>Name</th><th>Key id</th><th>Fingerprint (SHA-256)</th><th>Valid from (UTC)</th><th>Valid until (UTC)</th><th>Verifier key</th></tr>\n");
    for k in &b.keys {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(k.key.name()),
            code(&hex::encode(k.key.key_id())),
            code(&hex::encode(k.key.fingerprint())),
            utc_or(k.valid_from_ms, "the beginning"),
            utc_or(k.valid_until_ms, "no end"),
            code(&k.key.to_text())
        );
    }
    out.push_str("</table>\n<p>Compare the fingerprint with the one the archive publishes elsewhere before trusting a key.</p>\n");
}

fn report_how_to_verify(out: &mut String, b: &Bundle) {
    let file = format!("{}-{}-{}.{BUNDLE_EXTENSION}", b.tenant, b.archive, b.seq);
    let _ = writeln!(
        out,
        "<h2>How to verify</h2>\n<p>Offline, with nothing but this bundle, the archive's public key \
         and <code>zegel-verify</code> built from the Zegel sources, or a verifier written from the \
         specifications in <code>formats/</code>:</p>\n<pre>zegel-verify bundle --key KEY {}</pre>\n\
         <p>KEY is the archive's verifier key text (or a file holding it), or the 64-digit \
         fingerprint of that key, obtained from the archive independently of this bundle: never \
         copied from this report, which anyone who forged the bundle could have written. The \
         verifier prints one line per check, with its verdict and reason, and exits with 0 when \
         every check passed, 1 when one failed and 2 when it could not run. The checks, in \
         order:</p>\n<table>",
        escape_html(&file)
    );
    for (name, what) in CHECKS {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            code(name),
            escape_html(what)
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_known_answers() {
        let check = |ms: u64, want: &str| assert_eq!(format_utc(ms), want, "{ms}");
        check(0, "1970-01-01T00:00:00.000Z");
        check(1_764_000_003_000, "2025-11-24T16:00:03.000Z");
        check(951_782_400_000, "2000-02-29T00:00:00.000Z");
        check(951_868_799_999, "2000-02-29T23:59:59.999Z");
        check(4_107_542_400_000, "2100-03-01T00:00:00.000Z");
        check(1_709_164_800_000 + 86_399_001, "2024-02-29T23:59:59.001Z");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<script>a & 'b' \"c\"</script>"),
            "&lt;script&gt;a &amp; &#39;b&#39; &quot;c&quot;&lt;/script&gt;"
        );
        assert_eq!(escape_html("ünïcode ‖"), "ünïcode ‖");
    }

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
