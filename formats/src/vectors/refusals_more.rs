//! Negative vectors for the MUST-refuse rules that the vectors of `generate.rs` leave without
//! one (formats/vectors/README.md §7): the structure limits of formats/cbor.md §3, unknown
//! versions of a certificate and a disposition record, and segment blocks that are not back to
//! back. Each changes one thing of a positive vector of the sample log; they are appended after
//! every other vector, so the others keep their order and bytes.

use std::collections::BTreeMap;

use crate::bundle::{ArchiveKey, Bundle};
use crate::disposition::{DISPOSITION_MEDIA_TYPE, DISPOSITION_OBJECT_NAME, DisposedPackage};
use crate::hash::Hash;
use crate::header::{Kind, MetaValue, ObjectRef, PackageHeader};
use crate::layout::{self, RetentionMonth};
use crate::limits;
use crate::merkle;
use crate::note::{SigningKey, sign_note};
use crate::proof::ConsistencyProof;
use crate::sealed::SEAL_ZSTD_LEVEL;
use crate::segment::{self, SegmentPackage};
use crate::verify::Outcome;

use super::{
    ARCHIVE, Builder, DAY_MS, SampleLog, T0_MS, TENANT, b64, bundle_of, certificate_of, disposed,
    log_with_disposition, replace, retention_disposition, seal, text,
};

/// Every vector of this module, in a stable order.
pub(super) fn more_refusal_vectors(b: &mut Builder, log: &SampleLog) {
    limit_vectors(b, log);
    bundle_limit_vectors(b);
    version_vectors(b);
    segment_open_vectors(b, log);
}

/// One vector per structure limit of formats/cbor.md §3 that a `package` or `consistency`
/// check reaches (formats/package-header.md §3, formats/proofs.md, formats/signed-note.md) and
/// per limit of a disposition record (formats/disposition.md §2): package-ok, consistency-ok or
/// the record of certificate-ok with one value one past its limit.
fn limit_vectors(b: &mut Builder, log: &SampleLog) {
    let fx = LimitFixture::new(log);
    header_limit_vectors(b, &fx);
    object_limit_vectors(b, &fx);
    proof_limit_vectors(b, &fx);
    note_limit_vectors(b, &fx);
    disposition_limit_vectors(b);
}

/// What the limit vectors of package-ok share: the sample log, its checkpoint of 5 and the
/// inclusion proof of seq 3 under it.
struct LimitFixture<'a> {
    log: &'a SampleLog,
    cp5: String,
    proof3: Vec<u8>,
}

impl<'a> LimitFixture<'a> {
    fn new(log: &'a SampleLog) -> LimitFixture<'a> {
        LimitFixture {
            cp5: log.checkpoint(5, &log.key),
            proof3: log.inclusion(3, 5).encode(),
            log,
        }
    }

    /// The inputs of a package check.
    fn with(
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

    /// Seq 3 with its header edited and resealed, with its proof under the checkpoint of 5.
    fn resealed(
        &self,
        edit: &dyn Fn(&mut PackageHeader),
    ) -> Vec<(&'static str, serde_json::Value)> {
        let mut h = self
            .log
            .headers
            .get(3)
            .cloned()
            .unwrap_or_else(|| std::process::abort());
        edit(&mut h);
        Self::with(
            seal(&h.encode(), &[Some(self.log.object(3))]),
            self.proof3.clone(),
            self.cp5.clone(),
        )
    }

    /// Seq 3 with its first object reference edited and resealed.
    fn object(&self, edit: &dyn Fn(&mut ObjectRef)) -> Vec<(&'static str, serde_json::Value)> {
        self.resealed(&|h| {
            if let Some(o) = h.objects.first_mut() {
                edit(o);
            }
        })
    }
}

/// A package vector refused at `failed` as a decode error.
fn refused(
    b: &mut Builder,
    scenario: &str,
    description: &str,
    failed: &str,
    inputs: Vec<(&'static str, serde_json::Value)>,
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

/// The limits of a package header (formats/package-header.md §3).
fn header_limit_vectors(b: &mut Builder, fx: &LimitFixture<'_>) {
    let resealed = |edit: &dyn Fn(&mut PackageHeader)| fx.resealed(edit);
    refused(
        b,
        "limit-header-bytes",
        "Seq 3 resealed with 17 more metadata fields (x00 to x16) of 4000 bytes of 'a' each, every one within its own limits: the header is larger than HEADER_BYTES_MAX (65536 bytes).",
        "package.decode",
        resealed(&|h| {
            for i in 0..17 {
                h.metadata
                    .insert(format!("x{i:02}"), MetaValue::Text("a".repeat(4000)));
            }
        }),
    );
    refused(
        b,
        "limit-metadata-fields",
        "Seq 3 resealed with 61 more metadata fields (f00 to f60, integers): 65 fields, one more than METADATA_FIELDS_MAX (64).",
        "package.decode",
        resealed(&|h| {
            for i in 0..61i64 {
                h.metadata.insert(format!("f{i:02}"), MetaValue::Int(i));
            }
        }),
    );
    refused(
        b,
        "limit-metadata-name",
        "Seq 3 resealed with its metadata field \"paid\" renamed to 65 bytes of 'p': one more than METADATA_NAME_BYTES_MAX (64).",
        "package.decode",
        resealed(&|h| {
            if let Some(v) = h.metadata.remove("paid") {
                h.metadata.insert("p".repeat(65), v);
            }
        }),
    );
    refused(
        b,
        "limit-metadata-value",
        "Seq 3 resealed with its metadata value \"customer\" padded with '0' to 4097 bytes: one more than METADATA_VALUE_BYTES_MAX (4096).",
        "package.decode",
        resealed(&|h| {
            if let Some(MetaValue::Text(v)) = h.metadata.get_mut("customer") {
                while v.len() < limits::METADATA_VALUE_BYTES_MAX + 1 {
                    v.push('0');
                }
            }
        }),
    );
}

/// The limits of a package header's objects (formats/package-header.md §3).
fn object_limit_vectors(b: &mut Builder, fx: &LimitFixture<'_>) {
    let resealed = |edit: &dyn Fn(&mut PackageHeader)| fx.resealed(edit);
    let object = |edit: &dyn Fn(&mut ObjectRef)| fx.object(edit);
    refused(
        b,
        "limit-objects",
        "Seq 3 resealed with a header that lists 64 more objects (empty, named o00.json to o63.json) after its own, still sealed with its one object: 65 objects, one more than OBJECTS_MAX (64).",
        "package.decode",
        resealed(&|h| {
            for i in 0..limits::OBJECTS_MAX {
                h.objects.push(ObjectRef {
                    name: format!("o{i:02}.json"),
                    media_type: "application/json".into(),
                    size: 0,
                    digest: crate::hash::sha256(b""),
                });
            }
        }),
    );
    refused(
        b,
        "limit-object-name",
        "Seq 3 resealed with its object named 251 bytes of 'r' then \".json\" (256 bytes): one more than OBJECT_NAME_BYTES_MAX (255).",
        "package.decode",
        object(&|o| o.name = format!("{}.json", "r".repeat(251))),
    );
    refused(
        b,
        "limit-media-type",
        "Seq 3 resealed with its object's media type \"application/\" followed by 116 bytes of 'j' (128 bytes): one more than MEDIA_TYPE_BYTES_MAX (127).",
        "package.decode",
        object(&|o| o.media_type = format!("application/{}", "j".repeat(116))),
    );
    refused(
        b,
        "limit-object-bytes",
        "Seq 3 resealed with its object's size in the header declared as 67108865 bytes: one more than OBJECT_BYTES_MAX (64 MiB), refused before any object is read.",
        "package.decode",
        object(&|o| o.size = limits::OBJECT_BYTES_MAX + 1),
    );
    refused(
        b,
        "limit-objects-total",
        "Seq 3 resealed with a header that lists a second object (\"more.json\") and declares both objects 41943040 bytes (40 MiB, each within OBJECT_BYTES_MAX): together they exceed PACKAGE_RAW_BYTES_MAX - HEADER_BYTES_MAX - PACKAGE_ENVELOPE_SLACK_BYTES.",
        "package.decode",
        resealed(&|h| {
            let mut second = h.objects.first().cloned();
            if let Some(o) = second.as_mut() {
                o.name = "more.json".into();
            }
            h.objects.extend(second);
            for o in &mut h.objects {
                o.size = 40 * 1024 * 1024;
            }
        }),
    );
    refused(
        b,
        "limit-record-key",
        "Seq 3 resealed with its record key padded with '0' to 513 bytes: one more than RECORD_KEY_BYTES_MAX (512).",
        "package.decode",
        resealed(&|h| {
            if let Some(k) = h.record_key.as_mut() {
                while k.len() < limits::RECORD_KEY_BYTES_MAX + 1 {
                    k.push('0');
                }
            }
        }),
    );
    refused(
        b,
        "limit-identifier",
        "Seq 3 resealed with its archive identifier \"invoices\" padded with 's' to 65 bytes: one more than IDENTIFIER_BYTES_MAX (64).",
        "package.decode",
        resealed(&|h| {
            while h.archive.len() < limits::IDENTIFIER_BYTES_MAX + 1 {
                h.archive.push('s');
            }
        }),
    );
}

/// The limits of inclusion and consistency proofs (formats/proofs.md).
fn proof_limit_vectors(b: &mut Builder, fx: &LimitFixture<'_>) {
    let (log, key, cp5) = (fx.log, &fx.log.key, &fx.cp5);
    let with = LimitFixture::with;
    // The inclusion proof of package-ok with 65 hashes: its 3 real ones, then 62 copies of
    // the last.
    let mut long = log.inclusion(3, 5);
    let last = long.path.last().copied().unwrap_or(Hash([0; 32]));
    while long.path.len() < limits::INCLUSION_HASHES_MAX + 1 {
        long.path.push(last);
    }
    b.add(
        "limit-inclusion-hashes",
        "The inclusion proof of package-ok with its last hash repeated until it holds 65: one more than INCLUSION_HASHES_MAX (64).",
        "package",
        Outcome::DecodeError,
        Some("proof.decode"),
        with(log.sealed(3).to_vec(), long.encode(), cp5.clone()),
    );

    // The consistency proof of consistency-ok (3 to 5) with 129 hashes.
    let mut cons = ConsistencyProof {
        old: 3,
        new: 5,
        path: merkle::consistency_proof(&log.tree, 3, 5).unwrap_or_default(),
    };
    let last = cons.path.last().copied().unwrap_or(Hash([0; 32]));
    while cons.path.len() < limits::CONSISTENCY_HASHES_MAX + 1 {
        cons.path.push(last);
    }
    b.add(
        "limit-consistency-hashes",
        "The consistency proof of consistency-ok (3 to 5) with its last hash repeated until it holds 129: one more than CONSISTENCY_HASHES_MAX (128).",
        "consistency",
        Outcome::DecodeError,
        Some("proof.decode"),
        vec![
            ("old_checkpoint", text(log.checkpoint(3, key))),
            ("new_checkpoint", text(cp5.clone())),
            ("proof", b64(&cons.encode())),
        ],
    );
}

/// The limits of a checkpoint note (formats/signed-note.md).
fn note_limit_vectors(b: &mut Builder, fx: &LimitFixture<'_>) {
    let (log, cp5, proof3) = (fx.log, &fx.cp5, &fx.proof3);
    let with = LimitFixture::with;
    // The checkpoint of 5 signed by the trusted key and by 16 witnesses: 17 signature lines.
    let text_end = cp5.find("\n\n").map_or(cp5.len(), |i| i + 1);
    let note_text = cp5.get(..text_end).unwrap_or_default();
    let mut many = cp5.clone();
    for n in 0..limits::NOTE_SIGNATURES_MAX as u8 {
        let witness = SigningKey::from_seed(&format!("witness-{n:02}"), [0x40 + n; 32])
            .unwrap_or_else(|_| std::process::abort());
        let signed = sign_note(note_text, &witness);
        many.push_str(signed.get(text_end + 1..).unwrap_or_default());
    }
    refused(
        b,
        "limit-note-signatures",
        "The checkpoint of package-ok with 16 more signature lines, by keys witness-00 to witness-15 (seeds 32 bytes of 40 to 4f): 17 lines, one more than NOTE_SIGNATURES_MAX (16).",
        "checkpoint.decode",
        with(log.sealed(3).to_vec(), proof3.clone(), many),
    );

    // The checkpoint of 5 with one more signature line whose key name is 257 bytes.
    let mut long_name = cp5.clone();
    long_name.push_str(&format!(
        "\u{2014} {} {}\n",
        "w".repeat(limits::NOTE_NAME_BYTES_MAX + 1),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0x5a; 68])
    ));
    refused(
        b,
        "limit-note-key-name",
        "The checkpoint of package-ok with a second signature line whose key name is 257 bytes of 'w' (signature 68 bytes of 5a): one more than NOTE_NAME_BYTES_MAX (256).",
        "checkpoint.decode",
        with(log.sealed(3).to_vec(), proof3.clone(), long_name),
    );

    // The checkpoint of 5 with one more signature line, of an unknown key "w" whose signature
    // (any length is allowed for a key the verifier does not know) makes the note too large.
    let mut large = cp5.clone();
    let sig_len = limits::NOTE_BYTES_MAX / 4 * 3;
    large.push_str(&format!(
        "\u{2014} w {}\n",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            vec![0x5a; sig_len]
        )
    ));
    refused(
        b,
        "limit-note-bytes",
        "The checkpoint of package-ok with a second signature line by a key named w whose signature is 12288 bytes of 5a (16384 base64 characters): the note is larger than NOTE_BYTES_MAX (16384 bytes).",
        "checkpoint.decode",
        with(log.sealed(3).to_vec(), proof3.clone(), large),
    );
}

/// The limits of a disposition record (formats/disposition.md §2), in the record of
/// certificate-ok, sealed at seq 5 and validly proven.
fn disposition_limit_vectors(b: &mut Builder) {
    // The record of certificate-ok with one field past its limit, sealed at seq 5 and validly
    // proven.
    let base = SampleLog::build();
    let retention = retention_disposition(&base);
    let certificate = |record: Vec<u8>| {
        let log = log_with_record(record);
        vec![(
            "certificate",
            b64(&certificate_of(&log, 5, &[1, 2]).encode()),
        )]
    };
    let mut basis = retention.clone();
    while basis.basis.len() < limits::DISPOSITION_BASIS_BYTES_MAX + 1 {
        basis.basis.push('.');
    }
    let mut authorizer = retention.clone();
    if let Some(a) = authorizer.authorized_by.first_mut() {
        while a.len() < limits::AUTHORIZER_BYTES_MAX + 1 {
            a.push('x');
        }
    }
    let mut authorizers = retention.clone();
    for n in 1..=limits::AUTHORIZERS_MAX {
        authorizers.authorized_by.push(format!("key-ops-{n:02}"));
    }
    let mut packages = retention.clone();
    let beyond = (1..=limits::DISPOSITION_PACKAGES_MAX as u64 + 1).map(|seq| DisposedPackage {
        seq,
        leaf: Hash([0; 32]),
    });
    packages.packages = disposed(&base, &[1, 2, 3, 4])
        .into_iter()
        .chain(beyond.skip(4))
        .collect();
    for (scenario, description, record) in [
        (
            "limit-disposition-basis",
            "The retention disposition of certificate-ok with its basis padded with '.' to 1001 bytes, sealed and validly proven: one more than DISPOSITION_BASIS_BYTES_MAX (1000).",
            basis,
        ),
        (
            "limit-disposition-authorizer",
            "The retention disposition of certificate-ok with its authorizer padded with 'x' to 65 bytes, sealed and validly proven: one more than AUTHORIZER_BYTES_MAX (64).",
            authorizer,
        ),
        (
            "limit-disposition-authorizers",
            "The retention disposition of certificate-ok authorized by 16 more keys (key-ops-01 to key-ops-16), sealed and validly proven: 17 authorizers, one more than AUTHORIZERS_MAX (16).",
            authorizers,
        ),
        (
            "limit-disposition-packages",
            "The retention disposition of certificate-ok naming seqs 1 to 10001 (seqs 1 to 4 with their leaves, the others, beyond the log, with a zero leaf), sealed and validly proven: one more than DISPOSITION_PACKAGES_MAX (10000).",
            packages,
        ),
    ] {
        b.add(
            scenario,
            description,
            "certificate",
            Outcome::DecodeError,
            Some("disposition.decode"),
            certificate(record.encode()),
        );
    }
}

/// The count limits of a bundle (formats/bundle.md §3.1; check `bundle.decode`): the bundle
/// of bundle-ok, or of bundle-disposed-ok, with one item more than its limit, report rewritten.
fn bundle_limit_vectors(b: &mut Builder) {
    let refused = |b: &mut Builder, scenario: &str, description: &str, bundle: Bundle| {
        b.add(
            scenario,
            description,
            "bundle",
            Outcome::DecodeError,
            Some("bundle.decode"),
            vec![("bundle", b64(&bundle.with_report().encode()))],
        );
    };
    let log = SampleLog::build();
    let ok = bundle_of(&log, 3, 4, &[5], &[]);
    let mut keys = ok.clone();
    for n in 0..(limits::BUNDLE_KEYS_MAX + 1 - ok.keys.len()) as u8 {
        let witness = SigningKey::from_seed(&format!("witness-{n:02}"), [0x40 + n; 32])
            .unwrap_or_else(|_| std::process::abort());
        keys.keys.push(ArchiveKey {
            key: witness.verifier(),
            valid_from_ms: Some(T0_MS - 400 * DAY_MS),
            valid_until_ms: Some(T0_MS - 30 * DAY_MS),
        });
    }
    refused(
        b,
        "limit-bundle-keys",
        "The bundle of bundle-ok whose key list also holds 15 keys witness-00 to witness-14 (seeds 32 bytes of 40 to 4e, retired before the log began): 17 keys, one more than BUNDLE_KEYS_MAX (16).",
        keys,
    );
    let mut checkpoints = ok.clone();
    let (cp, cons) = (
        ok.checkpoints.first().cloned().unwrap_or_default(),
        ok.consistency.first().cloned().unwrap_or_default(),
    );
    checkpoints.checkpoints = vec![cp; limits::BUNDLE_CHECKPOINTS_MAX + 1];
    checkpoints.consistency = vec![cons; limits::BUNDLE_CHECKPOINTS_MAX + 1];
    refused(
        b,
        "limit-bundle-checkpoints",
        "The bundle of bundle-ok with its checkpoint of 5 and its consistency proof each listed 17 times: one more than BUNDLE_CHECKPOINTS_MAX (16).",
        checkpoints,
    );
    let base = SampleLog::build();
    let retention = retention_disposition(&base);
    let log = log_with_disposition(&retention);
    let mut dispositions = bundle_of(&log, 2, 3, &[5, 6], &[5]);
    dispositions.agreement = None;
    dispositions.package = None;
    let first = dispositions.dispositions.first().cloned();
    dispositions.dispositions = first
        .map(|d| vec![d; limits::BUNDLE_DISPOSITIONS_MAX + 1])
        .unwrap_or_default();
    refused(
        b,
        "limit-bundle-dispositions",
        "The bundle of bundle-disposed-ok with its disposition (package, proof and receipt) listed 17 times: one more than BUNDLE_DISPOSITIONS_MAX (16).",
        dispositions,
    );
}

/// The sample log with a disposition package at seq 5 whose object is these record bytes.
fn log_with_record(record: Vec<u8>) -> SampleLog {
    let mut log = SampleLog::build();
    log.append(
        Kind::Disposition,
        None,
        BTreeMap::new(),
        (DISPOSITION_OBJECT_NAME, DISPOSITION_MEDIA_TYPE, record),
    );
    log
}

/// Unknown versions of a certificate of destruction and of a disposition record
/// (formats/cbor.md §4, formats/algorithms.md §4): both are maps of 6 whose key 0 is 1
/// (`a6 00 01`).
fn version_vectors(b: &mut Builder) {
    let base = SampleLog::build();
    let retention = retention_disposition(&base);
    let record = retention.encode();
    let ok = certificate_of(&log_with_record(record.clone()), 5, &[1, 2]).encode();
    b.add(
        "certificate-version-2",
        "The certificate of certificate-ok with version 2 (map key 0): an unknown version.",
        "certificate",
        Outcome::DecodeError,
        Some("certificate.decode"),
        vec![(
            "certificate",
            b64(&replace(&ok, &[0xa6, 0x00, 0x01], &[0xa6, 0x00, 0x02])),
        )],
    );
    let record2 = replace(&record, &[0xa6, 0x00, 0x01], &[0xa6, 0x00, 0x02]);
    b.add(
        "disposition-version-2",
        "The retention disposition of certificate-ok with version 2 (map key 0), sealed at seq 5 and validly proven: an unknown version, so the record does not decode.",
        "certificate",
        Outcome::DecodeError,
        Some("disposition.decode"),
        vec![(
            "certificate",
            b64(&certificate_of(&log_with_record(record2), 5, &[1, 2]).encode()),
        )],
    );
}

/// The key of segment-ok's segment, and its index with each block as a fresh zstd frame and
/// its raw length (`None` if segment-ok does not open, which its own vector would show).
#[allow(clippy::type_complexity)] // one caller; the pair is what `build` places
fn segment_ok_parts(
    log: &SampleLog,
) -> (String, Option<(segment::SegmentIndex, Vec<(Vec<u8>, u64)>)>) {
    let (first, end) = (0u64, 4u64);
    let seqs = [1usize, 2, 3];
    let month = RetentionMonth::of(log.headers.get(1).and_then(|h| h.retain_until_ms));
    let key = layout::segment_key(TENANT, ARCHIVE, month, first, end);
    let packages: Vec<SegmentPackage<'_>> = seqs
        .iter()
        .map(|&seq| SegmentPackage {
            header_bytes: log.header(seq),
            objects: vec![log.object(seq)],
        })
        .collect();
    let good =
        segment::encode_segment(TENANT, ARCHIVE, &packages, SEAL_ZSTD_LEVEL).unwrap_or_default();
    let parts = segment::open_segment(&good).ok().map(|index| {
        let frames: Vec<(Vec<u8>, u64)> = (0..index.blocks.len())
            .map(|n| {
                let raw = segment::read_block(&good, &index, n).unwrap_or_default();
                let frame = zstd::bulk::compress(&raw, SEAL_ZSTD_LEVEL).unwrap_or_default();
                (frame, raw.len() as u64)
            })
            .collect();
        (index, frames)
    });
    (key, parts)
}

/// Faults of the segment of segment-ok that only the opening of a segment finds
/// (formats/cold-segment.md §3, §4; check `segment.decode`): blocks not back to back from
/// byte 8, and the segment limits a segment can reach at a small size. Each segment is rebuilt
/// from the blocks of segment-ok with its index and trailer consistent.
fn segment_open_vectors(b: &mut Builder, log: &SampleLog) {
    let (key, parts) = segment_ok_parts(log);
    let end = 4u64;
    let seqs = [1usize, 2, 3];
    // `gap` zero bytes after the magic; `edit` changes the index once its blocks are placed;
    // `index_frame` compresses the index CBOR.
    let build = |gap: usize,
                 edit: &dyn Fn(&mut segment::SegmentIndex),
                 index_frame: &dyn Fn(&[u8]) -> Vec<u8>| {
        let Some((index, frames)) = parts.as_ref() else {
            return Vec::new();
        };
        let mut index = index.clone();
        let mut out = segment::SEGMENT_MAGIC.to_vec();
        out.resize(out.len() + gap, 0x00);
        for (block, (frame, raw_length)) in index.blocks.iter_mut().zip(frames) {
            block.offset = out.len() as u64;
            block.length = frame.len() as u64;
            block.raw_length = *raw_length;
            out.extend_from_slice(frame);
        }
        edit(&mut index);
        let index_frame = index_frame(&index.encode());
        out.extend_from_slice(&index_frame);
        let digest = crate::hash::sha256(&out);
        out.extend_from_slice(&(index_frame.len() as u64).to_be_bytes());
        out.extend_from_slice(&digest.0);
        out.extend_from_slice(&segment::SEGMENT_MAGIC);
        out
    };
    let compress = |cbor: &[u8]| zstd::bulk::compress(cbor, SEAL_ZSTD_LEVEL).unwrap_or_default();
    let leaves: Vec<serde_json::Value> = (0..end as usize)
        .map(|seq| b64(&crate::hash::leaf_hash(log.header(seq)).0))
        .collect();
    let headers: Vec<serde_json::Value> = seqs.iter().map(|&seq| b64(log.header(seq))).collect();
    let mut add = |scenario: &str, description: &str, segment: Vec<u8>| {
        b.add(
            scenario,
            description,
            "segment",
            Outcome::DecodeError,
            Some("segment.decode"),
            vec![
                ("segment_key", text(key.clone())),
                ("segment", b64(&segment)),
                ("leaves", leaves.clone().into()),
                ("headers", headers.clone().into()),
            ],
        );
    };
    add(
        "segment-block-gap",
        "The segment of segment-ok with one byte 00 between the magic and its first block, which starts at byte 9 (index and trailer consistent): blocks are back to back from byte 8.",
        build(1, &|_| {}, &compress),
    );
    add(
        "segment-block-overlap",
        "The segment of segment-ok whose index starts its first block one byte early, at byte 7 inside the magic, and makes it one byte longer so that it still ends where the index starts (trailer consistent): blocks are back to back from byte 8.",
        build(
            0,
            &|index| {
                if let Some(block) = index.blocks.first_mut() {
                    block.offset -= 1;
                    block.length += 1;
                }
            },
            &compress,
        ),
    );
    add(
        "limit-segment-block-raw-length",
        "The segment of segment-ok whose index declares its last block's raw length as 83886081 bytes and lengthens that block's last package to match (trailer consistent): one more than SEGMENT_BLOCK_RAW_BYTES_MAX (80 MiB).",
        build(0, &block_raw_length_past_max, &compress),
    );
    add(
        "limit-segment-packages",
        "The segment of segment-ok whose index names 10001 packages of one byte each (seqs 1 to 10001, record key null) in its blocks, the last block's raw length adjusted to tile (trailer consistent): one more than SEGMENT_PACKAGES_MAX (10000).",
        build(0, &packages_past_max, &compress),
    );
    add(
        "limit-cbor-items",
        "The segment of segment-ok whose index names 10000 blocks and 10000 packages, each within SEGMENT_PACKAGES_MAX: block 0 is the segment's one block holding one package (seq 1) of its whole raw length, blocks 1 to 9999 are empty frames (length 0, raw length 1) each holding one package of one byte (seqs 2 to 10000, record key null). The index CBOR holds 100006 data items: more than CBOR_ITEMS_MAX (100000).",
        build(0, &cbor_items_past_max, &compress),
    );
    add(
        "limit-segment-index-bytes",
        "The segment of segment-ok whose index frame inflates to its CBOR followed by zero bytes, 16777217 bytes in all (trailer consistent): one more than SEGMENT_INDEX_BYTES_MAX (16 MiB), refused while inflating.",
        build(0, &|_| {}, &|cbor: &[u8]| {
            let mut padded = cbor.to_vec();
            padded.resize(limits::SEGMENT_INDEX_BYTES_MAX + 1, 0x00);
            compress(&padded)
        }),
    );
}

/// The last block declares one byte more than `SEGMENT_BLOCK_RAW_BYTES_MAX`; its last package still tiles it.
fn block_raw_length_past_max(index: &mut segment::SegmentIndex) {
    let max = limits::SEGMENT_BLOCK_RAW_BYTES_MAX as u64 + 1;
    let n = index.blocks.len() as u64;
    if let Some(block) = index.blocks.last_mut() {
        block.raw_length = max;
    }
    if let Some(p) = index.packages.iter_mut().rev().find(|p| p.block + 1 == n) {
        p.length = max - p.offset;
    }
}

/// One-byte packages tile the blocks, one more than `SEGMENT_PACKAGES_MAX` of them.
fn packages_past_max(index: &mut segment::SegmentIndex) {
    let count = limits::SEGMENT_PACKAGES_MAX as u64 + 1;
    let n = index.blocks.len() as u64;
    let mut packages = Vec::new();
    let mut seq = 1;
    for (i, block) in index.blocks.iter_mut().enumerate() {
        let here = if i as u64 + 1 == n {
            count - (seq - 1)
        } else {
            block.raw_length
        };
        block.raw_length = here;
        for offset in 0..here {
            packages.push(segment::PackageRef {
                seq,
                block: i as u64,
                offset,
                length: 1,
                record_key: None,
            });
            seq += 1;
        }
    }
    index.packages = packages;
}

/// 10000 blocks and 10000 packages: an index of more than `CBOR_ITEMS_MAX` data items.
fn cbor_items_past_max(index: &mut segment::SegmentIndex) {
    let count = limits::SEGMENT_PACKAGES_MAX as u64;
    let (end, raw) = index
        .blocks
        .first()
        .map_or((0, 1), |b| (b.offset + b.length, b.raw_length));
    index.blocks.truncate(1);
    index.packages = vec![segment::PackageRef {
        seq: 1,
        block: 0,
        offset: 0,
        length: raw,
        record_key: None,
    }];
    for n in 1..count {
        index.blocks.push(segment::BlockRef {
            offset: end,
            length: 0,
            raw_length: 1,
        });
        index.packages.push(segment::PackageRef {
            seq: n + 1,
            block: n,
            offset: 0,
            length: 1,
            record_key: None,
        });
    }
}
