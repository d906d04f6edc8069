//! The deterministic generator of the conformance vectors (`examples/generate_vectors.rs`
//! writes them to `formats/vectors/`).
//!
//! One scenario per file. Every vector is built from one small sample log so that the
//! negative ones differ from a positive one by exactly the fault they name.

// The generator's inputs are fixed and known to encode; where one did not, the vector would
// differ from the committed file, which `tests/vectors.rs` compares byte for byte.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::bundle::{self, AgreementEvidence, ArchiveKey, Bundle, DispositionEvidence};
use crate::checkpoint::{self, Checkpoint};
use crate::disposition::{
    Cause, Certificate, DISPOSITION_MEDIA_TYPE, DISPOSITION_OBJECT_NAME, DisposedPackage,
    Disposition,
};
use crate::hash::leaf_hash;
use crate::hash::{Hash, sha256};
use crate::header::{AgreementRef, Kind, MetaValue, ObjectRef, PackageHeader};
use crate::layout::{self, LayoutVersion, RetentionMonth};
use crate::merkle::{self, MemoryTree};
use crate::note::SigningKey;
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::receipt::{ReceiptHead, SignedHead};
use crate::sealed::{self, SEAL_ZSTD_LEVEL};
use crate::segment::{self, SegmentPackage};
use crate::verify::Outcome;

use super::{VECTOR_FORMAT, Vector, other_key, test_key};

#[path = "refusals_more.rs"]
mod refusals_more;

const TENANT: &str = "acme";
const ARCHIVE: &str = "invoices";
const T0_MS: u64 = 1_764_000_000_000;

/// A small sealed log: seq 0 is an agreement, seq 1..=4 are database rows.
pub struct SampleLog {
    pub key: SigningKey,
    pub headers: Vec<PackageHeader>,
    pub header_bytes: Vec<Vec<u8>>,
    pub objects: Vec<Vec<u8>>,
    pub sealed: Vec<Vec<u8>>,
    pub tree: MemoryTree,
}

impl std::fmt::Debug for SampleLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SampleLog({} packages)", self.sealed.len())
    }
}

fn seal(header_bytes: &[u8], objects: &[Option<&[u8]>]) -> Vec<u8> {
    let raw = sealed::encode_package(header_bytes, objects);
    zstd::bulk::compress(&raw, SEAL_ZSTD_LEVEL).unwrap_or_default()
}

impl SampleLog {
    pub fn build() -> SampleLog {
        SampleLog::with_agreement(
            br#"{"record_key":"invoice_id","retention":{"after":"issued_on","years":10}}"#,
        )
    }

    /// The sample log with this agreement document at seq 0.
    pub fn with_agreement(agreement: &[u8]) -> SampleLog {
        let key = test_key();
        let mut log = SampleLog {
            key,
            headers: Vec::new(),
            header_bytes: Vec::new(),
            objects: Vec::new(),
            sealed: Vec::new(),
            tree: MemoryTree::new(),
        };
        log.append(
            Kind::Agreement,
            None,
            BTreeMap::new(),
            ("agreement.json", "application/json", agreement.to_vec()),
        );
        for i in 1..=4u64 {
            let id = format!("INV-2025-{i:05}");
            let row = format!(
                r#"{{"invoice_id":"{id}","customer":"0{}","amount_eur":"{}.{:02}","issued_on":"2025-0{i}-15"}}"#,
                400_000_000 + i * 7919,
                120 * i,
                i * 13 % 100
            );
            let mut meta = BTreeMap::new();
            meta.insert("issued_on".into(), MetaValue::Text(format!("2025-0{i}-15")));
            meta.insert(
                "customer".into(),
                MetaValue::Text(format!("0{}", 400_000_000 + i * 7919)),
            );
            meta.insert("lines".into(), MetaValue::Int(i as i64));
            meta.insert("paid".into(), MetaValue::Bool(i % 2 == 0));
            log.append(
                Kind::Record,
                Some(id),
                meta,
                ("record.json", "application/json", row.into_bytes()),
            );
        }
        log
    }

    fn append(
        &mut self,
        kind: Kind,
        record_key: Option<String>,
        metadata: BTreeMap<String, MetaValue>,
        (name, media_type, object): (&str, &str, Vec<u8>),
    ) {
        let seq = self.headers.len() as u64;
        let header = PackageHeader {
            tenant: TENANT.into(),
            archive: ARCHIVE.into(),
            seq,
            prev: self.header_bytes.last().map(|b| crate::hash::leaf_hash(b)),
            time_ms: T0_MS + seq * 1000,
            kind,
            agreement: kind
                .needs_agreement()
                .then_some(AgreementRef { version: 1, seq: 0 }),
            record_key,
            metadata,
            objects: vec![ObjectRef {
                name: name.into(),
                media_type: media_type.into(),
                size: object.len() as u64,
                digest: sha256(&object),
            }],
            retain_until_ms: kind
                .needs_agreement()
                .then_some(T0_MS + 10 * 365 * 86_400_000),
        };
        let bytes = header.encode();
        self.tree.push(crate::hash::leaf_hash(&bytes));
        self.sealed.push(seal(&bytes, &[Some(&object)]));
        self.headers.push(header);
        self.header_bytes.push(bytes);
        self.objects.push(object);
    }

    pub fn origin(&self) -> String {
        checkpoint::origin(self.key.name(), TENANT, ARCHIVE)
    }

    pub fn checkpoint(&self, size: u64, key: &SigningKey) -> String {
        let root = merkle::root(&self.tree, size).unwrap_or_default();
        Checkpoint {
            origin: self.origin(),
            size,
            root,
        }
        .sign(key)
    }

    pub fn inclusion(&self, index: u64, size: u64) -> InclusionProof {
        InclusionProof {
            index,
            size,
            path: merkle::inclusion_proof(&self.tree, index, size).unwrap_or_default(),
        }
    }

    pub fn receipt(&self, seq: u64, size: u64, key: &SigningKey) -> Vec<u8> {
        let head = ReceiptHead {
            origin: self.origin(),
            size,
            root: merkle::root(&self.tree, size).unwrap_or_default(),
            time_ms: T0_MS + size * 1000,
        };
        let path = merkle::inclusion_proof(&self.tree, seq, size).unwrap_or_default();
        let leaf =
            crate::hash::leaf_hash(self.header_bytes.get(seq as usize).map_or(&[][..], |v| v));
        SignedHead::sign(head, key)
            .receipt(seq, leaf, path)
            .encode()
    }

    fn object(&self, seq: usize) -> &[u8] {
        self.objects.get(seq).map_or(&[][..], |v| v)
    }

    fn header(&self, seq: usize) -> &[u8] {
        self.header_bytes.get(seq).map_or(&[][..], |v| v)
    }

    fn sealed(&self, seq: usize) -> &[u8] {
        self.sealed.get(seq).map_or(&[][..], |v| v)
    }
}

struct Builder {
    out: Vec<Vector>,
    key_text: String,
}

impl Builder {
    fn add(
        &mut self,
        scenario: &str,
        description: &str,
        check: &str,
        expect: Outcome,
        failed_check: Option<&str>,
        inputs: Vec<(&str, serde_json::Value)>,
    ) {
        let mut map: BTreeMap<String, serde_json::Value> = inputs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        map.entry("public_key".into())
            .or_insert_with(|| self.key_text.clone().into());
        self.out.push(Vector {
            format: VECTOR_FORMAT.into(),
            scenario: scenario.into(),
            description: description.into(),
            check: check.into(),
            expect: expect.as_str().into(),
            failed_check: failed_check.map(str::to_string),
            inputs: map,
        });
    }
}

fn b64(bytes: &[u8]) -> serde_json::Value {
    B64.encode(bytes).into()
}

fn text(s: String) -> serde_json::Value {
    s.into()
}

/// Replaces the first occurrence of `from` in `bytes` (must exist in the fixtures).
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    match bytes.windows(from.len()).position(|w| w == from) {
        Some(i) => {
            let mut out = bytes.get(..i).unwrap_or_default().to_vec();
            out.extend_from_slice(to);
            out.extend_from_slice(bytes.get(i + from.len()..).unwrap_or_default());
            out
        }
        None => bytes.to_vec(),
    }
}

fn flip_last(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    if let Some(b) = v.last_mut() {
        *b ^= 0x01;
    }
    v
}

/// Every vector, in a stable order.
pub fn generate() -> Vec<Vector> {
    let log = SampleLog::build();
    let mut b = Builder {
        out: Vec::new(),
        key_text: log.key.verifier().to_text(),
    };
    let fx = Fixture::new(&log);
    package_ok_vectors(&mut b, &fx);
    header_object_vectors(&mut b, &fx);
    proof_vectors(&mut b, &fx);
    checkpoint_vectors(&mut b, &fx);
    sealing_vectors(&mut b, &fx);
    cbor_framing_vectors(&mut b, &fx);
    cbor_value_vectors(&mut b, &fx);
    signature_vectors(&mut b, &fx);
    receipt_vectors(&mut b, &fx);
    chain_vectors(&mut b, &fx);
    consistency_vectors(&mut b, &fx);
    refusal_vectors(&mut b, &fx);
    segment_vectors(&mut b, &log);
    tile_vectors(&mut b, &log.key);
    certificate_vectors(&mut b);
    bundle_vectors(&mut b);
    bundle_refusal_vectors(&mut b);
    agreement_version_vectors(&mut b);
    refusals_more::more_refusal_vectors(&mut b, &log);
    b.out
}

/// What the package scenarios share: the sample log, its checkpoint of 5, and the package at
/// seq 3 with its inclusion proof in the tree of 5.
struct Fixture<'a> {
    log: &'a SampleLog,
    cp5: String,
    proof3: Vec<u8>,
    pkg3: Vec<u8>,
}

impl Fixture<'_> {
    /// The inputs of a `package` vector with seq 3's proof in the tree of 5.
    fn inputs(
        &self,
        package: Vec<u8>,
        checkpoint: String,
    ) -> Vec<(&'static str, serde_json::Value)> {
        package_inputs(package, self.proof3.clone(), checkpoint)
    }

    fn new(log: &SampleLog) -> Fixture<'_> {
        Fixture {
            log,
            cp5: log.checkpoint(5, &log.key),
            proof3: log.inclusion(3, 5).encode(),
            pkg3: log.sealed(3).to_vec(),
        }
    }
}

/// The inputs of a `package` vector.
fn package_inputs(
    package: Vec<u8>,
    proof: Vec<u8>,
    checkpoint: String,
) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("package", b64(&package)),
        ("proof", b64(&proof)),
        ("checkpoint", text(checkpoint)),
    ]
}

/// The positive package scenarios: rows, the first and last leaf, a receipt, a withheld
/// object.
fn package_ok_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        log,
        cp5,
        proof3,
        pkg3,
    } = fx;
    let key = &log.key;
    b.add(
        "package-ok",
        "A database row (seq 3 of 5) with its inclusion proof under a checkpoint of size 5.",
        "package",
        Outcome::Ok,
        None,
        package_inputs(pkg3.clone(), proof3.clone(), cp5.clone()),
    );
    b.add(
        "package-first-leaf-ok",
        "The archive's agreement at seq 0 (prev is null) proven in the tree of 5.",
        "package",
        Outcome::Ok,
        None,
        package_inputs(
            log.sealed(0).to_vec(),
            log.inclusion(0, 5).encode(),
            cp5.clone(),
        ),
    );
    b.add(
        "package-last-leaf-ok",
        "The last leaf (seq 4), whose inclusion path climbs the ragged right edge.",
        "package",
        Outcome::Ok,
        None,
        package_inputs(
            log.sealed(4).to_vec(),
            log.inclusion(4, 5).encode(),
            cp5.clone(),
        ),
    );
    let mut inputs = package_inputs(pkg3.clone(), proof3.clone(), cp5.clone());
    inputs.push(("receipt", b64(&log.receipt(3, 4, key))));
    b.add(
        "package-receipt-ok",
        "Seq 3 with the receipt signed when the tree had 4 leaves, and the later checkpoint of 5.",
        "package",
        Outcome::Ok,
        None,
        inputs,
    );
    b.add("package-withheld-object-ok", "Seq 3 with its object withheld (null): the header digest stands, the object check is skipped.",
        "package", Outcome::Ok, None, package_inputs(seal(log.header(3), &[None]), proof3.clone(), cp5.clone()));
}

/// Header and object faults: the leaf or an object digest no longer matches.
fn header_object_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        log, cp5, proof3, ..
    } = fx;
    let flipped_header = replace(log.header(3), b"2025-03-15", b"2025-03-16");
    b.add("header-flipped-byte", "One byte of a metadata value in the header changed (2025-03-15 -> 2025-03-16) and the package resealed: the leaf hash no longer proves.",
        "package", Outcome::BadProof, Some("proof.inclusion"),
        package_inputs(seal(&flipped_header, &[Some(log.object(3))]), proof3.clone(), cp5.clone()));
    b.add(
        "object-flipped-byte",
        "The last byte of the row object flipped: its SHA-256 no longer matches the header.",
        "package",
        Outcome::BadDigest,
        Some("object.0"),
        package_inputs(
            seal(log.header(3), &[Some(&flip_last(log.object(3)))]),
            proof3.clone(),
            cp5.clone(),
        ),
    );
    let obj = log.object(3);
    b.add(
        "object-truncated",
        "The row object lost its last byte: its size no longer matches the header.",
        "package",
        Outcome::BadDigest,
        Some("object.0"),
        package_inputs(
            seal(
                log.header(3),
                &[Some(
                    obj.get(..obj.len().saturating_sub(1)).unwrap_or_default(),
                )],
            ),
            proof3.clone(),
            cp5.clone(),
        ),
    );
}

/// Inclusion proof faults.
fn proof_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture { log, cp5, pkg3, .. } = fx;
    let mut wrong_sibling = log.inclusion(3, 5);
    if let Some(h) = wrong_sibling.path.get_mut(1) {
        h.0[0] ^= 0x80;
    }
    b.add(
        "proof-wrong-sibling",
        "The second hash of the inclusion path has one bit flipped.",
        "package",
        Outcome::BadProof,
        Some("proof.inclusion"),
        package_inputs(pkg3.clone(), wrong_sibling.encode(), cp5.clone()),
    );
    b.add(
        "proof-wrong-tree-size",
        "A valid proof of seq 3 in the tree of 4, presented with the checkpoint of 5.",
        "package",
        Outcome::BadProof,
        Some("proof.inclusion"),
        package_inputs(pkg3.clone(), log.inclusion(3, 4).encode(), cp5.clone()),
    );
    let mut relabeled = log.inclusion(3, 4);
    relabeled.size = 5;
    b.add(
        "proof-relabeled-tree-size",
        "The path of seq 3 in the tree of 4, relabeled as a proof for the tree of 5.",
        "package",
        Outcome::BadProof,
        Some("proof.inclusion"),
        package_inputs(pkg3.clone(), relabeled.encode(), cp5.clone()),
    );
    b.add(
        "proof-wrong-leaf",
        "The valid proof of seq 2 presented with the package at seq 3.",
        "package",
        Outcome::BadProof,
        Some("proof.inclusion"),
        package_inputs(pkg3.clone(), log.inclusion(2, 5).encode(), cp5.clone()),
    );
    let mut extended = log.inclusion(3, 5);
    extended.path.push(Hash([0x11; 32]));
    b.add(
        "proof-extra-hash",
        "The inclusion path with one hash too many.",
        "package",
        Outcome::BadProof,
        Some("proof.inclusion"),
        package_inputs(pkg3.clone(), extended.encode(), cp5.clone()),
    );
}

/// Checkpoint faults: signer, signed size, origin and note syntax.
fn checkpoint_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        log,
        cp5,
        proof3,
        pkg3,
    } = fx;
    let key = &log.key;
    b.add(
        "checkpoint-other-key",
        "The checkpoint is signed by another key with the same name.",
        "package",
        Outcome::BadSignature,
        Some("checkpoint.signature"),
        package_inputs(
            pkg3.clone(),
            proof3.clone(),
            log.checkpoint(5, &other_key()),
        ),
    );
    let forged_size = cp5.replacen("\n5\n", "\n6\n", 1);
    b.add(
        "checkpoint-altered-size",
        "The checkpoint's tree size changed from 5 to 6 after signing.",
        "package",
        Outcome::BadSignature,
        Some("checkpoint.signature"),
        package_inputs(pkg3.clone(), proof3.clone(), forged_size),
    );
    let other_origin = Checkpoint {
        origin: checkpoint::origin(key.name(), TENANT, "payroll"),
        size: 5,
        root: merkle::root(&log.tree, 5).unwrap_or_default(),
    }
    .sign(key);
    b.add(
        "checkpoint-wrong-origin",
        "A validly signed checkpoint of another archive (acme/payroll) with the same root.",
        "package",
        Outcome::BadOrigin,
        Some("checkpoint.origin"),
        package_inputs(pkg3.clone(), proof3.clone(), other_origin),
    );
    b.add(
        "checkpoint-no-blank-line",
        "The checkpoint note lost the blank line between text and signature.",
        "package",
        Outcome::DecodeError,
        Some("checkpoint.decode"),
        package_inputs(pkg3.clone(), proof3.clone(), cp5.replacen("\n\n", "\n", 1)),
    );
}

/// Sealing faults: the zstd frame cut, doubled or over the limit.
fn sealing_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        cp5, proof3, pkg3, ..
    } = fx;
    b.add(
        "zstd-truncated",
        "The sealed package lost its last 4 bytes (the zstd frame is cut short).",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(
            pkg3.get(..pkg3.len().saturating_sub(4))
                .unwrap_or_default()
                .to_vec(),
            proof3.clone(),
            cp5.clone(),
        ),
    );
    let mut trailing = pkg3.clone();
    trailing.extend_from_slice(pkg3);
    b.add(
        "zstd-two-frames",
        "Two copies of the sealed package back to back: only one zstd frame is allowed.",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(trailing, proof3.clone(), cp5.clone()),
    );
    let bomb = zstd::bulk::compress(&vec![0u8; crate::limits::PACKAGE_RAW_BYTES_MAX + 1], 19)
        .unwrap_or_default();
    b.add(
        "zstd-over-limit",
        "A zstd frame that decompresses to one byte more than the package limit (80 MiB of zeros).",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(bomb, proof3.clone(), cp5.clone()),
    );
}

/// CBOR profile faults in the package envelope and the header map, each inside an otherwise
/// valid zstd frame: trailing bytes, indefinite length, a duplicate key.
fn cbor_framing_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        log, cp5, proof3, ..
    } = fx;
    let raw = sealed::encode_package(log.header(3), &[Some(log.object(3))]);
    let mut with_trailing = raw.clone();
    with_trailing.push(0x00);
    let zc = |raw: &[u8]| zstd::bulk::compress(raw, SEAL_ZSTD_LEVEL).unwrap_or_default();
    b.add(
        "cbor-trailing-bytes",
        "The package CBOR is followed by one extra byte inside the zstd frame.",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(zc(&with_trailing), proof3.clone(), cp5.clone()),
    );
    // [1, h'..', [h'..']] with the objects array made indefinite: 0x81 -> 0x9f ... 0xff.
    let definite_tail = {
        let mut t = vec![0x81];
        t.extend_from_slice(&crate::cbor::encode_with(|e| {
            e.bytes(log.object(3))?;
            Ok(())
        }));
        t
    };
    let mut indefinite = raw
        .get(..raw.len() - definite_tail.len())
        .unwrap_or_default()
        .to_vec();
    indefinite.push(0x9f);
    indefinite.extend_from_slice(definite_tail.get(1..).unwrap_or_default());
    indefinite.push(0xff);
    b.add(
        "cbor-indefinite-length",
        "The package's object array is encoded with indefinite length (0x9f ... 0xff).",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(zc(&indefinite), proof3.clone(), cp5.clone()),
    );
    // Header with key 12 replaced by a second key 11.
    let dup = replace(log.header(3), &[0x0c, 0x1b], &[0x0b, 0x1b]);
    b.add(
        "cbor-duplicate-key",
        "The header map repeats key 11 where key 12 (retain until) belongs.",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(
            seal(&dup, &[Some(log.object(3))]),
            proof3.clone(),
            cp5.clone(),
        ),
    );
}

/// CBOR profile faults in the header's values and keys: depth, non-minimal integer, float,
/// key order.
fn cbor_value_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        log, cp5, proof3, ..
    } = fx;
    // Metadata value "paid": false replaced by nine nested arrays around false... same length
    // is impossible, so the map is rebuilt by hand.
    let deep_meta = {
        let mut v = vec![0x81u8; crate::limits::CBOR_DEPTH_MAX + 1];
        v.push(0xf4);
        v
    };
    let deep = replace(
        log.header(3),
        &[0x64, b'p', b'a', b'i', b'd', 0xf4],
        &[&[0x64, b'p', b'a', b'i', b'd'][..], &deep_meta].concat(),
    );
    b.add(
        "cbor-excessive-depth",
        "A metadata value nested in nine arrays, beyond the depth limit of 8.",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(
            seal(&deep, &[Some(log.object(3))]),
            proof3.clone(),
            cp5.clone(),
        ),
    );
    let nonminimal = replace(log.header(3), &[0x04, 0x03], &[0x04, 0x18, 0x03]);
    b.add(
        "cbor-non-minimal-integer",
        "The header's seq 3 encoded in two bytes (0x18 0x03) instead of one.",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(
            seal(&nonminimal, &[Some(log.object(3))]),
            proof3.clone(),
            cp5.clone(),
        ),
    );
    let float = replace(
        log.header(3),
        &[0x64, b'p', b'a', b'i', b'd', 0xf4],
        &[0x64, b'p', b'a', b'i', b'd', 0xf9, 0x00, 0x00],
    );
    b.add(
        "cbor-float",
        "A metadata value encoded as a half-precision float.",
        "package",
        Outcome::DecodeError,
        Some("package.decode"),
        package_inputs(
            seal(&float, &[Some(log.object(3))]),
            proof3.clone(),
            cp5.clone(),
        ),
    );
    let unsorted = replace(
        log.header(3),
        &[0x65, b'l', b'i', b'n', b'e', b's'],
        &[0x64, b'a', b'a', b'a', b'a'],
    );
    b.add("cbor-unsorted-keys", "Metadata key 'lines' renamed 'aaaa': it now follows 'paid', out of deterministic order (length first, then bytes).",
        "package", Outcome::DecodeError, Some("package.decode"), package_inputs(seal(&unsorted, &[Some(log.object(3))]), proof3.clone(), cp5.clone()));
}

/// Strict Ed25519 (formats/algorithms.md §3): signatures a lax verifier would accept.
fn signature_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        cp5, proof3, pkg3, ..
    } = fx;
    // A note signed with one signature line by the trusted key's name and key id, whose 64
    // signature bytes are given.
    let resigned = |key_id: [u8; 4], signature: &[u8]| {
        let body = cp5.split_once("\n\n").map_or("", |(body, _)| body);
        let mut raw = key_id.to_vec();
        raw.extend_from_slice(signature);
        format!("{body}\n\n\u{2014} zegel.test {}\n", B64.encode(raw))
    };
    // The identity point (y = 1) as a public key, and the signature R = identity, S = 0: the
    // equation [S]B = R + [k]A holds for every message, which a lax verifier accepts.
    let identity = {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    };
    let identity_id = crate::note::key_id("zegel.test", &identity);
    let identity_text = {
        let mut raw = vec![crate::note::NOTE_ALG_ED25519];
        raw.extend_from_slice(&identity);
        format!(
            "zegel.test+{}+{}",
            hex::encode(identity_id),
            B64.encode(raw)
        )
    };
    let mut identity_sig = [0u8; 64];
    identity_sig[0] = 1;
    let mut inputs = package_inputs(
        pkg3.clone(),
        proof3.clone(),
        resigned(identity_id, &identity_sig),
    );
    inputs.push(("public_key", text(identity_text)));
    b.add(
        "signature-identity-key",
        "The trusted key is the identity point (a valid key text, signed-note.md §3.3) and the checkpoint's signature is R = identity, S = 0, which satisfies the verification equation for any message: strict verification refuses a public key or R of small order.",
        "package",
        Outcome::BadSignature,
        Some("checkpoint.signature"),
        inputs,
    );
    // The checkpoint's valid signature with L added to S: the same point equation holds, but
    // S is not below the group order.
    let s_plus_l = {
        let line = cp5
            .rsplit_once("\u{2014} zegel.test ")
            .map_or("", |(_, l)| l.trim_end());
        let mut raw = B64.decode(line).unwrap_or_default();
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (byte, l) in raw.iter_mut().skip(36).zip(L) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        let key_id: [u8; 4] = raw
            .get(..4)
            .and_then(|k| k.try_into().ok())
            .unwrap_or_default();
        resigned(key_id, raw.get(4..).unwrap_or_default())
    };
    b.add(
        "signature-s-not-reduced",
        "The checkpoint of package-ok with the group order L added to its signature's S: [S]B is unchanged, but S is not below L, so strict verification refuses it.",
        "package",
        Outcome::BadSignature,
        Some("checkpoint.signature"),
        package_inputs(pkg3.clone(), proof3.clone(), s_plus_l),
    );
}

/// Receipt faults: signature, key name, package and signer.
fn receipt_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        log,
        cp5,
        proof3,
        pkg3,
    } = fx;
    let key = &log.key;
    let receipt = log.receipt(3, 4, key);
    let mut inputs = package_inputs(pkg3.clone(), proof3.clone(), cp5.clone());
    let mut tampered = crate::receipt::Receipt::decode(&receipt).ok();
    if let Some(b) = tampered
        .as_mut()
        .and_then(|r| r.signed.signature.get_mut(10))
    {
        *b ^= 0x04;
    }
    inputs.push((
        "receipt",
        b64(&tampered.map(|r| r.encode()).unwrap_or_default()),
    ));
    b.add(
        "receipt-bad-signature",
        "The receipt's signature has one bit flipped.",
        "package",
        Outcome::BadSignature,
        Some("receipt.signature"),
        inputs,
    );
    // Key names in a receipt: 1 to 256 bytes at decoding; any other name rule only by the
    // comparison with the trusted key's name.
    let renamed = |name: &str| {
        let mut r = crate::receipt::Receipt::decode(&receipt).ok();
        if let Some(r) = r.as_mut() {
            r.signed.key_name = name.to_string();
        }
        b64(&r.map(|r| r.encode()).unwrap_or_default())
    };
    let mut inputs = package_inputs(pkg3.clone(), proof3.clone(), cp5.clone());
    inputs.push(("receipt", renamed("")));
    b.add(
        "receipt-empty-key-name",
        "The receipt of package-receipt-ok with its key name (key 2) empty: a receipt's key name is 1 to 256 bytes, so it does not decode.",
        "package",
        Outcome::DecodeError,
        Some("receipt.decode"),
        inputs,
    );
    let mut inputs = package_inputs(pkg3.clone(), proof3.clone(), cp5.clone());
    inputs.push(("receipt", renamed("zegel test")));
    b.add(
        "receipt-key-name-not-a-name",
        "The receipt of package-receipt-ok with its key name \"zegel test\" (a space: not a key name by signed-note.md §3.1): it decodes, and is refused as not by the trusted key.",
        "package",
        Outcome::BadSignature,
        Some("receipt.signature"),
        inputs,
    );
    let mut inputs = package_inputs(pkg3.clone(), proof3.clone(), cp5.clone());
    inputs.push(("receipt", b64(&log.receipt(2, 4, key))));
    b.add(
        "receipt-other-package",
        "A valid receipt for seq 2 presented with the package at seq 3.",
        "package",
        Outcome::BadReceipt,
        Some("receipt.package"),
        inputs,
    );
    let mut inputs = package_inputs(pkg3.clone(), proof3.clone(), cp5.clone());
    inputs.push(("receipt", b64(&log.receipt(3, 4, &other_key()))));
    b.add(
        "receipt-other-key",
        "A receipt signed by another key with the same name.",
        "package",
        Outcome::BadSignature,
        Some("receipt.signature"),
        inputs,
    );
}

/// Chains of packages: whole, a broken link, a gap.
fn chain_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture { log, .. } = fx;
    let all: Vec<serde_json::Value> = (0..5).map(|i| b64(log.sealed(i))).collect();
    b.add(
        "chain-ok",
        "All five packages in order: each names the leaf hash of the one before.",
        "chain",
        Outcome::Ok,
        None,
        vec![("packages", all.clone().into())],
    );
    let broken = {
        let mut h = log.headers.get(2).cloned().unwrap_or_else(|| {
            log.headers
                .first()
                .cloned()
                .unwrap_or_else(|| std::process::abort())
        });
        h.prev = Some(Hash([0x42; 32]));
        seal(&h.encode(), &[Some(log.object(2))])
    };
    let mut chain = all.clone();
    if let Some(slot) = chain.get_mut(2) {
        *slot = b64(&broken);
    }
    b.add(
        "chain-broken-link",
        "Seq 2 resealed with a prev hash that is not the leaf hash of seq 1.",
        "chain",
        Outcome::BadLink,
        Some("chain.2"),
        vec![("packages", chain.clone().into())],
    );
    // Checks run package by package (decode, then link), so a broken link is reported before
    // a later package that does not open.
    let mut link_first = chain;
    if let Some(slot) = link_first.get_mut(3) {
        let sealed = log.sealed(3);
        *slot = b64(sealed
            .get(..sealed.len().saturating_sub(1))
            .unwrap_or_default());
    }
    b.add(
        "chain-link-before-later-decode",
        "The chain of chain-broken-link whose seq 3 has also lost its last byte (a truncated frame, which does not open): the broken link at seq 2 is found first, because each package is decoded and linked before the next is decoded.",
        "chain",
        Outcome::BadLink,
        Some("chain.2"),
        vec![("packages", link_first.into())],
    );
    let mut gap = all.clone();
    gap.remove(2);
    b.add(
        "chain-gap",
        "Seq 2 left out: seq 3 follows seq 1.",
        "chain",
        Outcome::BadLink,
        Some("chain.3"),
        vec![("packages", gap.into())],
    );
}

/// Consistency proofs between two checkpoints.
fn consistency_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture { log, cp5, .. } = fx;
    let key = &log.key;
    let c3 = log.checkpoint(3, key);
    let cons = ConsistencyProof {
        old: 3,
        new: 5,
        path: merkle::consistency_proof(&log.tree, 3, 5).unwrap_or_default(),
    };
    let cons_inputs = |proof: &ConsistencyProof, old: &str| {
        vec![
            ("old_checkpoint", text(old.to_string())),
            ("new_checkpoint", text(cp5.clone())),
            ("proof", b64(&proof.encode())),
        ]
    };
    b.add(
        "consistency-ok",
        "The checkpoint of 3 is a prefix of the checkpoint of 5.",
        "consistency",
        Outcome::Ok,
        None,
        cons_inputs(&cons, &c3),
    );
    let mut bad = cons.clone();
    if let Some(h) = bad.path.first_mut() {
        h.0[31] ^= 0x01;
    }
    b.add(
        "consistency-wrong-hash",
        "The first hash of the consistency proof has one bit flipped.",
        "consistency",
        Outcome::BadProof,
        Some("proof.consistency"),
        cons_inputs(&bad, &c3),
    );
    let c2 = ConsistencyProof {
        old: 2,
        new: 5,
        path: merkle::consistency_proof(&log.tree, 2, 5).unwrap_or_default(),
    };
    b.add(
        "consistency-wrong-size",
        "A valid proof from 2 to 5 presented with the checkpoint of 3.",
        "consistency",
        Outcome::BadProof,
        Some("proof.consistency"),
        cons_inputs(&c2, &c3),
    );
}

/// One vector per MUST-refuse rule of the frame, the header's character rules and the note
/// syntax that the vectors above do not already show: each changes one thing of package-ok.
fn refusal_vectors(b: &mut Builder, fx: &Fixture<'_>) {
    zstd_frame_refusals(b, fx);
    header_character_refusals(b, fx);
    version_refusals(b, fx);
    note_refusals(b, fx);
}

/// A `package` vector that does not decode, first failing at `failed`.
fn refused(
    b: &mut Builder,
    scenario: &str,
    description: &str,
    failed: &str,
    inputs: Vec<(&str, serde_json::Value)>,
) {
    b.add(
        scenario,
        description,
        "package",
        Outcome::DecodeError,
        Some(failed),
        inputs,
    );
}

/// The zstd frame (formats/sealed-package.md §3): a checksum is allowed and must be
/// correct; no skippable frame, no dictionary.
fn zstd_frame_refusals(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture { log, cp5, pkg3, .. } = fx;
    // The zstd frame (formats/sealed-package.md §3). pkg3's frame header descriptor (byte 4)
    // is 0x60: a two-byte content size, single segment, no checksum, no dictionary id.
    let raw_package = sealed::encode_package(log.header(3), &[Some(log.object(3))]);
    let mut checksummed = zstd::bulk::Compressor::new(SEAL_ZSTD_LEVEL)
        .and_then(|mut c| {
            c.include_checksum(true)?;
            c.compress(&raw_package)
        })
        .unwrap_or_default();
    b.add(
        "zstd-checksum-ok",
        "Seq 3 sealed with a content checksum in its zstd frame (allowed, and correct).",
        "package",
        Outcome::Ok,
        None,
        fx.inputs(checksummed.clone(), cp5.clone()),
    );
    if let Some(last) = checksummed.last_mut() {
        *last ^= 0x01;
    }
    refused(
        b,
        "zstd-bad-checksum",
        "The frame of zstd-checksum-ok with one bit of its content checksum flipped: a checksum, when present, must be correct.",
        "package.decode",
        fx.inputs(checksummed, cp5.clone()),
    );
    let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0];
    skippable.extend_from_slice(pkg3);
    refused(
        b,
        "zstd-skippable-frame",
        "An empty skippable frame (magic 0x184d2a50, size 0) before the sealed package's frame: exactly one frame, nothing else.",
        "package.decode",
        fx.inputs(skippable, cp5.clone()),
    );
    let mut dictionary = pkg3.get(..4).unwrap_or_default().to_vec();
    dictionary.push(pkg3.get(4).copied().unwrap_or_default() | 0x01);
    dictionary.push(0x07);
    dictionary.extend_from_slice(pkg3.get(5..).unwrap_or_default());
    refused(
        b,
        "zstd-dictionary",
        "The sealed package's frame header names dictionary 7 (a one-byte dictionary id inserted): a frame must decode without a dictionary.",
        "package.decode",
        fx.inputs(dictionary, cp5.clone()),
    );
}

/// The header's character rules (formats/package-header.md §3), each in a resealed header.
fn header_character_refusals(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture { log, cp5, .. } = fx;
    // The header's character rules (formats/package-header.md §3), each in a resealed header.
    let resealed = |edit: &dyn Fn(&mut PackageHeader)| {
        let mut h = log
            .headers
            .get(3)
            .cloned()
            .unwrap_or_else(|| std::process::abort());
        edit(&mut h);
        fx.inputs(seal(&h.encode(), &[Some(log.object(3))]), cp5.clone())
    };
    let object = |edit: &dyn Fn(&mut ObjectRef)| {
        resealed(&|h| {
            if let Some(o) = h.objects.first_mut() {
                edit(o);
            }
        })
    };
    refused(
        b,
        "header-object-name-slash",
        "The object's name is \"rows/record.json\": an object name contains no / (nor \\), so unpacking never leaves its directory.",
        "package.decode",
        object(&|o| o.name = "rows/record.json".into()),
    );
    refused(
        b,
        "header-media-type-upper-case",
        "The object's media type is \"Application/JSON\": type and subtype are lower case.",
        "package.decode",
        object(&|o| o.media_type = "Application/JSON".into()),
    );
    refused(
        b,
        "header-media-type-space",
        "The object's media type is \"application/json; charset=utf-8\": no white space anywhere.",
        "package.decode",
        object(&|o| o.media_type = "application/json; charset=utf-8".into()),
    );
    refused(
        b,
        "header-media-type-empty-parameter",
        "The object's media type is \"application/json;\": an empty parameter.",
        "package.decode",
        object(&|o| o.media_type = "application/json;".into()),
    );
    refused(
        b,
        "header-record-key-control",
        "The record key holds a BEL (U+0007): no control characters.",
        "package.decode",
        resealed(&|h| h.record_key = Some("INV-2025-\u{7}0003".into())),
    );
    refused(
        b,
        "header-metadata-name-space",
        "A metadata field named \"paid on\": a metadata name is A-Z a-z 0-9 _ - . only.",
        "package.decode",
        resealed(&|h| {
            if let Some(v) = h.metadata.remove("paid") {
                h.metadata.insert("paid on".into(), v);
            }
        }),
    );
}

/// Unknown versions and algorithm identifiers (formats/cbor.md §4, formats/algorithms.md
/// §4) in a header, proof and receipt, and a package with an object more than its header.
fn version_refusals(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture {
        log,
        cp5,
        proof3,
        pkg3,
    } = fx;
    let key = &log.key;
    // Versions and algorithm identifiers (formats/cbor.md §4, formats/algorithms.md §4): every
    // structure here is a map whose key 0 (version) is 1 (`a? 00 01`), and a header's key 1
    // (hash-alg) is 1.
    let header3 = log.header(3);
    refused(
        b,
        "header-version-2",
        "Seq 3 resealed with header version 2: an unknown version.",
        "package.decode",
        fx.inputs(
            seal(
                &replace(header3, &[0x00, 0x01, 0x01], &[0x00, 0x02, 0x01]),
                &[Some(log.object(3))],
            ),
            cp5.clone(),
        ),
    );
    refused(
        b,
        "header-hash-alg-2",
        "Seq 3 resealed with hash-alg 2 in its header: an unknown algorithm identifier, never a fallback.",
        "package.decode",
        fx.inputs(
            seal(
                &replace(
                    header3,
                    &[0x00, 0x01, 0x01, 0x01],
                    &[0x00, 0x01, 0x01, 0x02],
                ),
                &[Some(log.object(3))],
            ),
            cp5.clone(),
        ),
    );
    refused(
        b,
        "sealed-object-count",
        "Seq 3 sealed with its object twice: the package holds one object more than its header lists.",
        "package.decode",
        fx.inputs(
            seal(header3, &[Some(log.object(3)), Some(log.object(3))]),
            cp5.clone(),
        ),
    );
    b.add(
        "proof-version-2",
        "The inclusion proof of package-ok with version 2: an unknown version.",
        "package",
        Outcome::DecodeError,
        Some("proof.decode"),
        vec![
            ("package", b64(pkg3)),
            (
                "proof",
                b64(&replace(proof3, &[0xa6, 0x00, 0x01], &[0xa6, 0x00, 0x02])),
            ),
            ("checkpoint", text(cp5.clone())),
        ],
    );
    let receipt = log.receipt(3, 4, key);
    let mut inputs = fx.inputs(pkg3.clone(), cp5.clone());
    inputs.push((
        "receipt",
        b64(&replace(&receipt, &[0xa9, 0x00, 0x01], &[0xa9, 0x00, 0x02])),
    ));
    refused(
        b,
        "receipt-version-2",
        "The receipt of package-receipt-ok with version 2: an unknown version.",
        "receipt.decode",
        inputs,
    );
    let mut inputs = fx.inputs(pkg3.clone(), cp5.clone());
    inputs.push((
        "receipt",
        b64(&replace(
            &receipt,
            &[0x00, 0x01, 0x01, 0x01],
            &[0x00, 0x01, 0x01, 0x02],
        )),
    ));
    refused(
        b,
        "receipt-sig-alg-2",
        "The receipt of package-receipt-ok with sig-alg 2: an unknown algorithm identifier.",
        "receipt.decode",
        inputs,
    );
}

/// Checkpoint bodies (formats/checkpoint.md §2) and note syntax (formats/signed-note.md §2)
/// that a note must keep.
fn note_refusals(b: &mut Builder, fx: &Fixture<'_>) {
    let Fixture { log, cp5, pkg3, .. } = fx;
    let key = &log.key;
    // Checkpoint bodies (formats/checkpoint.md §2), validly signed, so only the body's rules
    // refuse them.
    let body5 = cp5.split_once("\n\u{2014}").map_or("", |(body, _)| body);
    let resigned_body = |body: String| crate::note::sign_note(&body, key);
    refused(
        b,
        "checkpoint-size-leading-zero",
        "The checkpoint of 5 with its size written 05, signed: a size has no leading zero.",
        "checkpoint.decode",
        fx.inputs(
            pkg3.clone(),
            resigned_body(body5.replacen("\n5\n", "\n05\n", 1)),
        ),
    );
    let root_padding_bits = body5
        .rsplit_once("\n")
        .and_then(|(_, _)| {
            let lines: Vec<&str> = body5.lines().collect();
            let root = lines.get(2)?;
            let stem = root.strip_suffix('=')?;
            let last = stem.chars().last()?;
            let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let other = alphabet.chars().nth(alphabet.find(last)? ^ 1)?;
            Some(body5.replacen(root, &format!("{}{other}=", stem.get(..stem.len() - 1)?), 1))
        })
        .unwrap_or_default();
    refused(
        b,
        "checkpoint-root-not-canonical",
        "The checkpoint of 5 with a non-zero unused bit in the base64 of its root, signed: the root is canonical base64.",
        "checkpoint.decode",
        fx.inputs(pkg3.clone(), resigned_body(root_padding_bits)),
    );

    // Note syntax (formats/signed-note.md §2).
    refused(
        b,
        "note-carriage-return",
        "The checkpoint note's first line ends in CR LF: a note holds no control character but LF.",
        "checkpoint.decode",
        fx.inputs(pkg3.clone(), cp5.replacen('\n', "\r\n", 1)),
    );
    refused(
        b,
        "note-no-em-dash",
        "The checkpoint's signature line starts with \"- \" instead of an em dash and a space.",
        "checkpoint.decode",
        fx.inputs(pkg3.clone(), cp5.replacen("\u{2014} ", "- ", 1)),
    );
    // 68 signature bytes end in base64 with one '=' and two unused bits before it.
    let padded = cp5
        .trim_end()
        .strip_suffix('=')
        .and_then(|s| {
            let last = s.chars().last()?;
            let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let v = alphabet.find(last)?;
            let other = alphabet.chars().nth(v ^ 1)?;
            Some(format!("{}{other}=\n", s.get(..s.len() - 1)?))
        })
        .unwrap_or_default();
    refused(
        b,
        "note-base64-padding-bits",
        "The checkpoint's signature in base64 with a non-zero unused bit before its '=' (it decodes to the same bytes in a lax decoder): only canonical base64.",
        "checkpoint.decode",
        fx.inputs(pkg3.clone(), padded),
    );
}

/// The decoding rules of a bundle (formats/bundle.md §3.1), one vector each.
fn bundle_refusal_vectors(b: &mut Builder) {
    let log = SampleLog::build();
    let ok = bundle_of(&log, 3, 4, &[5], &[]);
    let whole = ok.encode();
    let refused = |b: &mut Builder, scenario: &str, description: &str, bytes: &[u8]| {
        b.add(
            scenario,
            description,
            "bundle",
            Outcome::DecodeError,
            Some("bundle.decode"),
            vec![("bundle", b64(bytes))],
        );
    };
    let edited = |edit: &dyn Fn(&mut Bundle)| {
        let mut x = ok.clone();
        edit(&mut x);
        x.with_report().encode()
    };
    refused(
        b,
        "bundle-version-2",
        "The bundle of bundle-ok with version 2 (map key 0): an unknown version.",
        &replace(&whole, &[0xad, 0x00, 0x01], &[0xad, 0x00, 0x02]),
    );
    let mut trailing = whole.clone();
    trailing.push(0x00);
    refused(
        b,
        "bundle-trailing-byte",
        "The bundle of bundle-ok followed by one byte 00: exactly one CBOR item.",
        &trailing,
    );
    refused(
        b,
        "bundle-consistency-count",
        "The bundle of bundle-ok without its consistency proof: one per checkpoint.",
        &edited(&|x| x.consistency.clear()),
    );
    refused(
        b,
        "bundle-key-validity-empty",
        "The bundle of bundle-ok whose trusted key is valid from and until the same millisecond: valid from must be smaller than valid until.",
        &edited(&|x| {
            if let Some(k) = x.keys.last_mut() {
                k.valid_from_ms = Some(T0_MS);
                k.valid_until_ms = Some(T0_MS);
            }
        }),
    );
    refused(
        b,
        "bundle-key-listed-twice",
        "The bundle of bundle-ok listing the trusted key twice: no two entries have the same name and key id.",
        &edited(&|x| {
            if let Some(k) = x.keys.last().cloned() {
                x.keys.push(k);
            }
        }),
    );
    // A key entry is {0: name, 1: key id, ...}: a5 00 6a "zegel.test" 01 44 ...
    let mut entry = vec![0xa5, 0x00, 0x6a];
    entry.extend_from_slice(b"zegel.test");
    entry.extend_from_slice(&[0x01, 0x44]);
    let mut renamed = entry.clone();
    if let Some(c) = renamed.get_mut(12) {
        *c = b'u';
    }
    refused(
        b,
        "bundle-key-name-not-its-text",
        "The bundle of bundle-ok whose first key entry is named \"zegel.tesu\" while its key text names zegel.test: entries 0 and 1 are those of the text.",
        &replace(&whole, &entry, &renamed),
    );
    let key_text = ok.keys.first().map(|k| k.key.to_text()).unwrap_or_default();
    let mut stored = vec![0x78, u8::try_from(key_text.len()).unwrap_or(0)];
    stored.extend_from_slice(key_text.as_bytes());
    let mut spaced = vec![0x78, u8::try_from(key_text.len() + 1).unwrap_or(0)];
    spaced.extend_from_slice(key_text.as_bytes());
    spaced.push(b' ');
    refused(
        b,
        "bundle-key-text-not-canonical",
        "The bundle of bundle-ok whose first key text ends in a space: it reads as the same key, but a key text in a bundle is canonical.",
        &replace(&whole, &stored, &spaced),
    );
}

/// The `bundle` vectors alone, as [`generate`] makes them, without the slow rest.
pub fn generate_bundles() -> Vec<Vector> {
    let mut b = Builder {
        out: Vec::new(),
        key_text: test_key().verifier().to_text(),
    };
    bundle_vectors(&mut b);
    b.out
}

/// The sample log with a disposition package appended at seq 5 (formats/disposition.md §3).
fn log_with_disposition(record: &Disposition) -> SampleLog {
    let mut log = SampleLog::build();
    log.append(
        Kind::Disposition,
        None,
        BTreeMap::new(),
        (
            DISPOSITION_OBJECT_NAME,
            DISPOSITION_MEDIA_TYPE,
            record.encode(),
        ),
    );
    log
}

/// The certificate of the package at `seq` of `log`, under the checkpoint of the whole log,
/// with the inclusion proofs of `disposed` seqs.
fn certificate_of(log: &SampleLog, seq: u64, disposed: &[u64]) -> Certificate {
    let size = log.tree.size();
    Certificate {
        package: log.sealed(seq as usize).to_vec(),
        proof: log.inclusion(seq, size).encode(),
        checkpoint: log.checkpoint(size, &log.key),
        receipt: log.receipt(seq, size, &log.key),
        disposed_proofs: disposed
            .iter()
            .map(|&s| log.inclusion(s, size).encode())
            .collect(),
    }
}

fn disposed(log: &SampleLog, seqs: &[u64]) -> Vec<DisposedPackage> {
    seqs.iter()
        .map(|&seq| DisposedPackage {
            seq,
            leaf: leaf_hash(log.header(seq as usize)),
        })
        .collect()
}

/// The disposition the certificate and disposed-bundle vectors share: entries 1 and 2 of the
/// sample log disposed of at the end of their retention, sealed at seq 5.
pub(super) fn retention_disposition(base: &SampleLog) -> Disposition {
    Disposition {
        cause: Cause::Retention,
        basis: "agreement v1: invoices are kept 10 years after issued_on".into(),
        authorized_by: vec!["key-ops-retention".into()],
        // A day after ten years of retention.
        decided_ms: T0_MS + 10 * 365 * DAY_MS + DAY_MS,
        packages: disposed(base, &[1, 2]),
    }
}

/// Certificates of destruction (formats/disposition.md §6): the sample log plus a
/// disposition at seq 5, proven under the checkpoint of 6.
fn certificate_vectors(b: &mut Builder) {
    let base = SampleLog::build();
    let retention = retention_disposition(&base);
    let input = |c: &Certificate| vec![("certificate", b64(&c.encode()))];
    let log = log_with_disposition(&retention);
    let ok = certificate_of(&log, 5, &[1, 2]);
    b.add(
        "certificate-ok",
        "A certificate of destruction: the rows at seq 1 and 2 disposed at the end of retention by one key; the disposition package at seq 5 with its proof and receipt under the checkpoint of 6, and one inclusion proof per disposed leaf under the same checkpoint.",
        "certificate",
        Outcome::Ok,
        None,
        input(&ok),
    );
    let mut tampered = ok.clone();
    let mut first = log.inclusion(1, 6);
    if let Some(h) = first.path.first_mut() {
        h.0[0] ^= 0x01;
    }
    if let Some(p) = tampered.disposed_proofs.first_mut() {
        *p = first.encode();
    }
    b.add(
        "certificate-tampered-disposed-proof",
        "The certificate of certificate-ok with one bit flipped in the first hash of the inclusion proof of disposed seq 1.",
        "certificate",
        Outcome::BadProof,
        Some("disposed.1"),
        input(&tampered),
    );
    let wrong_kind = Certificate {
        disposed_proofs: ok.disposed_proofs.clone(),
        ..certificate_of(&log, 3, &[])
    };
    b.add(
        "certificate-wrong-kind",
        "The log of certificate-ok, but the certificate carries the row at seq 3 (with its valid proof and receipt) in place of the disposition package.",
        "certificate",
        Outcome::BadDisposition,
        Some("certificate.kind"),
        input(&wrong_kind),
    );
    let erasure = Disposition {
        cause: Cause::Erasure,
        basis:
            "order of the district court, case 2026/1234: erase the invoice of customer 0400023757"
                .into(),
        authorized_by: vec!["key-legal-requester".into(), "key-dpo-approver".into()],
        decided_ms: T0_MS + 400 * 86_400_000,
        packages: disposed(&base, &[3]),
    };
    let log = log_with_disposition(&erasure);
    b.add(
        "certificate-erasure-ok",
        "An erasure of the row at seq 3 before the end of its retention, requested by one key and approved by another; the disposition package at seq 5 under the checkpoint of 6.",
        "certificate",
        Outcome::Ok,
        None,
        input(&certificate_of(&log, 5, &[3])),
    );
    let one = Disposition {
        authorized_by: vec!["key-legal-requester".into()],
        ..erasure.clone()
    };
    let log = log_with_disposition(&one);
    b.add(
        "certificate-erasure-one-approver",
        "The erasure of certificate-erasure-ok authorized by the requester alone, sealed and validly proven: an erasure needs two distinct keys, so the record does not decode.",
        "certificate",
        Outcome::DecodeError,
        Some("disposition.decode"),
        input(&certificate_of(&log, 5, &[3])),
    );
    let unsorted = Disposition {
        packages: disposed(&base, &[2, 1]),
        ..retention
    };
    let log = log_with_disposition(&unsorted);
    b.add(
        "disposition-unsorted-seqs",
        "The retention disposition of certificate-ok naming seq 2 before seq 1, sealed and validly proven: disposed packages must be in ascending seq, so the record does not decode.",
        "certificate",
        Outcome::DecodeError,
        Some("disposition.decode"),
        input(&certificate_of(&log, 5, &[2, 1])),
    );
}

/// A segment of these inflated blocks under this index (offsets and lengths recomputed), as
/// formats/cold-segment.md §3 lays it out.
fn rebuild_segment(index: &segment::SegmentIndex, blocks: &[Vec<u8>]) -> Vec<u8> {
    let frames: Vec<(Vec<u8>, u64)> = blocks
        .iter()
        .map(|raw| {
            let frame = zstd::bulk::compress(raw, SEAL_ZSTD_LEVEL).unwrap_or_default();
            (frame, raw.len() as u64)
        })
        .collect();
    segment_of_frames(index, &frames)
}

/// A segment of these compressed blocks, each with its raw length, under this index.
fn segment_of_frames(index: &segment::SegmentIndex, frames: &[(Vec<u8>, u64)]) -> Vec<u8> {
    segment_with(index, frames, &|cbor| {
        zstd::bulk::compress(cbor, SEAL_ZSTD_LEVEL).unwrap_or_default()
    })
}

/// As [`segment_of_frames`], with the index's frame made from its CBOR by `index_frame`.
fn segment_with(
    index: &segment::SegmentIndex,
    frames: &[(Vec<u8>, u64)],
    index_frame: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut index = index.clone();
    let mut out = segment::SEGMENT_MAGIC.to_vec();
    for (b, (frame, raw_length)) in index.blocks.iter_mut().zip(frames) {
        b.offset = out.len() as u64;
        b.length = frame.len() as u64;
        b.raw_length = *raw_length;
        out.extend_from_slice(frame);
    }
    let index_frame = index_frame(&index.encode());
    out.extend_from_slice(&index_frame);
    let digest = sha256(&out);
    out.extend_from_slice(&(index_frame.len() as u64).to_be_bytes());
    out.extend_from_slice(&digest.0);
    out.extend_from_slice(&segment::SEGMENT_MAGIC);
    out
}

/// Segments of the sample log (formats/cold-layout.md §10): the move of seqs [0, 4), whose
/// rows 1–3 share a retention month while the agreement at seq 0 is kept forever; the same
/// segment under its v1 key; and its rewrite that keeps rows 1 and 3.
fn segment_vectors(b: &mut Builder, log: &SampleLog) {
    let fx = SegmentFixture::new(log);
    segment_key_vectors(b, &fx);
    segment_content_vectors(b, &fx);
    segment_index_vectors(b, &fx);
    segment_frame_vectors(b, &fx);
    segment_package_vectors(b, &fx);
}

/// Compressed blocks, each with its raw length.
type Frames = Vec<(Vec<u8>, u64)>;

/// What the segment scenarios share: the sample log's move of seqs [0, 4), whose rows 1-3
/// are written in one segment under their retention month.
struct SegmentFixture<'a> {
    log: &'a SampleLog,
    first: u64,
    end: u64,
    seqs: [usize; 3],
    month: RetentionMonth,
    key: String,
    good: Vec<u8>,
    leaves: Vec<serde_json::Value>,
}

impl<'a> SegmentFixture<'a> {
    fn new(log: &'a SampleLog) -> SegmentFixture<'a> {
        let (first, end) = (0u64, 4u64);
        let month = RetentionMonth::of(log.headers.get(1).and_then(|h| h.retain_until_ms));
        let mut fx = SegmentFixture {
            log,
            first,
            end,
            seqs: [1, 2, 3],
            month,
            key: layout::segment_key(TENANT, ARCHIVE, month, first, end),
            good: Vec::new(),
            leaves: (0..end as usize)
                .map(|seq| b64(&leaf_hash(log.header(seq)).0))
                .collect(),
        };
        fx.good = fx.write(&fx.seqs, &|seq| log.object(seq).to_vec());
        fx
    }

    /// A segment of these seqs of the sample log, each with the object `objects` gives.
    fn write(&self, seqs: &[usize], objects: &dyn Fn(usize) -> Vec<u8>) -> Vec<u8> {
        let objects: Vec<Vec<u8>> = seqs.iter().copied().map(objects).collect();
        let packages: Vec<SegmentPackage<'_>> = seqs
            .iter()
            .zip(&objects)
            .map(|(&seq, object)| SegmentPackage {
                header_bytes: self.log.header(seq),
                objects: vec![object.as_slice()],
            })
            .collect();
        segment::encode_segment(TENANT, ARCHIVE, &packages, SEAL_ZSTD_LEVEL).unwrap_or_default()
    }

    /// The inputs of a `segment` vector whose packages are these seqs.
    fn inputs_of(
        &self,
        seqs: &[usize],
        key: &str,
        segment: &[u8],
    ) -> Vec<(&'static str, serde_json::Value)> {
        let headers: Vec<serde_json::Value> =
            seqs.iter().map(|&seq| b64(self.log.header(seq))).collect();
        vec![
            ("segment_key", text(key.to_string())),
            ("segment", b64(segment)),
            ("leaves", self.leaves.clone().into()),
            ("headers", headers.into()),
        ]
    }

    /// The inputs of a `segment` vector whose packages are rows 1-3.
    fn inputs(&self, key: &str, segment: &[u8]) -> Vec<(&'static str, serde_json::Value)> {
        self.inputs_of(&self.seqs, key, segment)
    }

    /// The good segment with its index and inflated blocks edited, the blocks' frames and
    /// the trailer rebuilt to match: trailer and tiling stay consistent, so only reading a
    /// package finds an index entry that misstates its header or a package that is not whole.
    fn edited(&self, edit: &dyn Fn(&mut segment::SegmentIndex, &mut Vec<Vec<u8>>)) -> Vec<u8> {
        let Ok(mut index) = segment::open_segment(&self.good) else {
            return Vec::new();
        };
        let mut blocks: Vec<Vec<u8>> = (0..index.blocks.len())
            .map(|n| segment::read_block(&self.good, &index, n).unwrap_or_default())
            .collect();
        edit(&mut index, &mut blocks);
        rebuild_segment(&index, &blocks)
    }

    /// The index and the blocks of the good segment, as frames with their raw lengths.
    fn parts(&self) -> Option<(segment::SegmentIndex, Frames)> {
        segment::open_segment(&self.good).ok().map(|index| {
            let frames: Vec<(Vec<u8>, u64)> = (0..index.blocks.len())
                .map(|n| {
                    let raw = segment::read_block(&self.good, &index, n).unwrap_or_default();
                    let frame = zstd::bulk::compress(&raw, SEAL_ZSTD_LEVEL).unwrap_or_default();
                    (frame, raw.len() as u64)
                })
                .collect();
            (index, frames)
        })
    }

    /// The good segment with its index's frame made from its CBOR by `edit`.
    fn index_edited(&self, edit: &dyn Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        self.parts()
            .map(|(index, frames)| segment_with(&index, &frames, edit))
            .unwrap_or_default()
    }
}

/// Segments under each kind of key: the move under v2 and v1, and its rewrite, whose
/// rewrite number only a v2 key may carry.
fn segment_key_vectors(b: &mut Builder, fx: &SegmentFixture<'_>) {
    let log = fx.log;
    let first = fx.first;
    let end = fx.end;
    let month = fx.month;
    let key = fx.key.as_str();
    let good = &fx.good;
    b.add(
        "segment-ok",
        &format!(
            "The sample log's move of seqs [0, 4): rows 1-3, retained until {month}, in one segment under that month (seq 0, kept forever, belongs in the never segment of the same move). Leaves are the trusted leaves of seq 0-3; headers are the exact bytes the packages restore to."
        ),
        "segment",
        Outcome::Ok,
        None,
        fx.inputs(key, good),
    );
    let v1_key = layout::SegmentKey {
        version: LayoutVersion::V1,
        tenant: TENANT.into(),
        archive: ARCHIVE.into(),
        month,
        first,
        end,
        rewrite: None,
    }
    .to_string();
    b.add(
        "segment-v1-ok",
        "The segment of segment-ok under its layout v1 key, as written before the upgrade to v2: a v2 reader still reads it by the v1 rules.",
        "segment",
        Outcome::Ok,
        None,
        fx.inputs(&v1_key, good),
    );
    // Row 2 disposed: the rewrite keeps rows 1 and 3 in a new segment of the same slot.
    let kept = [1usize, 3];
    let rewritten = fx.write(&kept, &|seq| log.object(seq).to_vec());
    let rewrite = 1;
    b.add(
        "segment-rewritten-ok",
        &format!(
            "The segment of segment-ok rewritten without row 2: rows 1 and 3, retained until {month}, in a new segment of the same month and move [0, 4) with rewrite number {rewrite}. Leaves are the trusted leaves of seq 0-3 (seq 3 restores with prev = the leaf of seq 2, which is no longer stored)."
        ),
        "segment",
        Outcome::Ok,
        None,
        fx.inputs_of(
            &kept,
            &layout::rewritten_segment_key(TENANT, ARCHIVE, month, first, end, rewrite),
            &rewritten,
        ),
    );
    let v1_rewritten_key = layout::SegmentKey {
        version: LayoutVersion::V1,
        tenant: TENANT.into(),
        archive: ARCHIVE.into(),
        month,
        first,
        end,
        rewrite: Some(rewrite),
    }
    .to_string();
    b.add(
        "segment-v1-rewrite",
        "The segment of segment-rewritten-ok under a v1 key with the same rewrite part: only v2 keys have a rewrite number, so the key is refused before the segment is read.",
        "segment",
        Outcome::DecodeError,
        Some("segment.key"),
        fx.inputs_of(&kept, &v1_rewritten_key, &rewritten),
    );
}

/// Segments whose bytes changed: after writing (the trailer hash) and before (an object).
fn segment_content_vectors(b: &mut Builder, fx: &SegmentFixture<'_>) {
    let log = fx.log;
    let seqs = fx.seqs;
    let key = fx.key.as_str();
    let good = &fx.good;
    // One byte in the middle of the first block: the trailer hash no longer matches.
    let first_block = segment::open_segment(good)
        .ok()
        .and_then(|index| index.blocks.first().copied());
    let mut flipped = good.clone();
    if let Some(byte) =
        first_block.and_then(|blk| flipped.get_mut((blk.offset + blk.length / 2) as usize))
    {
        *byte ^= 0x01;
    }
    b.add(
        "segment-flipped-byte",
        "One bit flipped in the middle of the segment's first block: the SHA-256 in the trailer no longer matches the bytes before it, so the segment is refused before any package is read.",
        "segment",
        Outcome::DecodeError,
        Some("segment.decode"),
        fx.inputs(key, &flipped),
    );
    let altered = fx.write(&seqs, &|seq| {
        if seq == 2 {
            flip_last(log.object(seq))
        } else {
            log.object(seq).to_vec()
        }
    });
    b.add(
        "segment-object-altered",
        "The row object of seq 2 had its last byte flipped before the segment was written (trailer and index are consistent): the restored header takes the altered object's SHA-256 and no longer hashes to the trusted leaf of seq 2.",
        "segment",
        Outcome::BadDigest,
        Some("segment.2"),
        fx.inputs(key, &altered),
    );
}

/// Segments whose index misstates a package or a block, or whose block is two frames.
fn segment_index_vectors(b: &mut Builder, fx: &SegmentFixture<'_>) {
    let key = fx.key.as_str();
    let good = &fx.good;
    b.add(
        "segment-index-record-key",
        "The segment of segment-ok whose index gives seq 1 the record key \"INV-0000\" while its header's record key (key 9) is another: an index entry states its header's record key.",
        "segment",
        Outcome::DecodeError,
        Some("segment.1"),
        fx.inputs(
            key,
            &fx.edited(&|index, _| {
                if let Some(p) = index.packages.first_mut() {
                    p.record_key = Some("INV-0000".into());
                }
            }),
        ),
    );
    b.add(
        "segment-index-seq",
        "The segment of segment-ok whose index calls the package of seq 1 seq 0 (still ascending, inside the move): an index entry states its header's seq.",
        "segment",
        Outcome::DecodeError,
        Some("segment.0"),
        fx.inputs(
            key,
            &fx.edited(&|index, _| {
                if let Some(p) = index.packages.first_mut() {
                    p.seq = 0;
                }
            }),
        ),
    );
    b.add(
        "segment-empty-block",
        "The segment of segment-ok with an empty block (one zstd frame of no bytes, raw length 0) after its last: a block's raw length is at least 1.",
        "segment",
        Outcome::DecodeError,
        Some("segment.decode"),
        fx.inputs(
            key,
            &fx.edited(&|index, blocks| {
                blocks.push(Vec::new());
                index.blocks.push(segment::BlockRef {
                    offset: 0,
                    length: 0,
                    raw_length: 0,
                });
            }),
        ),
    );
    // Block 0 as two zstd frames, one per half of its bytes: together they inflate to the
    // block, but a block is one frame.
    let two_frames = segment::open_segment(good)
        .ok()
        .map(|index| {
            let raw = segment::read_block(good, &index, 0).unwrap_or_default();
            let (a, z) = raw.split_at(raw.len() / 2);
            let mut frame = zstd::bulk::compress(a, SEAL_ZSTD_LEVEL).unwrap_or_default();
            frame.extend(zstd::bulk::compress(z, SEAL_ZSTD_LEVEL).unwrap_or_default());
            let mut frames = vec![(frame, raw.len() as u64)];
            for n in 1..index.blocks.len() {
                let raw = segment::read_block(good, &index, n).unwrap_or_default();
                let frame = zstd::bulk::compress(&raw, SEAL_ZSTD_LEVEL).unwrap_or_default();
                frames.push((frame, raw.len() as u64));
            }
            segment_of_frames(&index, &frames)
        })
        .unwrap_or_default();
    b.add(
        "segment-block-two-frames",
        "The segment of segment-ok whose first block is two zstd frames, one per half of its bytes (trailer and index consistent): a block is exactly one frame, checked when a package of it is read.",
        "segment",
        Outcome::DecodeError,
        Some("segment.1"),
        fx.inputs(key, &two_frames),
    );
}

/// Segments whose index or packages do not fit the frames: the index's version and frame,
/// packages that overlap, a block shorter than declared.
fn segment_frame_vectors(b: &mut Builder, fx: &SegmentFixture<'_>) {
    let key = fx.key.as_str();
    b.add(
        "segment-index-version-2",
        "The segment of segment-ok whose index has version 2 (trailer consistent): an unknown version.",
        "segment",
        Outcome::DecodeError,
        Some("segment.decode"),
        fx.inputs(
            key,
            &fx.index_edited(&|cbor| {
                let cbor = replace(cbor, &[0x85, 0x01], &[0x85, 0x02]);
                zstd::bulk::compress(&cbor, SEAL_ZSTD_LEVEL).unwrap_or_default()
            }),
        ),
    );
    b.add(
        "segment-index-two-frames",
        "The segment of segment-ok whose index is two zstd frames, one per half of its CBOR (trailer consistent): the index is exactly one frame.",
        "segment",
        Outcome::DecodeError,
        Some("segment.decode"),
        fx.inputs(
            key,
            &fx.index_edited(&|cbor| {
                let (a, z) = cbor.split_at(cbor.len() / 2);
                let mut frame = zstd::bulk::compress(a, SEAL_ZSTD_LEVEL).unwrap_or_default();
                frame.extend(zstd::bulk::compress(z, SEAL_ZSTD_LEVEL).unwrap_or_default());
                frame
            }),
        ),
    );
    b.add(
        "segment-packages-overlap",
        "The segment of segment-ok whose index starts the package of seq 2 one byte early, inside seq 1 (trailer consistent): the packages do not tile the blocks.",
        "segment",
        Outcome::DecodeError,
        Some("segment.decode"),
        fx.inputs(
            key,
            &fx.edited(&|index, _| {
                if let Some(p) = index.packages.iter_mut().find(|p| p.seq == 2) {
                    p.offset = p.offset.saturating_sub(1);
                    p.length += 1;
                }
            }),
        ),
    );
    // The last block declared one byte longer than it inflates to, its last package one byte
    // longer too: the index tiles, and only inflating the block finds the difference.
    let longer = fx
        .parts()
        .map(|(index, frames)| {
            let mut index = index.clone();
            let mut frames = frames.clone();
            let last_block = index.blocks.len().saturating_sub(1) as u64;
            if let Some(p) = index.packages.last_mut() {
                p.length += 1;
            }
            if let Some((_, raw_length)) = frames.get_mut(last_block as usize) {
                *raw_length += 1;
            }
            segment_of_frames(&index, &frames)
        })
        .unwrap_or_default();
    b.add(
        "segment-block-shorter-than-declared",
        "The segment of segment-ok whose last block is declared one byte longer than it inflates to (its last package too, so the index tiles): a block inflates to exactly its raw length.",
        "segment",
        Outcome::DecodeError,
        Some("segment.1"),
        fx.inputs(key, &longer),
    );
}

/// Segments with a package that is not whole (empty, or with a null object), and a valid
/// segment under the wrong month.
fn segment_package_vectors(b: &mut Builder, fx: &SegmentFixture<'_>) {
    let first = fx.first;
    let end = fx.end;
    let month = fx.month;
    let key = fx.key.as_str();
    let good = &fx.good;
    b.add(
        "segment-empty-package",
        "The segment of segment-ok whose index adds an entry for seq 4 of length 0 at the end of the last block (it still tiles): a package's length is at least 1.",
        "segment",
        Outcome::DecodeError,
        Some("segment.decode"),
        fx.inputs(
            key,
            &fx.edited(&|index, blocks| {
                let block = blocks.len().saturating_sub(1);
                let end = blocks.last().map_or(0, Vec::len) as u64;
                index.packages.push(segment::PackageRef {
                    seq: 4,
                    block: block as u64,
                    offset: end,
                    length: 0,
                    record_key: None,
                });
            }),
        ),
    );
    b.add(
        "segment-null-object",
        "The segment of segment-ok whose package of seq 2 has its object replaced by null (the index adjusted): a segment holds whole packages.",
        "segment",
        Outcome::DecodeError,
        Some("segment.2"),
        fx.inputs(
            key,
            &fx.edited(&|index, blocks| {
                let Some(at) = index.packages.iter().position(|p| p.seq == 2) else {
                    return;
                };
                let Some(entry) = index.packages.get(at).cloned() else {
                    return;
                };
                let Some(block) = blocks.get_mut(entry.block as usize) else {
                    return;
                };
                let (start, end) = (entry.offset as usize, (entry.offset + entry.length) as usize);
                let Some(Ok((header, _))) = block.get(start..end).map(sealed::decode_package_cbor)
                else {
                    return;
                };
                let cbor = sealed::encode_package(&header, &[None]);
                let shrink = entry.length - cbor.len() as u64;
                block.splice(start..end, cbor);
                for (i, p) in index.packages.iter_mut().enumerate().skip(at) {
                    if i == at {
                        p.length -= shrink;
                    } else if p.block == entry.block {
                        p.offset -= shrink;
                    }
                }
            }),
        ),
    );
    let next_month = match month {
        RetentionMonth::Month { year, month: 12 } => RetentionMonth::Month {
            year: year + 1,
            month: 1,
        },
        RetentionMonth::Month { year, month } => RetentionMonth::Month {
            year,
            month: month + 1,
        },
        RetentionMonth::Never => RetentionMonth::Never,
    };
    b.add(
        "segment-wrong-month",
        &format!(
            "The valid segment of segment-ok stored under the month {next_month}: its packages are retained until {month}, so it would expire with the wrong group."
        ),
        "segment",
        Outcome::DecodeError,
        Some("segment.1"),
        fx.inputs(
            &layout::segment_key(TENANT, ARCHIVE, next_month, first, end),
            good,
        ),
    );
}

/// Size of the tile vectors' tree, whose leaf i is LEAF(i as 8 bytes big-endian).
const TILE_TREE_SIZE: u64 = 300;
/// The tile vectors' archive: not `invoices`, whose checkpoints have other roots.
const TILE_ARCHIVE: &str = "ledger";

/// The tiles of a 300-leaf tree with its checkpoint (formats/cold-layout.md §10).
fn tile_vectors(b: &mut Builder, key: &SigningKey) {
    let mut tree = MemoryTree::new();
    for i in 0..TILE_TREE_SIZE {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let checkpoint = Checkpoint {
        origin: checkpoint::origin(key.name(), TENANT, TILE_ARCHIVE),
        size: TILE_TREE_SIZE,
        root: tree.root(),
    }
    .sign(key);
    // The tiles of 300 under `version`, and the one left from the checkpoint of 200:
    // immutable, never replaced, not read at 300.
    let tiles_at = |version: LayoutVersion| -> BTreeMap<String, Vec<u8>> {
        let mut tiles: BTreeMap<String, Vec<u8>> = layout::build_tiles(&tree, TILE_TREE_SIZE)
            .unwrap_or_default()
            .into_iter()
            .map(|((l, n, w), hashes)| {
                (
                    layout::tile_key_at(version, TENANT, TILE_ARCHIVE, l, n, w),
                    layout::encode_tile(&hashes),
                )
            })
            .collect();
        let older: Vec<u8> = layout::build_tiles(&tree, 200)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(_, hashes)| layout::encode_tile(&hashes))
            .collect();
        tiles.insert(
            layout::tile_key_at(version, TENANT, TILE_ARCHIVE, 0, 0, 200),
            older,
        );
        tiles
    };
    let tiles = tiles_at(LayoutVersion::CURRENT);
    let inputs_at = |version: LayoutVersion, tiles: &BTreeMap<String, Vec<u8>>| {
        let object: serde_json::Map<String, serde_json::Value> =
            tiles.iter().map(|(k, v)| (k.clone(), b64(v))).collect();
        vec![
            (
                "checkpoint_key",
                text(layout::checkpoint_key_at(
                    version,
                    TENANT,
                    TILE_ARCHIVE,
                    TILE_TREE_SIZE,
                )),
            ),
            ("checkpoint", text(checkpoint.clone())),
            ("tiles", object.into()),
        ]
    };
    let inputs = |tiles: &BTreeMap<String, Vec<u8>>| inputs_at(LayoutVersion::CURRENT, tiles);
    b.add(
        "tiles-ok",
        "The tiles of a 300-leaf tree (archive acme/ledger, leaf i = LEAF of i as 8 big-endian bytes) with its checkpoint: the full tile 0/000, the partial tiles 0/001.p/44 and 1/000.p/1, and the partial tile 0/000.p/200 left from an earlier checkpoint of 200, which is not read.",
        "tiles",
        Outcome::Ok,
        None,
        inputs(&tiles),
    );
    let v1_tiles = tiles_at(LayoutVersion::V1);
    b.add(
        "tiles-v1-ok",
        "The checkpoint copy and tiles of tiles-ok under layout v1 keys, as written before the upgrade to v2: a v2 reader still audits them, reading the tiles under v1/ like the checkpoint.",
        "tiles",
        Outcome::Ok,
        None,
        inputs_at(LayoutVersion::V1, &v1_tiles),
    );
    b.add(
        "tiles-wrong-version",
        "The checkpoint copy of tiles-ok under v2/ with the tiles of tiles-v1-ok under v1/ only: a v2 checkpoint reads its tiles under v2/, so all of them are missing.",
        "tiles",
        Outcome::DecodeError,
        Some("tiles.keys"),
        inputs_at(LayoutVersion::V2, &v1_tiles),
    );
    let full = layout::tile_key(TENANT, TILE_ARCHIVE, 0, 0, 256);
    let mut flipped = tiles.clone();
    if let Some(byte) = flipped.get_mut(&full).and_then(|t| t.get_mut(32 * 7)) {
        *byte ^= 0x80;
    }
    b.add(
        "tiles-flipped-byte",
        "One bit flipped in entry 7 of the full tile 0/000: the root, computed from the partial tiles only, still matches, but the full tile no longer hashes to entry 0 of tile 1/000.p/1.",
        "tiles",
        Outcome::BadProof,
        Some("tiles.parents"),
        inputs(&flipped),
    );
}

/// A day in milliseconds.
const DAY_MS: u64 = 86_400_000;

/// The archive keys of the bundle vectors: the test key, valid from 30 days before the sample
/// log began and still valid, and `other_key`, retired before then.
fn bundle_keys(valid_until_ms: Option<u64>) -> Vec<ArchiveKey> {
    vec![
        ArchiveKey {
            key: other_key().verifier(),
            valid_from_ms: Some(T0_MS - 400 * DAY_MS),
            valid_until_ms: Some(T0_MS - 30 * DAY_MS),
        },
        ArchiveKey {
            key: test_key().verifier(),
            valid_from_ms: Some(T0_MS - 30 * DAY_MS),
            valid_until_ms,
        },
    ]
}

/// The bundle of entry `seq` of `log`: its package as sealed, its receipt from the group
/// commit that brought the log to `receipt_size`, checkpoints of `sizes` (ascending, the last
/// the bundle's) with the consistency proofs that chain them to the receipt, the agreement its
/// header names, and the dispositions at `dispositions` (each proven under the last
/// checkpoint, with its receipt at that size). The report is written last.
fn bundle_of(
    log: &SampleLog,
    seq: u64,
    receipt_size: u64,
    sizes: &[u64],
    dispositions: &[u64],
) -> Bundle {
    let last = sizes.last().copied().unwrap_or_default();
    let consistency = std::iter::once(receipt_size)
        .chain(sizes.iter().copied())
        .zip(sizes.iter().copied())
        .map(|(old, new)| {
            ConsistencyProof {
                old,
                new,
                path: merkle::consistency_proof(&log.tree, old, new).unwrap_or_default(),
            }
            .encode()
        })
        .collect();
    let agreement = log
        .headers
        .get(seq as usize)
        .and_then(|h| h.agreement)
        .map(|a| AgreementEvidence {
            package: log.sealed(a.seq as usize).to_vec(),
            proof: log.inclusion(a.seq, last).encode(),
        });
    Bundle {
        tenant: TENANT.into(),
        archive: ARCHIVE.into(),
        seq,
        package: Some(log.sealed(seq as usize).to_vec()),
        receipt: log.receipt(seq, receipt_size, &log.key),
        proof: log.inclusion(seq, last).encode(),
        checkpoints: sizes.iter().map(|&n| log.checkpoint(n, &log.key)).collect(),
        consistency,
        keys: bundle_keys(None),
        agreement,
        dispositions: dispositions
            .iter()
            .map(|&d| DispositionEvidence {
                package: log.sealed(d as usize).to_vec(),
                proof: log.inclusion(d, last).encode(),
                receipt: log.receipt(d, last, &log.key),
            })
            .collect(),
        report: String::new(),
    }
    .with_report()
}

/// Scenario, description, agreement document, expected outcome and failed check.
type AgreementCase<'a> = (&'a str, &'a str, &'a [u8], Outcome, Option<&'a str>);

/// The agreement version a document states (formats/bundle.md §3.5): the bundle of entry 3 of
/// a sample log whose agreement document is `doc`.
fn agreement_version_vectors(b: &mut Builder) {
    let deep = format!(
        r#"{{"version":2,"deep":{}{}}}"#,
        "[".repeat(127),
        "]".repeat(127)
    );
    let cases: [AgreementCase<'_>; 5] = [
        (
            "bundle-agreement-version-stated-ok",
            "The agreement document states \"version\": 1, the version the header names.",
            br#"{"version":1,"record_key":"invoice_id"}"#,
            Outcome::Ok,
            None,
        ),
        (
            "bundle-agreement-version-mismatch",
            "The agreement document states \"version\": 2 where the header names version 1.",
            br#"{"version":2,"record_key":"invoice_id"}"#,
            Outcome::BadBundle,
            Some("bundle.agreement"),
        ),
        (
            "bundle-agreement-version-float-ok",
            "The agreement document's version is written 2.0: not digits only, so no version is stated and the check rests on the seq (a parser that reads 2.0 as 2 would fail it).",
            br#"{"version":2.0}"#,
            Outcome::Ok,
            None,
        ),
        (
            "bundle-agreement-version-surrogate-ok",
            "The agreement document states \"version\": 2 but escapes a lone surrogate (\\ud800) elsewhere: no version is stated, and the check rests on the seq.",
            br#"{"version":2,"note":"\ud800"}"#,
            Outcome::Ok,
            None,
        ),
        (
            "bundle-agreement-version-deep-ok",
            "The agreement document states \"version\": 2 but nests arrays 128 deep (the object counting as 1): no version is stated, and the check rests on the seq.",
            deep.as_bytes(),
            Outcome::Ok,
            None,
        ),
    ];
    for (scenario, description, doc, expect, failed) in cases {
        let log = SampleLog::with_agreement(doc);
        let bundle = bundle_of(&log, 3, 4, &[5], &[]);
        b.add(
            scenario,
            description,
            "bundle",
            expect,
            failed,
            vec![("bundle", b64(&bundle.encode()))],
        );
    }
}

/// Proof bundles (formats/bundle.md §8): entry 3 of the sample log whole, redacted, and with
/// each kind of fault; and entry 2 disposed by a disposition at seq 5, with its package absent
/// or reduced to its header.
fn bundle_vectors(b: &mut Builder) {
    let log = SampleLog::build();
    // Entry 3: receipt at 4, checkpoint of 5, agreement at seq 0.
    let ok = bundle_of(&log, 3, 4, &[5], &[]);
    bundle_whole_vectors(b, &log, &ok);
    bundle_fault_vectors(b, &log, &ok);
    bundle_agreement_vectors(b, &log, &ok);
    bundle_report_key_vectors(b, &ok);
    // Entry 2 disposed of at the end of retention by a disposition at seq 5 naming 1 and 2.
    let base = SampleLog::build();
    let retention = retention_disposition(&base);
    let log = log_with_disposition(&retention);
    bundle_disposed_vectors(b, &log);
    bundle_disposition_fault_vectors(b, &base, &log, &retention);
}

/// A `bundle` vector of this bundle.
fn add_bundle(
    b: &mut Builder,
    scenario: &str,
    description: &str,
    expect: Outcome,
    failed: Option<&str>,
    bundle: &Bundle,
) {
    b.add(
        scenario,
        description,
        "bundle",
        expect,
        failed,
        vec![("bundle", b64(&bundle.encode()))],
    );
}

/// The bundle `ok` edited, with its report written again.
fn edit_bundle(ok: &Bundle, edit: &dyn Fn(&mut Bundle)) -> Bundle {
    let mut x = ok.clone();
    edit(&mut x);
    x.with_report()
}

/// The bundle of entry 2 of `log` disposed of by the disposition at seq 5: receipt at 3,
/// checkpoints of 5 and 6, with this package (and the agreement only with a package).
fn disposed_bundle(package: Option<Vec<u8>>, log: &SampleLog) -> Bundle {
    let mut x = bundle_of(log, 2, 3, &[5, 6], &[5]);
    if package.is_none() {
        x.agreement = None;
    }
    x.package = package;
    x.with_report()
}

/// Entry 3 whole and redacted, and its bundle file cut short.
fn bundle_whole_vectors(b: &mut Builder, log: &SampleLog, ok: &Bundle) {
    add_bundle(
        b,
        "bundle-ok",
        "The row at seq 3 whole: its package, the receipt signed when the log had 4 entries, the checkpoint of 5 with the consistency proof from 4 to 5 and the inclusion proof under it, the agreement at seq 0 proven under the same checkpoint, the archive's two keys (the test key valid since 30 days before the log began, another key retired before), and the report.",
        Outcome::Ok,
        None,
        ok,
    );
    let redacted = Bundle {
        package: Some(bundle::redact(log.sealed(3), |_, _| false).unwrap_or_default()),
        ..ok.clone()
    }
    .with_report();
    add_bundle(
        b,
        "bundle-redacted-ok",
        "The bundle of bundle-ok with the row object withheld (null): the header and so the leaf hash, the proofs and the object's digest stand; bundle.redacted.0 is skipped, not failed.",
        Outcome::Ok,
        None,
        &redacted,
    );
    let whole = ok.encode();
    let truncated = whole
        .get(..whole.len().saturating_sub(100))
        .unwrap_or_default();
    b.add(
        "bundle-truncated",
        "The file of bundle-ok lost its last 100 bytes (inside the report).",
        "bundle",
        Outcome::DecodeError,
        Some("bundle.decode"),
        vec![("bundle", b64(truncated))],
    );
}

/// Entry 3 with a fault in its object, header, inclusion proof, checkpoint or consistency
/// proof.
fn bundle_fault_vectors(b: &mut Builder, log: &SampleLog, ok: &Bundle) {
    add_bundle(
        b,
        "bundle-object-flipped-byte",
        "The bundle of bundle-ok with the last byte of the row object flipped: its SHA-256 no longer matches the header.",
        Outcome::BadDigest,
        Some("object.0"),
        &edit_bundle(ok, &|x| {
            x.package = Some(seal(log.header(3), &[Some(&flip_last(log.object(3)))]))
        }),
    );
    let altered_header = replace(log.header(3), b"2025-03-15", b"2025-03-16");
    add_bundle(
        b,
        "bundle-header-flipped-byte",
        "The bundle of bundle-ok with one byte of a metadata value in the header changed (2025-03-15 -> 2025-03-16) and the package resealed: its leaf hash is no longer the one the receipt signed.",
        Outcome::BadReceipt,
        Some("receipt.package"),
        &edit_bundle(ok, &|x| {
            x.package = Some(seal(&altered_header, &[Some(log.object(3))]))
        }),
    );
    let mut wrong_sibling = log.inclusion(3, 5);
    if let Some(h) = wrong_sibling.path.get_mut(1) {
        h.0[0] ^= 0x80;
    }
    add_bundle(
        b,
        "bundle-proof-wrong-hash",
        "The bundle of bundle-ok with one bit flipped in the second hash of the entry's inclusion proof.",
        Outcome::BadProof,
        Some("proof.inclusion"),
        &edit_bundle(ok, &|x| x.proof = wrong_sibling.encode()),
    );
    add_bundle(
        b,
        "bundle-checkpoint-other-key",
        "The bundle of bundle-ok with its checkpoint signed by the retired key of the bundle's key list (same name, another key id) instead of the trusted key.",
        Outcome::BadSignature,
        Some("checkpoint.0.signature"),
        &edit_bundle(ok, &|x| {
            x.checkpoints = vec![log.checkpoint(5, &other_key())]
        }),
    );
    let mut broken = ConsistencyProof {
        old: 4,
        new: 5,
        path: merkle::consistency_proof(&log.tree, 4, 5).unwrap_or_default(),
    };
    if let Some(h) = broken.path.first_mut() {
        h.0[31] ^= 0x01;
    }
    add_bundle(
        b,
        "bundle-consistency-broken",
        "The bundle of bundle-ok with one bit flipped in the consistency proof from the receipt's tree of 4 to the checkpoint of 5.",
        Outcome::BadProof,
        Some("bundle.consistency.0"),
        &edit_bundle(ok, &|x| x.consistency = vec![broken.encode()]),
    );
}

/// Entry 3 with an agreement that is not the one its header names.
fn bundle_agreement_vectors(b: &mut Builder, log: &SampleLog, ok: &Bundle) {
    add_bundle(
        b,
        "bundle-agreement-swapped",
        "The bundle of bundle-ok with the row at seq 1 and its valid inclusion proof in place of the agreement at seq 0 that the header names.",
        Outcome::BadBundle,
        Some("bundle.agreement"),
        &edit_bundle(ok, &|x| {
            x.agreement = Some(AgreementEvidence {
                package: log.sealed(1).to_vec(),
                proof: log.inclusion(1, 5).encode(),
            });
        }),
    );
    // The agreement of another archive of the tenant, sealed at the same seq with the same
    // document: its proof under the bundle's checkpoint names another log.
    let foreign_agreement = {
        let mut h = log
            .headers
            .first()
            .cloned()
            .unwrap_or_else(|| std::process::abort());
        h.archive = "payroll".into();
        seal(&h.encode(), &[Some(log.object(0))])
    };
    add_bundle(
        b,
        "bundle-agreement-other-archive",
        "The bundle of bundle-ok whose agreement is sealed for the archive payroll of the same tenant (same seq, same document), with the agreement's inclusion proof: the bundle checkpoint's origin names acme/invoices, not the agreement's log.",
        Outcome::BadOrigin,
        Some("bundle.agreement"),
        &edit_bundle(ok, &|x| {
            x.agreement = Some(AgreementEvidence {
                package: foreign_agreement.clone(),
                proof: log.inclusion(0, 5).encode(),
            });
        }),
    );
}

/// Entry 3 with an altered report, a key list that does not cover the receipt, or its package
/// absent without a disposition.
fn bundle_report_key_vectors(b: &mut Builder, ok: &Bundle) {
    let receipt_time = format!(
        "Signed at (UTC)</th><td>{}",
        bundle::format_utc(T0_MS + 4000)
    );
    let earlier = format!(
        "Signed at (UTC)</th><td>{}",
        bundle::format_utc(T0_MS + 4000 - DAY_MS)
    );
    let mut lying = ok.clone();
    lying.report = lying.report.replacen(&receipt_time, &earlier, 1);
    add_bundle(
        b,
        "bundle-report-altered",
        "The bundle of bundle-ok whose report gives the receipt's signing time one day earlier than the receipt says.",
        Outcome::BadReport,
        Some("bundle.report"),
        &lying,
    );
    let mut reworded = ok.clone();
    reworded.report =
        reworded
            .report
            .replacen("proves nothing by itself", "proves everything by itself", 1);
    add_bundle(
        b,
        "bundle-report-sentence-altered",
        "The bundle of bundle-ok whose report says it \"proves everything by itself\" where the template says \"proves nothing by itself\": a changed word, no time or hash (formats/bundle-report.md).",
        Outcome::BadReport,
        Some("bundle.report"),
        &reworded,
    );
    add_bundle(
        b,
        "bundle-key-not-listed",
        "The bundle of bundle-ok whose key list holds only the retired key: the trusted key is not one of the archive's keys.",
        Outcome::BadKey,
        Some("bundle.key"),
        &edit_bundle(ok, &|x| x.keys.truncate(1)),
    );
    add_bundle(
        b,
        "bundle-key-expired",
        "The bundle of bundle-ok whose key list ends the trusted key's validity at the very millisecond the receipt was signed (validity is half-open).",
        Outcome::BadKey,
        Some("bundle.key"),
        &edit_bundle(ok, &|x| x.keys = bundle_keys(Some(T0_MS + 4000))),
    );
    add_bundle(
        b,
        "bundle-absent-without-disposition",
        "The bundle of bundle-ok without its package, its agreement and any disposition: nothing explains why the package is absent.",
        Outcome::BadBundle,
        Some("bundle.package"),
        &edit_bundle(ok, &|x| {
            x.package = None;
            x.agreement = None;
        }),
    );
}

/// Entry 2 disposed of: its package absent, reduced to its header, or still whole.
fn bundle_disposed_vectors(b: &mut Builder, log: &SampleLog) {
    add_bundle(
        b,
        "bundle-disposed-ok",
        "The row at seq 2, disposed of: the package is absent; the receipt signed when the log had 3 entries names its leaf; the checkpoints of 5 and 6 with the consistency proofs from 3 to 5 and 5 to 6; the inclusion proof of the leaf under 6; and the disposition package at seq 5 (retention, naming seq 1 and 2) with its proof and receipt under the checkpoint of 6.",
        Outcome::Ok,
        None,
        &disposed_bundle(None, log),
    );
    let header_only = bundle::redact(log.sealed(2), |_, _| false).unwrap_or_default();
    add_bundle(
        b,
        "bundle-disposed-header-ok",
        "The bundle of bundle-disposed-ok with the package reduced to its header (object null), as the hot store keeps it after a disposal, and so with the agreement it names.",
        Outcome::Ok,
        None,
        &disposed_bundle(Some(header_only), log),
    );
    add_bundle(
        b,
        "bundle-disposed-content-present",
        "The bundle of bundle-disposed-header-ok with the row object present: the bundle carries content its own disposition record says was disposed of.",
        Outcome::BadDisposition,
        Some("bundle.disposition.5"),
        &disposed_bundle(Some(log.sealed(2).to_vec()), log),
    );
}

/// Entry 2 absent with a disposition that does not explain it: one that names another entry,
/// and one sealed for another archive.
fn bundle_disposition_fault_vectors(
    b: &mut Builder,
    base: &SampleLog,
    log: &SampleLog,
    retention: &Disposition,
) {
    let other = log_with_disposition(&Disposition {
        packages: disposed(base, &[1]),
        ..retention.clone()
    });
    add_bundle(
        b,
        "bundle-disposition-other-entry",
        "The bundle of bundle-disposed-ok, but the disposition at seq 5 (validly sealed, proven and signed) disposed of seq 1 only: it does not explain why entry 2 is absent.",
        Outcome::BadDisposition,
        Some("bundle.disposition.5"),
        &disposed_bundle(None, &other),
    );
    // The disposition package resealed for the archive payroll of the same tenant: its proof
    // under the bundle checkpoint names another log.
    let foreign = {
        let mut x = disposed_bundle(None, log);
        if let (Some(d), Some(h)) = (x.dispositions.first_mut(), log.headers.get(5)) {
            let mut h = h.clone();
            h.archive = "payroll".into();
            let record = sealed::open(&d.package)
                .ok()
                .and_then(|p| p.objects.into_iter().next().flatten())
                .unwrap_or_default();
            d.package = seal(&h.encode(), &[Some(&record)]);
        }
        x.with_report()
    };
    add_bundle(
        b,
        "bundle-disposition-other-archive",
        "The bundle of bundle-disposed-ok whose disposition package is sealed for the archive payroll of the same tenant (same seq and record), with the disposition's proof and receipt: the bundle checkpoint's origin names acme/invoices, not the disposition's log.",
        Outcome::BadOrigin,
        Some("bundle.disposition.5"),
        &foreign,
    );
}
